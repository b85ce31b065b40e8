import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { request, sendJson } from "../support/http";
import { cookiesFrom, getAs, jsonAs, markEmailVerified, signIn, signUpAndSignIn, STRONG_PASSWORD } from "../support/accounts";
import { unique } from "../support/factories";

describe("sign-up, sessions and /api/me", () => {
  it("signs a shopper up as a customer with a __Host- session cookie and answers /api/me", async () => {
    const who = await signUpAndSignIn();
    expect(who.cookie).toMatch(/__Host-bastion\.session_token=/);
    const me = await getAs(who.cookie, "/api/me");
    expect(me.status).toBe(200);
    const body = (await me.json()) as { user: { email: string; role: string; twoFactorEnabled: boolean } };
    expect(body.user).toMatchObject({ email: who.email, role: "customer", twoFactorEnabled: false });
  });

  it("sets the session cookie Secure, HttpOnly, SameSite=Lax, Path=/ and without Domain", async () => {
    const email = `${unique("c").toLowerCase()}@example.com`;
    await sendJson("POST", "/api/auth/sign-up/email", { email, password: STRONG_PASSWORD, name: "C" });
    const res = await sendJson("POST", "/api/auth/sign-in/email", { email, password: STRONG_PASSWORD });
    const line = res.headers.getSetCookie().find((l) => l.startsWith("__Host-bastion.session_token="))!;
    expect(line).toMatch(/;\s*Secure/i);
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).toMatch(/;\s*SameSite=Lax/i);
    expect(line).toMatch(/;\s*Path=\//i);
    expect(line).not.toMatch(/Domain=/i);
  });

  it("answers 401 problem+json to /api/me without a session", async () => {
    const res = await request("/api/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("unauthenticated");
  });

  it("P05 user enumeration via sign-up: an existing email gets the same answer as a new one, no session, and the owner is told", async () => {
    const who = await signUpAndSignIn();
    const fresh = `${unique("new").toLowerCase()}@example.com`;
    const existing = await sendJson("POST", "/api/auth/sign-up/email", { email: who.email, password: "attacker-chosen-password-123", name: "Mallory" });
    const brandNew = await sendJson("POST", "/api/auth/sign-up/email", { email: fresh, password: "attacker-chosen-password-123", name: "Mallory" });
    expect(existing.status).toBe(200);
    expect(brandNew.status).toBe(200);
    expect(await existing.text()).toBe(await brandNew.text());
    expect(existing.headers.getSetCookie().some((c) => c.includes("session_token="))).toBe(false);
    // The account is untouched: the attacker's password does not work, the owner's still does.
    expect((await signIn(who.email, "attacker-chosen-password-123")).res.status).toBe(401);
    expect((await signIn(who.email, who.password)).res.status).toBe(200);
    const row = await env.DB.prepare("SELECT name FROM user WHERE email = ?").bind(who.email).first<{ name: string }>();
    expect(row!.name).toBe("Test Shopper");
  });

  it("P16 mass assignment: role in the sign-up body is ignored; every new account is a customer", async () => {
    const email = `${unique("mass").toLowerCase()}@example.com`;
    const res = await sendJson("POST", "/api/auth/sign-up/email", {
      email,
      password: STRONG_PASSWORD,
      name: "M",
      role: "admin",
      emailVerified: true,
      twoFactorEnabled: true,
    });
    expect([200, 400]).toContain(res.status);
    const row = await env.DB.prepare("SELECT role, email_verified, two_factor_enabled FROM user WHERE email = ?")
      .bind(email)
      .first<{ role: string; email_verified: number; two_factor_enabled: number }>();
    if (row) expect(row).toMatchObject({ role: "customer", email_verified: 0, two_factor_enabled: 0 });
  });

  it("P08 session fixation: every sign-in issues a brand-new token and sign-out kills the session server-side", async () => {
    const who = await signUpAndSignIn();
    const first = await signIn(who.email, who.password);
    const second = await signIn(who.email, who.password);
    expect(first.res.status).toBe(200);
    const token = (c: string) => /__Host-bastion\.session_token=([^;]+)/.exec(c)?.[1];
    expect(token(first.cookie)).toBeTruthy();
    expect(token(first.cookie)).not.toBe(token(second.cookie));
    expect(token(first.cookie)).not.toBe(token(who.cookie));
    const out = await jsonAs(first.cookie, "POST", "/api/auth/sign-out", {});
    expect(out.status).toBe(200);
    // Replaying the old cookie after sign-out: the server no longer knows the session.
    expect((await getAs(first.cookie, "/api/me")).status).toBe(401);
    expect((await getAs(second.cookie, "/api/me")).status).toBe(200);
  });

  it("P08 a forged or tampered session cookie is refused", async () => {
    const who = await signUpAndSignIn();
    // The token's last two characters changed (to "yy" when they already were "xx": never the same cookie).
    const tampered = who.cookie.replace(/session_token=([^;.]+)/, (_m, t: string) => `session_token=${t.slice(0, -2)}${t.endsWith("xx") ? "yy" : "xx"}`);
    expect(tampered).not.toBe(who.cookie);
    expect((await getAs(tampered, "/api/me")).status).toBe(401);
    expect((await getAs("__Host-bastion.session_token=forged.signature", "/api/me")).status).toBe(401);
  });

  it("P08 a valid token signed with another key, or a session past its expiry, is refused", async () => {
    const who = await signUpAndSignIn();
    const signed = decodeURIComponent(/__Host-bastion\.session_token=([^;]+)/.exec(who.cookie)![1]!);
    const token = signed.slice(0, signed.lastIndexOf("."));
    // The real token with a well-formed HMAC under a key that is not the server's.
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("not-the-server-secret-but-long-enough-0123"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(token)));
    const forged = `__Host-bastion.session_token=${encodeURIComponent(`${token}.${btoa(String.fromCharCode(...mac))}`)}`;
    expect((await getAs(forged, "/api/me")).status).toBe(401);
    expect((await getAs(who.cookie, "/api/me")).status).toBe(200);
    // The same genuine cookie once the session row has expired.
    await env.DB.prepare("UPDATE session SET expires_at = ? WHERE user_id = ?")
      .bind(Date.now() - 1000, who.user.id)
      .run();
    expect((await getAs(who.cookie, "/api/me")).status).toBe(401);
  });

  it("P08 two session cookies in one header: the first one counts, as for better-auth's own endpoints", async () => {
    const who = await signUpAndSignIn();
    const genuine = /__Host-bastion\.session_token=[^;]+/.exec(who.cookie)![0];
    const junk = "__Host-bastion.session_token=j{u}nk";
    expect((await getAs(`${junk}; ${genuine}`, "/api/me")).status).toBe(401);
    expect((await getAs(`${genuine}; ${junk}`, "/api/me")).status).toBe(200);
  });

  it("signs out everywhere: revoke-sessions kills every session of the user", async () => {
    const who = await signUpAndSignIn();
    const other = await signIn(who.email, who.password);
    const res = await jsonAs(who.cookie, "POST", "/api/auth/revoke-sessions", {});
    expect(res.status).toBe(200);
    expect((await getAs(other.cookie, "/api/me")).status).toBe(401);
    expect((await getAs(who.cookie, "/api/me")).status).toBe(401);
  });

  it("uses cookiesFrom to keep a jar", () => {
    const res = new Response(null, {
      headers: [
        ["set-cookie", "a=1; Path=/"],
        ["set-cookie", "b=2; Path=/"],
      ],
    });
    expect(cookiesFrom(res, "c=3")).toBe("c=3; a=1; b=2");
  });
});

describe("fresh sign-in for sensitive changes", () => {
  it("P08 a stolen older session cannot add a passkey or change the email without signing in again", async () => {
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id); // so that freshness, not verification, is what refuses
    // Age the session in D1 as if it were 11 minutes old.
    await env.DB.prepare("UPDATE session SET created_at = created_at - 660000 WHERE user_id = ?").bind(who.user.id).run();
    const register = await getAs(who.cookie, "/api/auth/passkey/generate-register-options");
    expect(register.status).toBe(403);
    expect(((await register.json()) as { code: string }).code).toBe("SESSION_NOT_FRESH");
    const change = await jsonAs(who.cookie, "POST", "/api/auth/change-email", { newEmail: `${unique("x").toLowerCase()}@example.com` });
    expect(change.status).toBe(403);
    const row = await env.DB.prepare("SELECT email FROM user WHERE id = ?").bind(who.user.id).first<{ email: string }>();
    expect(row!.email).toBe(who.email);
  });
});
