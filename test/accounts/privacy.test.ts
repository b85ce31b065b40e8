import { env } from "cloudflare:workers";
import type { PersonalDataExport } from "../../src/accounts/privacy";
import { describe, expect, it } from "vitest";
import { getAs, jsonAs, makeStaff, signIn, signUpAndSignIn, type SignedIn } from "../support/accounts";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { unique } from "../support/factories";
import { request } from "../support/http";
import { makeManyOrders, makePendingOrder } from "../support/orders";

async function ageSession(userId: string): Promise<void> {
  await env.DB.prepare("UPDATE session SET created_at = created_at - 660000 WHERE user_id = ?").bind(userId).run();
}

/** Second-factor and passkey rows, as better-auth would have written them. */
async function addSignInMaterial(userId: string): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("INSERT INTO two_factor (id, secret, backup_codes, user_id) VALUES (?, ?, ?, ?)").bind(
      unique("tf"),
      "SECRET-TOTP-VALUE",
      "BACKUP-CODES-VALUE",
      userId,
    ),
    env.DB.prepare(
      "INSERT INTO passkey (id, name, public_key, user_id, credential_id, counter, device_type, backed_up) VALUES (?, ?, ?, ?, ?, 0, 'singleDevice', 0)",
    ).bind(unique("pk"), "Laptop", "PUBLIC-KEY-VALUE", userId, unique("cred")),
    env.DB.prepare("UPDATE user SET two_factor_enabled = 1 WHERE id = ?").bind(userId),
  ]);
}

