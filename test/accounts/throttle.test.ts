import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GUARD_LIMITS, loginGuard } from "../../src/accounts/login-guard";
import { addressKeyOf } from "../../src/platform/client-address";
import { DUMMY_TURNSTILE_TOKEN } from "../../src/accounts/turnstile";
import { countRows, unique } from "../support/factories";
import { getAs, latestMailTo, signIn, signUpAndSignIn } from "../support/accounts";
import { sendJson } from "../support/http";

// A new address per call (never a random pick that could repeat): per-address counters must not
// leak from one attempt or test into another.
let nextAddress = 0;
const addr = () => {
  nextAddress += 1;
  return `2001:db8:${(nextAddress >> 8).toString(16)}:${(nextAddress & 0xff).toString(16)}::1`;
};
function wrong(email: string, ip: string, headers: Record<string, string> = {}) {
  return sendJson("POST", "/api/auth/sign-in/email", { email, password: "definitely-not-the-password-123" }, { "cf-connecting-ip": ip, ...headers });
}
async function auditCount(action: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = ?").bind(action).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("login throttling (LoginGuard Durable Object)", () => {
  it("P05 user enumeration: unknown email and wrong password give the same status and code", async () => {
    const who = await signUpAndSignIn();
    const a = await wrong(who.email, addr());
    const b = await wrong(`${unique("nobody").toLowerCase()}@example.com`, addr());
    expect(a.status).toBe(401);
    expect(b.status).toBe(a.status);
    const [ba, bb] = [(await a.json()) as { code: string }, (await b.json()) as { code: string }];
    expect(bb.code).toBe(ba.code);
  });

  it("P05 brute force: after 5 failures the next attempt needs Turnstile, and a correct password without it gets no session", async () => {
    const who = await signUpAndSignIn();
    for (let i = 0; i < GUARD_LIMITS.emailCaptchaAfter; i++) expect((await wrong(who.email, addr())).status).toBe(401);
    const sessionsBefore = await countRows("session");
    const right = await signIn(who.email, who.password, { "cf-connecting-ip": addr() });
    expect(right.res.status).toBe(403);
    expect(((await right.res.json()) as { code: string }).code).toBe("CAPTCHA_REQUIRED");
    expect(right.res.headers.getSetCookie().some((c) => c.includes("session_token="))).toBe(false);
    expect(await countRows("session")).toBe(sessionsBefore);
    const bad = await signIn(who.email, who.password, { "cf-connecting-ip": addr(), "x-captcha-response": "forged-token" });
    expect(bad.res.status).toBe(403);
    const ok = await signIn(who.email, who.password, { "cf-connecting-ip": addr(), "x-captcha-response": DUMMY_TURNSTILE_TOKEN });
    expect(ok.res.status).toBe(200);
    expect((await getAs(ok.cookie, "/api/me")).status).toBe(200);
  });

  it("P05 credential stuffing: 20 parallel guesses cannot slip past the counter", async () => {
    const who = await signUpAndSignIn();
    const results = await Promise.all(Array.from({ length: 20 }, () => wrong(who.email, addr())));
    const tried = results.filter((r) => r.status === 401).length;
    expect(tried).toBe(GUARD_LIMITS.emailCaptchaAfter);
    expect(results.filter((r) => r.status === 403).length).toBe(20 - GUARD_LIMITS.emailCaptchaAfter);
  });

  it("P05 after 10 failures even the right password is throttled with 429 and Retry-After, and the owner gets a notice", async () => {
    const who = await signUpAndSignIn();
    for (let i = 0; i < GUARD_LIMITS.emailThrottleAfter; i++) {
      const r = await wrong(who.email, addr(), { "x-captcha-response": DUMMY_TURNSTILE_TOKEN });
      expect(r.status).toBe(401);
    }
    const throttledBefore = await auditCount("auth.sign_in.throttled");
    const right = await signIn(who.email, who.password, { "cf-connecting-ip": addr(), "x-captcha-response": DUMMY_TURNSTILE_TOKEN });
    expect(right.res.status).toBe(429);
    expect(Number(right.res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(right.cookie).not.toContain("session_token");
    // Audited in the background (waitUntil): poll briefly.
    for (let i = 0; i < 50 && (await auditCount("auth.sign_in.throttled")) === throttledBefore; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await auditCount("auth.sign_in.throttled")).toBe(throttledBefore + 1);
    // The notice is sent in the background (waitUntil); poll the outbox briefly.
    let mail = null;
    for (let i = 0; i < 50 && !mail?.subject.includes("Security notice"); i++) {
      mail = await latestMailTo(who.email);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(mail?.subject).toContain("Security notice");
    // The back-off grows: after it elapses, the next failure doubles the wait.
    const guard = loginGuard(env, `email:${who.email}`);
    const later = Date.now() + 31_000;
    expect((await guard.attemptForEmail(true, later)).decision).toBe("allow");
    const next = await guard.attemptForEmail(true, later + 1000);
    expect(next).toMatchObject({ decision: "throttle" });
    expect((next as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(31);
  });

  it("P05 the throttle is keyed by the submitted email whether or not an account exists, so it reveals nothing", async () => {
    const ghost = `${unique("ghost").toLowerCase()}@example.com`;
    for (let i = 0; i < GUARD_LIMITS.emailCaptchaAfter; i++) expect((await wrong(ghost, addr())).status).toBe(401);
    const r = await wrong(ghost.toUpperCase(), addr());
    expect(r.status).toBe(403);
    expect(((await r.json()) as { code: string }).code).toBe("CAPTCHA_REQUIRED");
  });

  it("P05 one address spraying many emails needs Turnstile after 10 failures and gets 429 after 50", async () => {
    const ip = addr();
    for (let i = 0; i < GUARD_LIMITS.ipCaptchaAfter; i++) expect((await wrong(`${unique("spray").toLowerCase()}@example.com`, ip)).status).toBe(401);
    const r = await wrong(`${unique("spray").toLowerCase()}@example.com`, ip);
    expect(r.status).toBe(403);
    const guard = loginGuard(env, `ip:${addressKeyOf(ip)}`);
    for (let i = 0; i < GUARD_LIMITS.ipThrottleAfter; i++) await guard.attemptForAddress(true);
    const t = await wrong(`${unique("spray").toLowerCase()}@example.com`, ip, { "x-captcha-response": DUMMY_TURNSTILE_TOKEN });
    expect(t.status).toBe(429);
    expect(t.headers.get("retry-after")).toBeTruthy();
  });

  it("P05 password reset is never blocked by the counters, and a completed reset clears the email's streak", async () => {
    const who = await signUpAndSignIn();
    for (let i = 0; i < GUARD_LIMITS.emailThrottleAfter; i++) await wrong(who.email, addr(), { "x-captcha-response": DUMMY_TURNSTILE_TOKEN });
    const res = await sendJson("POST", "/api/auth/request-password-reset", { email: who.email, redirectTo: "/reset-password" }, { "cf-connecting-ip": addr() });
    expect(res.status).toBe(200);
    let mail = null;
    for (let i = 0; i < 50 && !mail?.subject.includes("Reset"); i++) {
      mail = await latestMailTo(who.email);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(mail?.subject).toContain("Reset");
  });
});
