import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import app from "../../src/index";
import { DUMMY_TURNSTILE_TOKEN, verifyTurnstile } from "../../src/accounts/turnstile";
import { loadConfig, type Config } from "../../src/platform/config";
import { cookiesFrom, enrolTotp, getAs, jsonAs, latestMailTo, markEmailVerified, signIn, signUpAndSignIn, STRONG_PASSWORD } from "../support/accounts";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN, request, sendJson } from "../support/http";
import { registerPasskey } from "../support/webauthn";

const one = async <T>(sql: string, ...params: unknown[]): Promise<T | null> =>
  env.DB.prepare(sql)
    .bind(...params)
    .first<T>();

async function passwordHash(userId: string): Promise<string | null> {
  return (await one<{ password: string }>("SELECT password FROM account WHERE user_id = ? AND provider_id = 'credential'", userId))?.password ?? null;
}

/** Waits for background work (audit, mail) a request left in its waitUntil. */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 150 && !ok(value); i++) {
    await new Promise((r) => setTimeout(r, 20));
    value = await read();
  }
  return value;
}

describe("secret-checking better-auth routes", () => {
  it("P05 a stolen session cannot guess the password through change-password or two-factor enable: the sign-in limits apply per account", async () => {
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id);
    const hash = await passwordHash(who.user.id);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const path = i % 2 ? "/api/auth/two-factor/enable" : "/api/auth/change-password";
      const body =
        i % 2 ? { password: `wrong-guess-number-${i}-xyz` } : { currentPassword: `wrong-guess-number-${i}-xyz`, newPassword: "never-set-this-password-42" };
      statuses.push((await jsonAs(who.cookie, "POST", path, body)).status);
    }
    expect(statuses.every((s) => s === 400)).toBe(true);
    // The sixth try needs Turnstile, even with the right password, and changes nothing.
    const right = await jsonAs(who.cookie, "POST", "/api/auth/change-password", { currentPassword: who.password, newPassword: "never-set-this-password-42" });
    expect(right.status).toBe(403);
    expect(((await right.json()) as { code: string }).code).toBe("CAPTCHA_REQUIRED");
    expect(await passwordHash(who.user.id)).toBe(hash);
    expect(await one("SELECT count(*) AS n FROM two_factor WHERE user_id = ?", who.user.id)).toEqual({ n: 0 });
    // The guesses count for sign-in too: the same account key.
    const signInNow = await signIn(who.email, who.password);
    expect(signInNow.res.status).toBe(403);
  });

  it("P05 better-auth routes the shop does not use answer 404 and change nothing (verify-password, delete-user, get-totp-uri, backup codes, admin)", async () => {
    const who = await signUpAndSignIn();
    const calls: [string, string, unknown?][] = [
      ["POST", "/api/auth/verify-password", { password: who.password }],
      ["POST", "/api/auth/delete-user", { password: who.password }],
      ["POST", "/api/auth/two-factor/get-totp-uri", { password: who.password }],
      ["POST", "/api/auth/two-factor/generate-backup-codes", { password: who.password }],
      ["POST", "/api/auth/admin/set-role", { userId: who.user.id, role: "admin" }],
      ["GET", "/api/auth/list-accounts"],
      ["POST", "/api/auth/unlink-account", { providerId: "credential" }],
      ["POST", "/api/auth/passkey/update-passkey", { id: "x", name: "y" }],
    ];
    for (const [method, path, body] of calls) {
      const res = body === undefined ? await getAs(who.cookie, path) : await jsonAs(who.cookie, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect(await one("SELECT role FROM user WHERE id = ?", who.user.id)).toEqual({ role: "customer" });
    expect((await getAs(who.cookie, "/api/me")).status).toBe(200);
  });
});

