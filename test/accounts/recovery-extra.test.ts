import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAs, jsonAs, signIn, signUpAndSignIn } from "../support/accounts";
import { sendJson } from "../support/http";

async function resetTokenFor(email: string): Promise<string> {
  expect((await sendJson("POST", "/api/auth/request-password-reset", { email, redirectTo: "/reset-password" })).status).toBe(200);
  for (let i = 0; i < 50; i++) {
    const row = await env.DB.prepare("SELECT text FROM mail_outbox WHERE \"to\" = ? AND subject LIKE 'Reset%' ORDER BY id DESC LIMIT 1")
      .bind(email)
      .first<{ text: string }>();
    const token = row && /reset-password\/([A-Za-z0-9_-]+)/.exec(row.text)?.[1];
    if (token) return token;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("no reset mail");
}

describe("recovery edge cases", () => {
  it("P09 an expired reset token is refused and the password stays the same", async () => {
    const who = await signUpAndSignIn();
    const token = await resetTokenFor(who.email);
    // Age every reset token of the shop past its 20 minutes.
    await env.DB.prepare("UPDATE verification SET expires_at = expires_at - 1300000").run();
    const res = await sendJson("POST", "/api/auth/reset-password", { newPassword: "expired-token-new-passphrase-1", token });
    expect(res.status).toBe(400);
    expect((await signIn(who.email, who.password)).res.status).toBe(200);
    expect((await signIn(who.email, "expired-token-new-passphrase-1")).res.status).toBe(401);
  });

  it("P09 a reset token works only for the account it was sent to", async () => {
    const alice = await signUpAndSignIn();
    const bob = await signUpAndSignIn();
    const token = await resetTokenFor(alice.email);
    const res = await sendJson("POST", "/api/auth/reset-password", { newPassword: "only-alice-changes-here-42", token });
    expect(res.status).toBe(200);
    expect((await signIn(bob.email, bob.password)).res.status).toBe(200);
    expect((await signIn(bob.email, "only-alice-changes-here-42")).res.status).toBe(401);
    expect((await signIn(alice.email, "only-alice-changes-here-42")).res.status).toBe(200);
  });

  it("P16 mass assignment: role, emailVerified and twoFactorEnabled in a profile update are ignored", async () => {
    const who = await signUpAndSignIn();
    const res = await jsonAs(who.cookie, "POST", "/api/auth/update-user", {
      name: "New Name",
      role: "admin",
      emailVerified: true,
      twoFactorEnabled: true,
      banned: false,
    });
    expect([200, 400]).toContain(res.status);
    const row = await env.DB.prepare("SELECT role, email_verified, two_factor_enabled FROM user WHERE id = ?")
      .bind(who.user.id)
      .first<{ role: string; email_verified: number; two_factor_enabled: number }>();
    expect(row).toMatchObject({ role: "customer", email_verified: 0, two_factor_enabled: 0 });
    expect(((await (await getAs(who.cookie, "/api/me")).json()) as { user: { role: string } }).user.role).toBe("customer");
  });
});
