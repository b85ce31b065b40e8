import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cookiesFrom, enrolTotp as enrolWithSupport, getAs, jsonAs, signIn, signUpAndSignIn, verifyEmailByLink, type SignedIn } from "../support/accounts";
import { sendJson } from "../support/http";
import { totp } from "../support/totp";

/** Verifies the address over its mail link (needed before enrolment), then enrols TOTP over HTTP. */
async function enrolTotp(who: SignedIn): Promise<{ secret: string; backupCodes: string[] }> {
  expect((await verifyEmailByLink(who.email)).status).toBeLessThan(400);
  return enrolWithSupport(who);
}

describe("second factors", () => {
  it("enrols TOTP only with the current password and then asks for a code at every password sign-in", async () => {
    const who = await signUpAndSignIn();
    const noPassword = await jsonAs(who.cookie, "POST", "/api/auth/two-factor/enable", { password: "wrong-password-for-sure-123" });
    expect(noPassword.status).not.toBe(200);
    const { secret } = await enrolTotp(who);
    expect(((await (await getAs(who.cookie, "/api/me")).json()) as { user: { twoFactorEnabled: boolean } }).user.twoFactorEnabled).toBe(true);

    const first = await signIn(who.email, who.password);
    expect(first.res.status).toBe(200);
    expect(((await first.res.json()) as { twoFactorRedirect?: boolean }).twoFactorRedirect).toBe(true);
    // The password alone gives no session.
    expect((await getAs(first.cookie, "/api/me")).status).toBe(401);
    // The setup used this period's code, which is now spent: the next period's is accepted (drift).
    const ok = await jsonAs(first.cookie, "POST", "/api/auth/two-factor/verify-totp", { code: await totp(secret, Date.now() + 30_000) });
    expect(ok.status).toBe(200);
    expect((await getAs(cookiesFrom(ok, first.cookie), "/api/me")).status).toBe(200);
  });

  it("P06 TOTP code reuse: a code that opened one session is refused for a second, and no session survives the replay", async () => {
    const who = await signUpAndSignIn();
    const { secret } = await enrolTotp(who);
    const code = await totp(secret, Date.now() + 30_000);
    const first = await signIn(who.email, who.password);
    const ok = await jsonAs(first.cookie, "POST", "/api/auth/two-factor/verify-totp", { code });
    expect(ok.status).toBe(200);
    const sessionsAfterFirst = (await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?").bind(who.user.id).first<{ n: number }>())!.n;
    const second = await signIn(who.email, who.password);
    const replay = await jsonAs(second.cookie, "POST", "/api/auth/two-factor/verify-totp", { code });
    expect(replay.status).toBe(401);
    expect((await getAs(cookiesFrom(replay, second.cookie), "/api/me")).status).toBe(401);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?").bind(who.user.id).first<{ n: number }>())!.n).toBe(sessionsAfterFirst);
    expect((await getAs(cookiesFrom(ok, first.cookie), "/api/me")).status).toBe(200);
  });

  it("P06 TOTP brute force: wrong codes are limited and never open a session", async () => {
    const who = await signUpAndSignIn();
    const { secret } = await enrolTotp(who);
    const pending = await signIn(who.email, who.password);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await jsonAs(pending.cookie, "POST", "/api/auth/two-factor/verify-totp", { code: String(100000 + i) });
      statuses.push(r.status);
      expect(r.headers.getSetCookie().some((c) => c.startsWith("__Host-bastion.session_token=") && !/max-age=0/i.test(c))).toBe(false);
    }
    expect(statuses.every((s) => s !== 200)).toBe(true);
    expect(statuses.some((s) => s === 429 || s === 403)).toBe(true);
    void secret;
  });

  it("P06 backup codes are single-use", async () => {
    const who = await signUpAndSignIn();
    const { backupCodes } = await enrolTotp(who);
    const a = await signIn(who.email, who.password);
    const used = await jsonAs(a.cookie, "POST", "/api/auth/two-factor/verify-backup-code", { code: backupCodes[0] });
    expect(used.status).toBe(200);
    const b = await signIn(who.email, who.password);
    const again = await jsonAs(b.cookie, "POST", "/api/auth/two-factor/verify-backup-code", { code: backupCodes[0] });
    expect(again.status).not.toBe(200);
  });

  it("P06 the TOTP secret and backup codes are not stored in plain text", async () => {
    const who = await signUpAndSignIn();
    const { secret, backupCodes } = await enrolTotp(who);
    const row = await env.DB.prepare("SELECT secret, backup_codes FROM two_factor WHERE user_id = ?")
      .bind(who.user.id)
      .first<{ secret: string; backup_codes: string }>();
    expect(row!.secret).not.toContain(secret);
    expect(row!.backup_codes).not.toContain(backupCodes[0]);
  });

  it("P09 password reset: same answer for unknown emails, token single-use, revokes sessions, no sign-in, second factor still asked", async () => {
    const who = await signUpAndSignIn();
    const { secret } = await enrolTotp(who);
    const known = await sendJson("POST", "/api/auth/request-password-reset", { email: who.email, redirectTo: "/reset-password" });
    const unknown = await sendJson("POST", "/api/auth/request-password-reset", {
      email: `nobody-${crypto.randomUUID()}@example.com`,
      redirectTo: "/reset-password",
    });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(known.status);
    expect(await unknown.text()).toBe(await known.text());

    let text = "";
    for (let i = 0; i < 50 && !text.includes("reset-password"); i++) {
      const row = await env.DB.prepare("SELECT text FROM mail_outbox WHERE \"to\" = ? AND subject LIKE 'Reset%' ORDER BY id DESC LIMIT 1")
        .bind(who.email)
        .first<{ text: string }>();
      text = row?.text ?? "";
      await new Promise((r) => setTimeout(r, 20));
    }
    const token = /reset-password\/([A-Za-z0-9_-]+)/.exec(text)?.[1];
    expect(token).toBeTruthy();
    expect(token!.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits of base62
    // Stored hashed: the token itself is nowhere in the verification table.
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM verification WHERE identifier LIKE ? OR value LIKE ?")
      .bind(`%${token}%`, `%${token}%`)
      .first<{ n: number }>();
    expect(stored!.n).toBe(0);

    const newPassword = "new-indigo-heron-meadow-4821";
    const reset = await sendJson("POST", "/api/auth/reset-password", { newPassword, token });
    expect(reset.status).toBe(200);
    expect(reset.headers.getSetCookie().some((c) => c.startsWith("__Host-bastion.session_token=") && !/max-age=0/i.test(c))).toBe(false);
    expect((await getAs(who.cookie, "/api/me")).status).toBe(401);
    const replay = await sendJson("POST", "/api/auth/reset-password", { newPassword: "another-copper-falcon-river-99", token });
    expect(replay.status).toBe(400);

    const next = await signIn(who.email, newPassword);
    expect(((await next.res.json()) as { twoFactorRedirect?: boolean }).twoFactorRedirect).toBe(true);
    const ok = await jsonAs(next.cookie, "POST", "/api/auth/two-factor/verify-totp", { code: await totp(secret, Date.now() + 30_000) });
    expect(ok.status).toBe(200);
  });

  it("P08 a password change revokes every other session, even when the body asks not to", async () => {
    const who = await signUpAndSignIn();
    const other = await signIn(who.email, who.password);
    const res = await jsonAs(who.cookie, "POST", "/api/auth/change-password", {
      currentPassword: who.password,
      newPassword: "fresh-amber-lynx-canyon-7310",
      revokeOtherSessions: false,
    });
    expect(res.status).toBe(200);
    expect((await getAs(other.cookie, "/api/me")).status).toBe(401);
  });
});