describe("email links", () => {
  it("P08 login CSRF: an email-change link opened in a browser without a session changes the email but signs no one in, and works once", async () => {
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id);
    const newEmail = `moved-${crypto.randomUUID()}@example.com`;
    expect((await jsonAs(who.cookie, "POST", "/api/auth/change-email", { newEmail, callbackURL: "/account" })).status).toBe(200);
    const approve = await eventually(
      () => latestMailTo(who.email),
      (m) => !!m?.subject.startsWith("Approve"),
    );
    const approveUrl = new URL(/https?:\/\/\S+/.exec(approve!.text)![0]);
    const sessionsBefore = await one<{ n: number }>("SELECT count(*) AS n FROM session WHERE user_id = ?", who.user.id);
    // The approval link, opened by anyone: no session.
    const approved = await request(approveUrl.pathname + approveUrl.search, { redirect: "manual" });
    expect(approved.headers.getSetCookie().some((l) => l.startsWith("__Host-bastion.session_token=") && !/max-age=0/i.test(l))).toBe(false);
    const confirm = await eventually(
      () => latestMailTo(newEmail),
      (m) => !!m,
    );
    const confirmUrl = new URL(/https?:\/\/\S+/.exec(confirm!.text)![0]);
    // The confirmation link, opened in a victim's browser with no session (an attacker's page).
    const opened = await request(confirmUrl.pathname + confirmUrl.search, { redirect: "manual" });
    expect(opened.status).toBeLessThan(400);
    expect(opened.headers.getSetCookie().some((l) => l.startsWith("__Host-bastion.session_token=") && !/max-age=0/i.test(l))).toBe(false);
    expect(await one("SELECT count(*) AS n FROM session WHERE user_id = ?", who.user.id)).toEqual(sessionsBefore);
    expect(await one("SELECT email FROM user WHERE id = ?", who.user.id)).toEqual({ email: newEmail });
    // Opened again: nothing more happens.
    const again = await request(confirmUrl.pathname + confirmUrl.search, { redirect: "manual" });
    expect(again.headers.getSetCookie().some((l) => l.startsWith("__Host-bastion.session_token=") && !/max-age=0/i.test(l))).toBe(false);
    expect(await one("SELECT count(*) AS n FROM session WHERE user_id = ?", who.user.id)).toEqual(sessionsBefore);
  });
});

describe("email change notice and lock", () => {
  it("P09 an email change tells the old address, whose link locks the account: sessions, factors and password gone, the address restored; a forged link changes nothing", async () => {
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id);
    const attackerEmail = `attacker-${crypto.randomUUID()}@example.com`;
    expect((await jsonAs(who.cookie, "POST", "/api/auth/change-email", { newEmail: attackerEmail })).status).toBe(200);
    const approve = await eventually(
      () => latestMailTo(who.email),
      (m) => !!m?.subject.startsWith("Approve"),
    );
    const approveUrl = new URL(/https?:\/\/\S+/.exec(approve!.text)![0]);
    await request(approveUrl.pathname + approveUrl.search, { redirect: "manual" });
    const confirm = await eventually(
      () => latestMailTo(attackerEmail),
      (m) => !!m,
    );
    const confirmUrl = new URL(/https?:\/\/\S+/.exec(confirm!.text)![0]);
    await request(confirmUrl.pathname + confirmUrl.search, { redirect: "manual" });
    expect(await one("SELECT email FROM user WHERE id = ?", who.user.id)).toEqual({ email: attackerEmail });
    const notice = await eventually(
      () => latestMailTo(who.email),
      (m) => m?.subject === "Your Bastion account's email was changed",
    );
    const lockUrl = new URL(/https?:\/\/\S+\/account\/lock\S+/.exec(notice!.text)![0]);
    const form = Object.fromEntries(lockUrl.searchParams);
    const state = async () =>
      JSON.stringify([
        await one("SELECT email, two_factor_enabled FROM user WHERE id = ?", who.user.id),
        await one("SELECT count(*) AS n FROM session WHERE user_id = ?", who.user.id),
        await one("SELECT password FROM account WHERE user_id = ?", who.user.id),
      ]);
    const before = await state();
    // A forged link, and a plain GET of the real one (mail scanners open links), change nothing.
    const post = (fields: Record<string, string>) =>
      request("/account/lock", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
        body: new URLSearchParams(fields).toString(),
        redirect: "manual",
      });
    expect((await post({ ...form, u: who.user.id, e: "someone-else@example.com" })).status).toBe(400);
    expect((await post({ ...form, t: `${form.t!.slice(0, -2)}AA` })).status).toBe(400);
    expect((await request(lockUrl.pathname + lockUrl.search)).status).toBe(200);
    expect(await state()).toBe(before);
    const locked = await post(form);
    expect(locked.status).toBe(303);
    expect(await one("SELECT email, email_verified AS v FROM user WHERE id = ?", who.user.id)).toEqual({ email: who.email, v: 1 });
    expect(await one("SELECT count(*) AS n FROM session WHERE user_id = ?", who.user.id)).toEqual({ n: 0 });
    expect(await one("SELECT password FROM account WHERE user_id = ?", who.user.id)).toEqual({ password: null });
    expect((await signIn(attackerEmail, who.password)).res.status).toBe(401);
  });
});

