import { describe, expect, it } from "vitest";
import { getAs, jsonAs, signUpAndSignIn } from "../support/accounts";
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
    const res = await getAs(who.cookie, "/api/auth/passkey/generate-register-options");
    expect(res.status).toBe(200);
    const options = (await res.json()) as { rp: { id: string; name: string }; challenge: string; user: { name: string } };
    expect(options.rp).toMatchObject({ id: "localhost", name: "Bastion" });
    expect(options.challenge.length).toBeGreaterThanOrEqual(22);
    expect(options.user.name).toBe(who.email);
  });
});