async function rowsOf(userId: string): Promise<Record<string, number>> {
  const n = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`).bind(userId).first<{ n: number }>())!.n;
  return {
    session: await n("session"),
    account: await n("account"),
    two_factor: await n("two_factor"),
    passkey: await n("passkey"),
    orders: await n("orders"),
  };
}

async function userRow(id: string): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT id, email, name, banned, role FROM user WHERE id = ?").bind(id).first();
}

function deleteMe(who: SignedIn, body: unknown = { confirm: "DELETE" }): Promise<Response> {
  return jsonAs(who.cookie, "POST", "/api/me/delete", body);
}

describe("data protection: export and erasure", { timeout: 30_000 }, () => {
  it("data protection: the export is a JSON attachment with profile, sessions, orders and audit events, and no secret", async () => {
    const me = await signUpAndSignIn({ name: "Export Me" });
    await addSignInMaterial(me.user.id);
    const { order } = await makePendingOrder({ userId: me.user.id, status: "paid", paymentIntentId: "pi_test_export" });
    const res = await getAs(me.cookie, "/api/me/export");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="bastion-data-\d{4}-\d{2}-\d{2}\.json"$/);
    const text = await res.text();
    const data = JSON.parse(text) as PersonalDataExport;
    expect(data.profile).toMatchObject({ id: me.user.id, email: me.email, name: "Export Me", twoFactorEnabled: true });
    expect(data.sessions.length).toBeGreaterThanOrEqual(1);
    expect(data.sessions.some((s) => s.current)).toBe(true);
    expect(Object.keys(data.sessions[0]!).sort()).toEqual(["createdAt", "current", "expiresAt", "ipAddress", "userAgent"]);
    expect(data.signInMethods).toMatchObject({ password: true, authenticatorApp: true, passkeys: [{ name: "Laptop" }] });
    expect(data.orders.map((o) => o.id)).toEqual([order.id]);
    expect(data.orders[0]!.items).toHaveLength(1);
    expect(data.auditEvents.some((e) => e.action === "auth.sign_in.succeeded")).toBe(true);
    for (const secret of ["SECRET-TOTP-VALUE", "BACKUP-CODES-VALUE", "PUBLIC-KEY-VALUE", "scrypt", 'password":"', "token"]) expect(text).not.toContain(secret);
    const hash = await env.DB.prepare("SELECT password FROM account WHERE user_id = ?").bind(me.user.id).first<{ password: string }>();
    expect(text).not.toContain(hash!.password);
  });

  it("P13 bound parameters: the export of an account with 101 orders holds every order with its lines (the lines' statement binds one parameter, not one per order)", async () => {
    const me = await signUpAndSignIn();
    const ids = await makeManyOrders(me.user.id, 101);
    const res = await getAs(me.cookie, "/api/me/export");
    expect(res.status, await res.clone().text()).toBe(200);
    const data = (await res.json()) as { orders: { id: string; items: unknown[] }[] };
    expect(data.orders.map((o) => o.id).sort()).toEqual([...ids].sort());
    expect(data.orders.every((o) => o.items.length === 1)).toBe(true);
  });

  it("P12 a shopper's export holds only their own orders, whatever the query says (there is no id parameter)", async () => {
    const me = await signUpAndSignIn();
    const other = await signUpAndSignIn();
    const mine = await makePendingOrder({ userId: me.user.id });
    const theirs = await makePendingOrder({ userId: other.user.id, status: "paid" });
    const res = await getAs(me.cookie, `/api/me/export?userId=${other.user.id}&id=${other.user.id}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const data = JSON.parse(text) as { profile: { id: string }; orders: { id: string }[]; auditEvents: { actor: string; subject: string | null }[] };
    expect(data.profile.id).toBe(me.user.id);
    expect(data.orders.map((o) => o.id)).toEqual([mine.order.id]);
    expect(text).not.toContain(theirs.order.id);
    expect(text).not.toContain(other.email);
    expect(text).not.toContain(other.user.id);
  });

  it("P08 a session older than 10 minutes (hijacked or left open) cannot export or delete: 403 reauth_required, 401 without a session; nothing changes", async () => {
    expect((await request("/api/me/export")).status).toBe(401);
    expect(
      (
        await request("/api/me/delete", {
          method: "POST",
          headers: { "content-type": "application/json", origin: "http://localhost:8787" },
          body: JSON.stringify({ confirm: "DELETE" }),
        })
      ).status,
    ).toBe(401);
    const me = await signUpAndSignIn();
    await ageSession(me.user.id);
    const before = { rows: await rowsOf(me.user.id), user: await userRow(me.user.id), audit: await lastAuditId() };
    for (const res of [await getAs(me.cookie, "/api/me/export"), await deleteMe(me)]) {
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("reauth_required");
    }
    expect(await rowsOf(me.user.id)).toEqual(before.rows);
    expect(await userRow(me.user.id)).toEqual(before.user);
    expect(await lastAuditId()).toBe(before.audit);
  });

  it('P16 a delete body needs confirm: "DELETE" and nothing else (no id of someone else); refusals change nothing', async () => {
    const me = await signUpAndSignIn();
    const other = await signUpAndSignIn();
    const before = { mine: await rowsOf(me.user.id), theirs: await rowsOf(other.user.id), audit: await lastAuditId() };
    for (const body of [{}, { confirm: "delete" }, { confirm: "DELETE", userId: other.user.id }, { confirm: "DELETE", id: other.user.id }]) {
      expect((await deleteMe(me, body)).status, JSON.stringify(body)).toBe(422);
    }
    expect(await rowsOf(me.user.id)).toEqual(before.mine);
    expect(await rowsOf(other.user.id)).toEqual(before.theirs);
    expect(await lastAuditId()).toBe(before.audit);
  });

  it("data protection: erasure with orders: sign-in data goes, the user row is anonymised and banned, orders stay, the cookie is cleared, user.deleted is audited", async () => {
    const me = await signUpAndSignIn({ name: "Erase Me" });
    const other = await signUpAndSignIn();
    await addSignInMaterial(me.user.id);
    const { order } = await makePendingOrder({ userId: me.user.id, status: "paid" });
    const theirsBefore = await rowsOf(other.user.id);
    expect(
      (
        await request("/api/auth/request-password-reset", {
          method: "POST",
          headers: { "content-type": "application/json", origin: "http://localhost:8787" },
          body: JSON.stringify({ email: me.email, redirectTo: "/reset-password" }),
        })
      ).status,
    ).toBe(200);
    const resetTokens = () =>
      env.DB.prepare("SELECT count(*) AS n FROM verification WHERE value = ?")
        .bind(me.user.id)
        .first<{ n: number }>()
        .then((r) => r!.n);
    expect(await resetTokens()).toBe(1);
    const before = await lastAuditId();
    const res = await deleteMe(me);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: true, ordersKept: 1 });
    expect(res.headers.getSetCookie().some((c) => /^__Host-bastion\.session_token=;.*Max-Age=0/i.test(c))).toBe(true);

    expect(await rowsOf(me.user.id)).toEqual({ session: 0, account: 0, two_factor: 0, passkey: 0, orders: 1 });
    expect(await resetTokens()).toBe(0);
    expect(await userRow(me.user.id)).toEqual({ id: me.user.id, email: `deleted-${me.user.id}@invalid`, name: "Deleted user", banned: 1, role: "customer" });
    expect(await env.DB.prepare("SELECT user_id, status FROM orders WHERE id = ?").bind(order.id).first()).toEqual({ user_id: me.user.id, status: "paid" });
    expect(await rowsOf(other.user.id)).toEqual(theirsBefore);

    const events = await auditRowsAfter(before);
    expect(events.map((e) => [e.action, e.actor, e.subject])).toEqual([["user.deleted", me.user.id, me.user.id]]);
    expect(JSON.parse(events[0]!.detail)).toEqual({ userRow: "anonymised", ordersKept: 1 });
    expect(events[0]!.detail).not.toContain(me.email);

    expect((await getAs(me.cookie, "/api/me")).status).toBe(401);
    expect((await signIn(me.email, me.password)).res.status).toBe(401);
  });

  it("data protection: erasure without orders deletes the user row; staff accounts are refused (409 staff_account)", async () => {
    const me = await signUpAndSignIn();
    const res = await deleteMe(me);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: true, ordersKept: 0 });
    expect(await userRow(me.user.id)).toBeNull();
    expect(await rowsOf(me.user.id)).toEqual({ session: 0, account: 0, two_factor: 0, passkey: 0, orders: 0 });

    const staff = await makeStaff("admin");
    const refused = await deleteMe(staff);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe("staff_account");
    expect(await userRow(staff.user.id)).toMatchObject({ email: staff.email, role: "admin" });
  });

  it("the privacy page offers the download link and the deletion form, which works; the account page links to it", async () => {
    const me = await signUpAndSignIn();
    expect((await request("/account/privacy", { redirect: "manual" })).status).toBe(303);
    const account = await (await getAs(me.cookie, "/account")).text();
    expect(account).toContain('href="/account/privacy"');
    const page = await (await getAs(me.cookie, "/account/privacy")).text();
    expect(page).toContain('href="/api/me/export"');
    expect(page).toContain('action="/account/privacy/delete"');
    const form = (fields: Record<string, string>) =>
      request("/account/privacy/delete", {
        method: "POST",
        headers: { cookie: me.cookie, origin: "http://localhost:8787", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
        redirect: "manual",
      });
    expect((await form({ confirm: "nope" })).status).toBe(422);
    expect(await userRow(me.user.id)).not.toBeNull();
    const done = await form({ confirm: "DELETE" });
    expect(done.status).toBe(200);
    expect(done.headers.getSetCookie().some((c) => c.startsWith("__Host-bastion.session_token=;"))).toBe(true);
    expect(await userRow(me.user.id)).toBeNull();
  });

  it("P03 CSRF: the account deletion form refuses a cross-site post and changes nothing", async () => {
    const me = await signUpAndSignIn();
    const res = await request("/account/privacy/delete", {
      method: "POST",
      headers: { cookie: me.cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "confirm=DELETE",
    });
    expect(res.status).toBe(403);
    expect(await userRow(me.user.id)).toMatchObject({ email: me.email });
  });
});
