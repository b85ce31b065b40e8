import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { FAILED_SIGN_IN_AUDIT } from "../../src/accounts/sign-in";
import { loginGuard } from "../../src/accounts/login-guard";
import { DUMMY_TURNSTILE_TOKEN } from "../../src/accounts/turnstile";
import { addressKeyOf } from "../../src/platform/client-address";
import { describe, expect, it } from "vitest";
import { lastAuditId, auditRowsAfter } from "../support/audit";
import { request, sendJson } from "../support/http";
import { postWebhook } from "../support/stripe";

async function settle(): Promise<void> {
  // Some refusals are audited in the background (waitUntil): give them a moment.
  await new Promise((r) => setTimeout(r, 300));
}

describe("audit log flooding", () => {
  it("T10 audit flooding: 20 unsigned webhooks, 20 forged cart cookies and 70 refused sign-ins from one address write at most 5 audit events of each kind", async () => {
    const ip = "198.51.100.200";
    const before = await lastAuditId();
    for (let i = 0; i < 20; i++) expect((await postWebhook("{}", "t=1,v1=00", { "cf-connecting-ip": ip })).status).toBe(400);
    for (let i = 0; i < 20; i++)
      expect((await request("/api/cart", { headers: { cookie: "__Host-bastion_cart=forged", "cf-connecting-ip": ip } })).status).toBe(200);
    for (let i = 0; i < 70; i++)
      await sendJson(
        "POST",
        "/api/auth/sign-in/email",
        { email: `spray${i}@example.com`, password: "wrong-password-for-spraying" },
        { "cf-connecting-ip": ip },
      );
    await settle();
    const rows = await auditRowsAfter(before);
    const count = (action: string) => rows.filter((r) => r.action === action).length;
    expect(count("payment.webhook_signature_invalid")).toBe(5);
    expect(count("cart.cookie.rejected")).toBe(5);
    // The 10 counted failures are all audited; the refusals after them (captcha, then throttle) are capped.
    expect(count("auth.sign_in.failed")).toBe(10);
    expect(count("auth.sign_in.captcha_required")).toBeLessThanOrEqual(5);
    expect(rows.length).toBeLessThanOrEqual(25);
  }, 60_000);

  it("P05 per-address limits hold across an IPv6 /64: rotating the interface id does not reset them", async () => {
    const prefix = "2001:db8:77:1";
    const statuses: number[] = [];
    for (let i = 1; i <= 12; i++) {
      const res = await sendJson(
        "POST",
        "/api/auth/sign-in/email",
        { email: `v6-${i}@example.com`, password: "wrong-password-for-spraying" },
        { "cf-connecting-ip": `${prefix}::${i.toString(16)}` },
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([403, 403]);
  }, 60_000);

  it("T10 failed sign-in budget: past 10 failures per address in a window, failures are counted into one summary event when the window ends", async () => {
    const ip = "198.51.100.201";
    const before = await lastAuditId();
    const attempts = FAILED_SIGN_IN_AUDIT.max + 5;
    for (let i = 0; i < attempts; i++) {
      // Turnstile passed (the dummy token, loopback development), so the throttle lets them all try.
      const res = await sendJson(
        "POST",
        "/api/auth/sign-in/email",
        { email: `budget${i}@example.com`, password: "wrong-password-for-spraying" },
        { "cf-connecting-ip": ip, "x-captcha-response": DUMMY_TURNSTILE_TOKEN },
      );
      expect(res.status).toBe(401);
    }
    await settle();
    const during = await auditRowsAfter(before);
    expect(during.filter((r) => r.action === "auth.sign_in.failed")).toHaveLength(FAILED_SIGN_IN_AUDIT.max);
    expect(during.filter((r) => r.action === "auth.sign_in.failures_summarised")).toHaveLength(0);
    // The window ends: the address's guard writes one summary with the count it kept.
    expect(await runDurableObjectAlarm(loginGuard(env, `failaudit:${addressKeyOf(ip)}`))).toBe(true);
    const after = await auditRowsAfter(before);
    const summaries = after.filter((r) => r.action === "auth.sign_in.failures_summarised");
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.ip).toBe(ip);
    expect(JSON.parse(summaries[0]!.detail)).toMatchObject({ scope: "address", failures: 5 });
    // Its state is gone: a second alarm writes nothing more.
    await runDurableObjectAlarm(loginGuard(env, `failaudit:${addressKeyOf(ip)}`));
    expect((await auditRowsAfter(before)).length).toBe(after.length);
  }, 60_000);
});
