import { describe, expect, it } from "vitest";
import { getAs, jsonAs, markEmailVerified, signUpAndSignIn } from "../support/accounts";
import { request } from "../support/http";

describe("account pages", () => {
  it("renders sign-in, sign-up, forgot and reset pages with the account script pinned by SRI", async () => {
    for (const path of ["/sign-in", "/sign-up", "/forgot-password", "/reset-password?token=abcdefghijklmnopqrstuv"]) {
      const res = await request(path);
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(html).toMatch(/<script src="\/assets\/account\.js\?v=[^"]+" integrity="sha384-/);
      expect(html).toContain("data-auth-form");
    }
  });

  it("allows Cloudflare Turnstile's script only on the sign-in page", async () => {
    expect((await request("/sign-in")).headers.get("content-security-policy")).toContain("https://challenges.cloudflare.com");
    expect((await request("/sign-up")).headers.get("content-security-policy")).not.toContain("challenges.cloudflare.com");
  });

  it("sends guests from /account to sign-in and shows a signed-in shopper their security settings", async () => {
    const guest = await request("/account", { redirect: "manual" });
    expect(guest.status).toBe(303);
    expect(guest.headers.get("location")).toBe("/sign-in?next=/account");
    const who = await signUpAndSignIn();
    const page = await getAs(who.cookie, "/account");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(who.email);
    expect(html).toContain("Add a passkey");
  });

  it("escapes a hostile name and email on the account page (P03)", async () => {
    const who = await signUpAndSignIn({ name: "<script>alert(1)</script>" });
    const html = await (await getAs(who.cookie, "/account")).text();
    expect(html).not.toContain("<script>alert(1)</script>");
  });

  it("draws the authenticator QR code for the signed-in user only", async () => {
    const who = await signUpAndSignIn();
    const ok = await jsonAs(who.cookie, "POST", "/api/me/totp-qr", { totpURI: "otpauth://totp/Bastion:a?secret=JBSWY3DPEHPK3PXP&issuer=Bastion" });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { svg: string }).svg).toContain("<svg");
    expect((await jsonAs("", "POST", "/api/me/totp-qr", { totpURI: "otpauth://totp/x?secret=A" })).status).toBe(401);
    expect((await jsonAs(who.cookie, "POST", "/api/me/totp-qr", { totpURI: "javascript:alert(1)" })).status).toBe(422);
  });

  it("P07 passkeys are bound to the shop's origin: registration options name the configured RP id", async () => {
    const who = await signUpAndSignIn();
    await markEmailVerified(who.user.id); // passkeys need a verified address (decision 012)
    const res = await getAs(who.cookie, "/api/auth/passkey/generate-register-options");
    expect(res.status).toBe(200);
    const options = (await res.json()) as { rp: { id: string; name: string }; challenge: string; user: { name: string } };
    expect(options.rp).toMatchObject({ id: "localhost", name: "Bastion" });
    expect(options.challenge.length).toBeGreaterThanOrEqual(22);
    expect(options.user.name).toBe(who.email);
  });
});

describe("sessions on the account page", () => {
  it("P08 lists the shopper's sessions and revokes another device's session; another user's session id is not revocable", async () => {
    const { signIn } = await import("../support/accounts");
    const { env } = await import("cloudflare:workers");
    const who = await signUpAndSignIn();
    const laptop = await signIn(who.email, who.password);
    const stranger = await signUpAndSignIn();
    const strangerSession = await env.DB.prepare("SELECT id FROM session WHERE user_id = ?").bind(stranger.user.id).first<{ id: string }>();
    const html = await (await getAs(who.cookie, "/account")).text();
    expect(html).toContain("This device");
    const ids = [...html.matchAll(/\/account\/sessions\/([A-Za-z0-9_-]+)\/revoke/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThanOrEqual(1);
    // Trying to revoke a stranger's session through the same form changes nothing.
    const attempt = await request(`/account/sessions/${strangerSession!.id}/revoke`, {
      method: "POST",
      headers: { cookie: who.cookie, origin: "http://localhost:8787" },
      redirect: "manual",
    });
    expect(attempt.status).toBe(303);
    expect((await getAs(stranger.cookie, "/api/me")).status).toBe(200);
    for (const id of ids) {
      await request(`/account/sessions/${id}/revoke`, { method: "POST", headers: { cookie: who.cookie, origin: "http://localhost:8787" }, redirect: "manual" });
    }
    expect((await getAs(laptop.cookie, "/api/me")).status).toBe(401);
    expect((await getAs(who.cookie, "/api/me")).status).toBe(200);
  });
});
