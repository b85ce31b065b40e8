import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cookiesFrom, enrolTotp, getAs, jsonAs, makeStaff, markEmailVerified, signIn, signInWithTotp, signUpAndSignIn } from "../support/accounts";
import { sendJson } from "../support/http";
import { unspentTotp } from "../support/totp";
import { registerPasskey, signInWithPasskey } from "../support/webauthn";

const one = async <T>(sql: string, ...params: unknown[]): Promise<T | null> =>
  env.DB.prepare(sql)
    .bind(...params)
    .first<T>();
const count = async (sql: string, ...params: unknown[]): Promise<number> => (await one<{ n: number }>(sql, ...params))!.n;

/** What a staff action could change: products, roles, sessions. */
async function staffState(): Promise<string> {
  const all = async (sql: string) => JSON.stringify((await env.DB.prepare(sql).all()).results);
  return (await all("SELECT * FROM products ORDER BY id")) + (await all("SELECT id, role FROM user ORDER BY id"));
}

async function codeOf(res: Response): Promise<string> {
  return ((await res.clone().json()) as { code?: string }).code ?? "";
}

const newProduct = () => ({ slug: `p-${crypto.randomUUID().slice(0, 8)}`, name: "Should not exist", priceCents: 100 });

describe("session assurance for staff (decision 012)", () => {
  it("P16 staff second factor: a session without a TOTP proof made in that session is refused on /api/admin/*", async () => {
    // An admin whose session was opened with the password before TOTP was enrolled.
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id);
    await env.DB.prepare("UPDATE user SET role = 'admin' WHERE id = ?").bind(who.user.id).run();
    const { secret } = await enrolTotp(who); // the account now has TOTP; this session never proved it
    const before = await staffState();
    const read = await getAs(who.cookie, "/api/admin/products");
    expect(read.status).toBe(403);
    expect(await codeOf(read)).toBe("mfa_required");
    const write = await jsonAs(who.cookie, "POST", "/api/admin/products", newProduct());
    expect(write.status).toBe(403);
    expect(await staffState()).toBe(before);
    // The same admin signing in with password and TOTP gets a staff session.
    const staff = await signInWithTotp(who.email, who.password, secret);
    expect(staff.res.status).toBe(200);
    expect((await getAs(staff.cookie, "/api/admin/products")).status).toBe(200);
  });

  it("P16 trustDevice: asking to trust the device sets no cookie, and a trust cookie never skips TOTP at the next sign-in", async () => {
    const admin = await makeStaff("admin");
    const first = await signIn(admin.email, admin.password);
    const verified = await jsonAs(first.cookie, "POST", "/api/auth/two-factor/verify-totp", {
      // Enrolment and the staff sign-in spent two codes of this window already.
      code: await unspentTotp(admin.totpSecret!),
      trustDevice: true,
    });
    expect(verified.status).toBe(200);
    expect(verified.headers.getSetCookie().some((l) => /trust_device=[^;]/.test(l) && !/max-age=0/i.test(l))).toBe(false);
    const sessions = await count("SELECT count(*) AS n FROM session WHERE user_id = ?", admin.user.id);
    // A trust cookie (as better-auth issued before this change) is ignored and deleted.
    const jar = `${cookiesFrom(verified, first.cookie)}; __Host-bastion.trust_device=abc.def`;
    const again = await sendJson("POST", "/api/auth/sign-in/email", { email: admin.email, password: admin.password }, { cookie: jar });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { twoFactorRedirect?: boolean }).twoFactorRedirect).toBe(true);
    expect(again.headers.getSetCookie().some((l) => l.startsWith("__Host-bastion.trust_device=;") && /max-age=0/i.test(l))).toBe(true);
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", admin.user.id)).toBe(sessions);
  });

  it("P16 a session opened before a role change never opens staff routes, and a role change through the API ends the account's sessions", async () => {
    // A customer with TOTP, signed in with both factors, then made admin behind the API's back.
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id);
    const { secret } = await enrolTotp(who);
    const strong = await signInWithTotp(who.email, who.password, secret);
    expect(strong.res.status).toBe(200);
    await env.DB.prepare("UPDATE user SET role = 'admin' WHERE id = ?").bind(who.user.id).run();
    const before = await staffState();
    const res = await jsonAs(strong.cookie, "POST", "/api/admin/products", newProduct());
    expect(res.status).toBe(401);
    expect(await codeOf(res)).toBe("session_expired");
    expect(await staffState()).toBe(before);
    // Through the API, the target's sessions end at once.
    await env.DB.prepare("UPDATE user SET role = 'customer' WHERE id = ?").bind(who.user.id).run();
    const admin = await makeStaff("admin");
    const change = await jsonAs(admin.cookie, "PUT", `/api/admin/users/${who.user.id}/role`, { role: "support" });
    expect(change.status).toBe(200);
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", who.user.id)).toBe(0);
  });

  it("P16 a staff role needs a verified email: promoting an unverified account is 409 email_not_verified and changes nothing", async () => {
    const admin = await makeStaff("admin");
    const squatter = await signUpAndSignIn(); // registered someone's address, never verified it
    const before = await staffState();
    const res = await jsonAs(admin.cookie, "PUT", `/api/admin/users/${squatter.user.id}/role`, { role: "admin" });
    expect(res.status).toBe(409);
    expect(await codeOf(res)).toBe("email_not_verified");
    expect(await staffState()).toBe(before);
  });

  it("P07 a passkey that only detects presence is one factor: its session is refused on staff routes; a passkey with user verification opens them", async () => {
    const admin = await makeStaff("admin");
    const touchOnly = await registerPasskey(admin.cookie, { userVerified: false, name: "touch only" });
    expect(touchOnly.res.status).toBe(200);
    const withPin = await registerPasskey(admin.cookie, { userVerified: true, name: "with PIN" });
    expect(withPin.res.status).toBe(200);

    const weak = await signInWithPasskey(touchOnly.key!, { userVerified: false });
    expect(weak.res.status).toBe(200);
    expect((await getAs(weak.cookie, "/api/me")).status).toBe(200);
    const before = await staffState();
    const refused = await jsonAs(weak.cookie, "POST", "/api/admin/products", newProduct());
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe("mfa_required");
    expect(await staffState()).toBe(before);
    // A key that claims UV on one sign-in but not another is judged per sign-in.
    const weakAgain = await signInWithPasskey(withPin.key!, { userVerified: false });
    expect((await getAs(weakAgain.cookie, "/api/admin/products")).status).toBe(403);

    const strong = await signInWithPasskey(withPin.key!, { userVerified: true });
    expect(strong.res.status).toBe(200);
    expect((await getAs(strong.cookie, "/api/admin/products")).status).toBe(200);
  });
});