describe("security events", () => {
  it("P07 security events are audited and mailed: password change, TOTP on and off, passkey added and removed, sign-out everywhere", async () => {
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id);
    const from = await lastAuditId();
    const newPassword = "quiet-harbour-cobalt-fennel-88";
    const changed = await jsonAs(who.cookie, "POST", "/api/auth/change-password", { currentPassword: who.password, newPassword });
    expect(changed.status).toBe(200);
    who.cookie = cookiesFrom(changed, who.cookie);
    who.password = newPassword;
    await enrolTotp(who);
    const passkey = await registerPasskey(who.cookie, { userVerified: true });
    expect(passkey.res.status).toBe(200);
    const id = ((await passkey.res.json()) as { id: string }).id;
    expect((await jsonAs(who.cookie, "POST", "/api/auth/passkey/delete-passkey", { id })).status).toBe(200);
    const off = await jsonAs(who.cookie, "POST", "/api/auth/two-factor/disable", { password: newPassword });
    expect(off.status).toBe(200);
    who.cookie = cookiesFrom(off, who.cookie);
    expect((await jsonAs(who.cookie, "POST", "/api/auth/revoke-sessions", {})).status).toBe(200);
    const expected = [
      "auth.password.changed",
      "auth.totp.enabled",
      "auth.passkey.added",
      "auth.passkey.removed",
      "auth.totp.disabled",
      "auth.sessions.revoked_all",
    ];
    const rows = await eventually(
      async () => (await auditRowsAfter(from)).filter((r) => r.subject === who.user.id).map((r) => r.action),
      (actions) => expected.every((a) => actions.includes(a)),
    );
    expect(rows).toEqual(expect.arrayContaining(expected));
    const subjects = await eventually(
      async () =>
        (await env.DB.prepare('SELECT subject FROM mail_outbox WHERE "to" = ?').bind(who.email).all<{ subject: string }>()).results.map((r) => r.subject),
      (s) => s.length >= 7,
    );
    expect(subjects).toEqual(
      expect.arrayContaining([
        "Your Bastion password was changed",
        "Two-step sign-in is on",
        "A passkey was added to your Bastion account",
        "A passkey was removed from your Bastion account",
        "Two-step sign-in was turned off",
        "You were signed out everywhere",
      ]),
    );
  });

  it("P05 failed sign-ins keep no typed email: the audit log names a pseudonym, the owner's export lists those events and erasure unlinks them", async () => {
    const who = await signUpAndSignIn();
    const from = await lastAuditId();
    expect((await signIn(who.email.toUpperCase(), "not-the-password-at-all-41")).res.status).toBe(401);
    const failed = await eventually(
      async () => (await auditRowsAfter(from)).filter((r) => r.action === "auth.sign_in.failed"),
      (r) => r.length > 0,
    );
    expect(failed[0]!.subject).toMatch(/^signin:[0-9a-f]{24}$/);
    const everything = JSON.stringify(await auditRowsAfter(from));
    expect(everything.toLowerCase()).not.toContain(who.email);
    const exported = (await (await getAs(who.cookie, "/api/me/export")).json()) as { auditEvents: { action: string; subject: string }[] };
    expect(exported.auditEvents.some((e) => e.action === "auth.sign_in.failed" && e.subject === failed[0]!.subject)).toBe(true);
    expect(await one("SELECT count(*) AS n FROM sign_in_pseudonym")).not.toEqual({ n: 0 });
    const pseudonyms = await one<{ n: number }>("SELECT count(*) AS n FROM sign_in_pseudonym WHERE pseudonym = ?", failed[0]!.subject);
    expect(pseudonyms).toEqual({ n: 1 });
    expect((await jsonAs(who.cookie, "POST", "/api/me/delete", { confirm: "DELETE" })).status).toBe(200);
    expect(await one("SELECT count(*) AS n FROM sign_in_pseudonym WHERE pseudonym = ?", failed[0]!.subject)).toEqual({ n: 0 });
  });
});

