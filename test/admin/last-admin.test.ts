import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeStaff } from "../support/accounts";
import { appJson as sendJson } from "../support/admin";
import { lastAuditId } from "../support/audit";

// Its own file: D1 is per test file, so here the admins this test makes are the only ones.
describe("the last admin", { timeout: 30_000 }, () => {
  it("P16 the last admin cannot demote themselves (409 last_admin); with a second admin they can", async () => {
    const only = await makeStaff("admin");
    const { results } = await env.DB.prepare("SELECT id FROM user WHERE role = 'admin'").all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual([only.user.id]);
    const before = await lastAuditId();
    for (const role of ["support", "customer"]) {
      const res = await sendJson("PUT", `/api/admin/users/${only.user.id}/role`, { role }, { cookie: only.cookie });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe("last_admin");
    }
    expect((await env.DB.prepare("SELECT role FROM user WHERE id = ?").bind(only.user.id).first<{ role: string }>())!.role).toBe("admin");
    expect((await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?").bind(only.user.id).first<{ n: number }>())!.n).toBe(1);
    expect(await lastAuditId()).toBe(before);

    const second = await makeStaff("admin");
    const res = await sendJson("PUT", `/api/admin/users/${only.user.id}/role`, { role: "support" }, { cookie: only.cookie });
    expect(res.status).toBe(200);
    // Now `second` is the last admin: it cannot be demoted either (by itself, the only admin left).
    const last = await sendJson("PUT", `/api/admin/users/${second.user.id}/role`, { role: "customer" }, { cookie: second.cookie });
    expect(last.status).toBe(409);
  });
});