describe("email verification before trust", () => {
  it("P07 pre-registration takeover: an account with an unverified email cannot enrol TOTP or a passkey, and nothing is stored", async () => {
    const attacker = await signUpAndSignIn(); // the victim's address, registered first
    const totpRes = await jsonAs(attacker.cookie, "POST", "/api/auth/two-factor/enable", { password: attacker.password });
    expect(totpRes.status).toBe(403);
    expect(await codeOf(totpRes)).toBe("EMAIL_NOT_VERIFIED");
    const passkey = await registerPasskey(attacker.cookie, { userVerified: true });
    expect(passkey.res.status).toBe(403);
    expect(await codeOf(passkey.res)).toBe("EMAIL_NOT_VERIFIED");
    const email = await jsonAs(attacker.cookie, "POST", "/api/auth/change-email", { newEmail: `moved-${crypto.randomUUID()}@example.com` });
    expect(email.status).toBe(403);
    expect(await count("SELECT count(*) AS n FROM two_factor WHERE user_id = ?", attacker.user.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM passkey WHERE user_id = ?", attacker.user.id)).toBe(0);
    expect(await one("SELECT email, two_factor_enabled AS t FROM user WHERE id = ?", attacker.user.id)).toEqual({ email: attacker.email, t: 0 });
  });

  it("P09 a password reset of a never-verified account removes the factors and sessions added before it, verifies the address and says so", async () => {
    const squatter = await signUpAndSignIn();
    // Factors a squatter added before this rule existed (the API refuses them now).
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO passkey (id, name, public_key, user_id, credential_id, counter, device_type, backed_up) VALUES (?, 'squatter key', 'pk', ?, ?, 0, 'singleDevice', 0)",
      ).bind(crypto.randomUUID(), squatter.user.id, crypto.randomUUID()),
      env.DB.prepare("INSERT INTO two_factor (id, secret, backup_codes, user_id, verified) VALUES (?, 'x', 'y', ?, 1)").bind(
        crypto.randomUUID(),
        squatter.user.id,
      ),
      env.DB.prepare("UPDATE user SET two_factor_enabled = 1 WHERE id = ?").bind(squatter.user.id),
    ]);
    // The owner of the mailbox resets the password.
    expect((await sendJson("POST", "/api/auth/request-password-reset", { email: squatter.email, redirectTo: "/reset-password" })).status).toBe(200);
    let token: string | undefined;
    for (let i = 0; i < 100 && !token; i++) {
      const mail = await one<{ text: string }>(
        "SELECT text FROM mail_outbox WHERE \"to\" = ? AND subject LIKE 'Reset%' ORDER BY id DESC LIMIT 1",
        squatter.email,
      );
      token = /reset-password\/([A-Za-z0-9_-]+)/.exec(mail?.text ?? "")?.[1];
      if (!token) await new Promise((r) => setTimeout(r, 20));
    }
    const reset = await sendJson("POST", "/api/auth/reset-password", { newPassword: "owner-takes-back-marble-comet-9", token });
    expect(reset.status).toBe(200);
    expect(await count("SELECT count(*) AS n FROM passkey WHERE user_id = ?", squatter.user.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM two_factor WHERE user_id = ?", squatter.user.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", squatter.user.id)).toBe(0);
    expect(await one("SELECT email_verified AS v, two_factor_enabled AS t FROM user WHERE id = ?", squatter.user.id)).toEqual({ v: 1, t: 0 });
    let notice = "";
    for (let i = 0; i < 100 && !notice.includes("removed"); i++) {
      notice =
        (
          await one<{ text: string }>(
            "SELECT text FROM mail_outbox WHERE \"to\" = ? AND subject = 'Your Bastion password was changed' ORDER BY id DESC LIMIT 1",
            squatter.email,
          )
        )?.text ?? "";
      if (!notice.includes("removed")) await new Promise((r) => setTimeout(r, 20));
    }
    expect(notice).toContain("1 passkey(s), the authenticator app");
    // The owner signs in with the new password and no second factor is asked (there is none left).
    const owner = await signIn(squatter.email, "owner-takes-back-marble-comet-9");
    expect(((await owner.res.json()) as { twoFactorRedirect?: boolean }).twoFactorRedirect).toBeUndefined();
  });
});