describe("operator events", () => {
  it("P16 every admin:create run reaches the audit log: its operator event is appended at the next sign-in, once", async () => {
    const id = crypto.randomUUID();
    await env.DB.prepare(
      "INSERT INTO operator_events (id, at, action, subject, detail) VALUES (?, ?, 'admin.create', 'usr_someone', '{\"outcome\":\"refused_existing\"}')",
    )
      .bind(id, Date.now())
      .run();
    const from = await lastAuditId();
    await signUpAndSignIn();
    const rows = await eventually(
      async () => (await auditRowsAfter(from)).filter((r) => r.action === "admin.create"),
      (r) => r.length > 0,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: "operator", subject: "usr_someone" });
    expect(JSON.parse(rows[0]!.detail)).toMatchObject({ outcome: "refused_existing" });
    await signUpAndSignIn();
    expect((await auditRowsAfter(from)).filter((r) => r.action === "admin.create")).toHaveLength(1);
    expect(await one<{ r: number | null }>("SELECT recorded_at AS r FROM operator_events WHERE id = ?", id)).not.toEqual({ r: null });
  });
});

async function fetchWithEnv(overrides: Record<string, string>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(new URL(path, ORIGIN), init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("Turnstile and the offline password check", () => {
  it("P05 the dummy Turnstile token works only on a loopback origin in development; a staging origin without a real secret fails at config time", async () => {
    const staging = { PUBLIC_ORIGIN: "https://staging.example.com", TURNSTILE_SECRET_KEY: "1x0000000000000000000000000000000AA" };
    expect(loadConfig({ ...env, ...staging })).toMatchObject({ ok: false, problems: [{ setting: "TURNSTILE_SECRET_KEY" }] });
    const email = `staging-${crypto.randomUUID()}@example.com`;
    const res = await fetchWithEnv(staging, "/api/auth/sign-up/email", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://staging.example.com" },
      body: JSON.stringify({ email, password: STRONG_PASSWORD, name: "S" }),
    });
    expect(res.status).toBe(503);
    expect(await one("SELECT count(*) AS n FROM user WHERE email = ?", email)).toEqual({ n: 0 });
    // With a real secret on a staging origin, the dummy token goes to siteverify and fails.
    const real = loadConfig({ ...env, PUBLIC_ORIGIN: "https://staging.example.com", TURNSTILE_SECRET_KEY: "0x4AAAAAAAreal-looking-secret" });
    expect(real.ok).toBe(true);
    const siteverify = vi
      .spyOn(globalThis, "fetch")
      .mockResolvedValue(new Response(JSON.stringify({ success: false, "error-codes": ["invalid-input-response"] }), { status: 200 }));
    try {
      expect(await verifyTurnstile((real as { config: Config }).config, DUMMY_TURNSTILE_TOKEN, "203.0.113.9")).toBe(false);
      expect(siteverify).toHaveBeenCalledTimes(1);
    } finally {
      siteverify.mockRestore();
    }
    const local = loadConfig(env);
    expect(await verifyTurnstile((local as { config: Config }).config, DUMMY_TURNSTILE_TOKEN, null)).toBe(true);
  });

  it("P05 refuses a guessable password (a common word and a sequence) with Pwned Passwords unreachable; a passphrase of random words passes", async () => {
    const pwned = vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("network down"));
    try {
      for (const password of ["password1234567", "Summer2024Summer2024", "qwertyuiopasdfgh"]) {
        const email = `guess-${crypto.randomUUID()}@example.com`;
        const res = await sendJson("POST", "/api/auth/sign-up/email", { email, password, name: "G" });
        expect(res.status, password).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe("PASSWORD_TOO_GUESSABLE");
        expect(await one("SELECT count(*) AS n FROM user WHERE email = ?", email)).toEqual({ n: 0 });
      }
      const email = `words-${crypto.randomUUID()}@example.com`;
      const ok = await sendJson("POST", "/api/auth/sign-up/email", { email, password: "tundra-pickle-orbit-velvet-sonar", name: "W" });
      expect(ok.status).toBe(200);
    } finally {
      pwned.mockRestore();
    }
  });
});
