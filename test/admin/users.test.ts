import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAs, makeStaff, markEmailVerified, signIn, signUpAndSignIn } from "../support/accounts";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";

async function freshAdmin(): Promise<{ headers: Record<string, string>; id: string }> {
  const who = await makeStaff("admin");
  return { headers: { cookie: who.cookie }, id: who.user.id };
}

async function roleOf(id: string): Promise<string | undefined> {
  return (await env.DB.prepare("SELECT role FROM user WHERE id = ?").bind(id).first<{ role: string }>())?.role;
}

async function sessionCount(id: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?").bind(id).first<{ n: number }>())!.n;
}

describe("staff API: users and roles", { timeout: 30_000 }, () => {
  it("an admin searches users by part of an email or name, or an id; no secret column is in the answer", async () => {
    const admin = await as("admin");
    const shopper = await signUpAndSignIn({ name: "Quentin Searchable" });
    const byEmail = (await (
      await request(`/api/admin/users?q=${encodeURIComponent(shopper.email.slice(0, 12).toUpperCase())}`, { headers: admin })
    ).json()) as { items: Record<string, unknown>[] };
    expect(byEmail.items.map((u) => u.id)).toContain(shopper.user.id);
    const byName = (await (await request("/api/admin/users?q=searchable", { headers: admin })).json()) as { items: Record<string, unknown>[] };
    expect(byName.items.map((u) => u.id)).toEqual([shopper.user.id]);
    const byId = (await (await request(`/api/admin/users?q=${shopper.user.id}`, { headers: admin })).json()) as { items: Record<string, unknown>[] };
    expect(byId.items).toHaveLength(1);
    expect(Object.keys(byId.items[0]!).sort()).toEqual(["banned", "createdAt", "email", "emailVerified", "id", "name", "role", "twoFactorEnabled"]);
    // LIKE wildcards are plain text here: "%" matches no one rather than everyone.
    const wildcard = (await (await request("/api/admin/users?q=%25", { headers: admin })).json()) as { items: unknown[] };
    expect(wildcard.items).toEqual([]);
  });

  it("a role change is audited with before/after, revokes the user's sessions, and applies at their next sign-in", async () => {
    const admin = await freshAdmin();
    const target = await signUpAndSignIn();
    await markEmailVerified(target.user.id); // staff roles go only to verified addresses (decision 012)
    const before = await lastAuditId();
    const res = await sendJson("PUT", `/api/admin/users/${target.user.id}/role`, { role: "support" }, admin.headers);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: { id: target.user.id, role: "support" }, changed: true, sessionsRevoked: 1 });
    expect(await roleOf(target.user.id)).toBe("support");
    expect(await sessionCount(target.user.id)).toBe(0);
    expect((await getAs(target.cookie, "/api/me")).status).toBe(401);
    const events = await auditRowsAfter(before);
    expect(events.map((e) => [e.action, e.actor, e.subject])).toEqual([["user.role_changed", admin.id, target.user.id]]);
    expect(JSON.parse(events[0]!.detail)).toMatchObject({ before: { role: "customer" }, after: { role: "support" } });

    const again = await signIn(target.email, target.password);
    expect(again.res.status).toBe(200);
    expect(await (await getAs(again.cookie, "/api/me")).json()).toMatchObject({ user: { role: "support" } });
    // Same role again: nothing to do, nothing revoked, nothing audited.
    const mark = await lastAuditId();
    const same = await sendJson("PUT", `/api/admin/users/${target.user.id}/role`, { role: "support" }, admin.headers);
    expect(await same.json()).toMatchObject({ changed: false, sessionsRevoked: 0 });
    expect(await sessionCount(target.user.id)).toBe(1);
    expect(await lastAuditId()).toBe(mark);
  });

  it("P16 mass assignment and bad roles in a role body are a 422 and change nothing", async () => {
    const admin = await freshAdmin();
    const target = await signUpAndSignIn();
    const other = await signUpAndSignIn();
    const before = await lastAuditId();
    for (const body of [
      { role: "superuser" },
      { role: "admin", id: other.user.id },
      { role: "support", banned: false },
      { role: "support", email: "x@example.com" },
      { roles: ["admin"] },
      {},
    ]) {
      const res = await sendJson("PUT", `/api/admin/users/${target.user.id}/role`, body, admin.headers);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    expect(await roleOf(target.user.id)).toBe("customer");
    expect(await roleOf(other.user.id)).toBe("customer");
    expect(await sessionCount(target.user.id)).toBe(1);
    expect(await lastAuditId()).toBe(before);
    expect((await sendJson("PUT", "/api/admin/users/usr_missing/role", { role: "support" }, admin.headers)).status).toBe(404);
  });

  it("P16 a role change with a sign-in older than 10 minutes is 403 reauth_required and changes nothing", async () => {
    const admin = await freshAdmin();
    await env.DB.prepare("UPDATE session SET created_at = created_at - 660000 WHERE user_id = ?").bind(admin.id).run();
    const target = await signUpAndSignIn();
    const before = await lastAuditId();
    const res = await sendJson("PUT", `/api/admin/users/${target.user.id}/role`, { role: "admin" }, admin.headers);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("reauth_required");
    expect(await roleOf(target.user.id)).toBe("customer");
    expect(await sessionCount(target.user.id)).toBe(1);
    expect(await lastAuditId()).toBe(before);
  });

  it("P16 a customer cannot make themselves admin, and support cannot either", async () => {
    for (const role of ["customer", "support"] as const) {
      const who = await makeStaff(role);
      const before = await lastAuditId();
      const res = await sendJson("PUT", `/api/admin/users/${who.user.id}/role`, { role: "admin" }, { cookie: who.cookie });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("forbidden");
      expect(await roleOf(who.user.id)).toBe(role);
      expect(await lastAuditId()).toBe(before);
    }
  });

  it("T10 a forged audit line through a crafted user name stays one escaped field", async () => {
    const admin = await freshAdmin();
    const forged = "Mallory\n2030-01-01T00:00:00Z system user.role_changed admin\r\u2028x";
    const target = await signUpAndSignIn({ name: forged });
    await markEmailVerified(target.user.id);
    const before = await lastAuditId();
    expect((await sendJson("PUT", `/api/admin/users/${target.user.id}/role`, { role: "support" }, admin.headers)).status).toBe(200);
    const events = await auditRowsAfter(before);
    expect(events).toHaveLength(1);
    const stored = events[0]!;
    expect(stored.detail).not.toMatch(/[\n\r\u2028]/);
    expect(JSON.parse(stored.detail).name).toBe("Mallory\\u000a2030-01-01T00:00:00Z system user.role_changed admin\\u000d\\u2028x");
    const verify = await request("/api/admin/audit/verify", { headers: admin.headers });
    expect(await verify.json()).toMatchObject({ ok: true });
  });
});
