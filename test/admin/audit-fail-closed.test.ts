import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { makeStaff, markEmailVerified, signUpAndSignIn } from "../support/accounts";
import { appJson as sendJson, appRequest as request } from "../support/admin";
import { makePendingOrder, orderRow, timelineKinds } from "../support/orders";
import { auditRows } from "../support/audit";

// Fail closed (issue 19): a role change or a refund never happens without its audit row. An operator with
// full D1 access makes D1 drop that row silently (RAISE(IGNORE)); the change must not happen.

const DROP_ROLE_CHANGES =
  "CREATE TRIGGER audit_events_drop_roles BEFORE INSERT ON audit_events WHEN NEW.action = 'user.role_changed' BEGIN SELECT RAISE(IGNORE); END";

async function roleOf(id: string): Promise<string | undefined> {
  return (await env.DB.prepare("SELECT role FROM user WHERE id = ?").bind(id).first<{ role: string }>())?.role;
}

describe("role changes and the audit log", { timeout: 30_000 }, () => {
  it("T10 fail closed: when D1 drops the audit row of a role change, the change is refused with 503 audit_unavailable and the role stays as it was", async () => {
    const admin = await makeStaff("admin");
    const target = await signUpAndSignIn();
    await markEmailVerified(target.user.id);
    const before = await auditRows();
    await env.DB.prepare(DROP_ROLE_CHANGES).run();
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    let res: Response;
    try {
      res = await sendJson("PUT", `/api/admin/users/${target.user.id}/role`, { role: "admin" }, { cookie: admin.cookie });
    } finally {
      errors.mockRestore();
    }
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("audit_unavailable");
    expect(await roleOf(target.user.id)).toBe("customer");
    expect((await auditRows()).filter((r) => r.action === "user.role_changed")).toEqual(before.filter((r) => r.action === "user.role_changed"));

    // With the trigger gone, the same request goes through and is on the record.
    await env.DB.prepare("DROP TRIGGER audit_events_drop_roles").run();
    const ok = await sendJson("PUT", `/api/admin/users/${target.user.id}/role`, { role: "support" }, { cookie: admin.cookie });
    expect(ok.status).toBe(200);
    expect(await roleOf(target.user.id)).toBe("support");
    const changes = (await auditRows()).filter((r) => r.action === "user.role_changed" && r.subject === target.user.id);
    expect(changes.map((r) => JSON.parse(r.detail).after)).toEqual([{ role: "support" }]);
  });

  it("T10 fail closed: when D1 drops the audit row of a refund request, the refund is refused with 503 audit_unavailable before the provider is called, and the order stays paid", async () => {
    const admin = await makeStaff("admin");
    const { order } = await makePendingOrder({ status: "paid", paymentIntentId: `pi_test_${crypto.randomUUID().replaceAll("-", "")}` });
    await env.DB.prepare(
      "CREATE TRIGGER audit_events_drop_refunds BEFORE INSERT ON audit_events WHEN NEW.action = 'order.refund_requested' BEGIN SELECT RAISE(IGNORE); END",
    ).run();
    const before = await auditRows();
    const outbound = vi.spyOn(globalThis, "fetch");
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    let res: Response;
    try {
      res = await request(`/api/admin/orders/${order.id}/refund`, { method: "POST", headers: { cookie: admin.cookie, origin: "http://localhost:8787" } });
    } finally {
      errors.mockRestore();
    }
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe("audit_unavailable");
    expect((await orderRow(order.id))!.status).toBe("paid");
    expect(await timelineKinds(order.id)).toEqual([]);
    // No money moved: the simulator (the provider in tests) was never asked, and no refund row exists.
    expect(outbound.mock.calls.filter(([input]) => String(input instanceof Request ? input.url : input).includes("refund"))).toEqual([]);
    expect((await auditRows()).filter((r) => r.subject === order.id)).toEqual(before.filter((r) => r.subject === order.id));
    outbound.mockRestore();

    await env.DB.prepare("DROP TRIGGER audit_events_drop_refunds").run();
    const ok = await request(`/api/admin/orders/${order.id}/refund`, { method: "POST", headers: { cookie: admin.cookie, origin: "http://localhost:8787" } });
    expect(ok.status).toBe(202);
    expect((await orderRow(order.id))!.status).toBe("refunded");
    expect((await auditRows()).filter((r) => r.subject === order.id).map((r) => r.action)).toContain("order.refund_requested");
  });
});
