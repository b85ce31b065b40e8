import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { DEV_AUDIT_HMAC_KEY } from "../../src/audit/keys";
import { loadConfig } from "../../src/platform/config";

/** A production env that passes every rule; each test breaks one setting. */
function productionEnv(overrides: Record<string, string | undefined> = {}): Env {
  const live = ["rk", "live", "a".repeat(24)].join("_");
  const whsec = ["whsec", "b".repeat(32)].join("_");
  return {
    ...env,
    ENVIRONMENT: "production",
    PUBLIC_ORIGIN: "https://shop.example.com",
    PAYMENTS_PROVIDER: "stripe",
    STRIPE_SECRET_KEY: live,
    STRIPE_WEBHOOK_SECRET: whsec,
    BETTER_AUTH_SECRET: "p".repeat(48),
    AUDIT_HMAC_KEY: "q".repeat(48),
    WEBHOOK_SECRETS_KEY: "w".repeat(48),
    TURNSTILE_SECRET_KEY: "0x4AAAAAAAproductionSecretKey",
    TURNSTILE_SITE_KEY: "0x4AAAAAAAproductionSiteKey",
    MAIL_PROVIDER_URL: "https://mail.example.net/v1/send",
    MAIL_PROVIDER_TOKEN: "mail-provider-token-for-tests",
    MAIL_FROM: "Bastion <no-reply@shop.example.com>",
    ADMIN_PASSWORD: undefined,
    // The suite's cheap hashing (vitest.config.ts) is one of the settings production refuses.
    PASSWORD_HASH_COST: undefined,
    ...overrides,
  } as unknown as Env;
}

async function fetchAs(e: Env, path = "https://shop.example.com/"): Promise<Response> {
  return worker.fetch(new Request(path), e, createExecutionContext());
}

const UNSAFE: Array<[string, Record<string, string | undefined>]> = [
  ["a Stripe test secret key", { STRIPE_SECRET_KEY: ["sk", "test", "c".repeat(24)].join("_") }],
  ["a Stripe test restricted key", { STRIPE_SECRET_KEY: ["rk", "test", "c".repeat(24)].join("_") }],
  ["a publishable key as secret", { STRIPE_SECRET_KEY: ["pk", "live", "c".repeat(24)].join("_") }],
  ["no Stripe key", { STRIPE_SECRET_KEY: undefined }],
  ["no webhook secret", { STRIPE_WEBHOOK_SECRET: undefined }],
  ["the development webhook secret", { STRIPE_WEBHOOK_SECRET: "whsec_dev_only_simulator_secret_not_for_production" }],
  ["the payment simulator", { PAYMENTS_PROVIDER: "simulator" }],
  ["dev routes switched on", { DEV_ROUTES: "on" }],
  ["the test suite's cheap password hashing", { PASSWORD_HASH_COST: "test-only-fast" }],
  ["a plain-http public origin", { PUBLIC_ORIGIN: "http://shop.example.com" }],
  ["a development auth secret", { BETTER_AUTH_SECRET: "dev-only-better-auth-secret-change-me-0123456789" }],
  ["no audit key", { AUDIT_HMAC_KEY: undefined }],
  ["the development audit key", { AUDIT_HMAC_KEY: "dev-only-audit-hmac-key-not-for-production-0123456789" }],
  ["no webhook secrets key", { WEBHOOK_SECRETS_KEY: undefined }],
  ["the development webhook secrets key", { WEBHOOK_SECRETS_KEY: "dev-only-webhook-secrets-key-not-for-production-0123456789" }],
  ["the test suite's webhook secrets key", { WEBHOOK_SECRETS_KEY: "test-only-webhook-secrets-key-0123456789abcdef" }],
  ["Turnstile's always-pass testing key", { TURNSTILE_SECRET_KEY: "1x0000000000000000000000000000000AA" }],
  ["a seeded admin password", { ADMIN_PASSWORD: "correct-horse-battery-staple-admin" }],
  ["no mail provider (reset and security mail would be lost)", { MAIL_PROVIDER_URL: undefined }],
  ["a plain-http mail provider", { MAIL_PROVIDER_URL: "http://mail.example.net/send" }],
  ["no mail provider token", { MAIL_PROVIDER_TOKEN: undefined }],
  ["the development mail outbox", { MAIL_PROVIDER: "outbox" }],
  ["Cloudflare Email Service without a sender", { MAIL_FROM: undefined, MAIL_PROVIDER: "cloudflare" }],
  ["an unknown shipping country code", { SHIP_TO_COUNTRIES: "US,USA" }],
  ["an unknown tax mode", { STRIPE_TAX: "sometimes" }],
];

describe("mail through Cloudflare Email Service", () => {
  it("a production config with MAIL_PROVIDER=cloudflare needs a sender, not an HTTP provider's URL or token", async () => {
    const e = productionEnv({ MAIL_PROVIDER: "cloudflare", MAIL_PROVIDER_URL: undefined, MAIL_PROVIDER_TOKEN: undefined });
    const loaded = loadConfig(e);
    expect(loaded).toMatchObject({ ok: true, config: { MAIL_PROVIDER: "cloudflare" } });
  });
});

describe("T01 Stripe key scope", () => {
  const fullAccess = ["sk", "live", "d".repeat(24)].join("_");

  it("T01 full-access Stripe key: a production worker with an sk_live_ key refuses every route (503 misconfigured), names the setting, never the key", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const e = productionEnv({ STRIPE_SECRET_KEY: fullAccess });
    for (const path of [
      "https://shop.example.com/",
      "https://shop.example.com/api/checkout",
      "https://shop.example.com/api/webhooks/stripe",
      "https://shop.example.com/readyz",
    ]) {
      const res = await worker.fetch(
        new Request(path, { method: path.endsWith("/") || path.endsWith("readyz") ? "GET" : "POST" }),
        e,
        createExecutionContext(),
      );
      expect(res.status, path).toBe(503);
      const body = await res.text();
      expect(JSON.parse(body), path).toMatchObject({ status: 503, code: "misconfigured" });
      expect(body).not.toContain(fullAccess);
    }
    const logged = errors.mock.calls.map((args) => args.join(" ")).join("\n");
    expect(logged).toContain("STRIPE_SECRET_KEY");
    expect(logged).toContain("rk_live_");
    expect(logged).not.toContain(fullAccess);
    errors.mockRestore();
  });

  it("T01 full-access Stripe key: only a restricted live key (rk_live_) passes the production check", async () => {
    expect((await fetchAs(productionEnv({ STRIPE_SECRET_KEY: ["rk", "live", "e".repeat(24)].join("_") }))).status).toBe(200);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const key of [fullAccess, `live_${"f".repeat(24)}`, ["sk", "live"].join("_")]) {
      expect((await fetchAs(productionEnv({ STRIPE_SECRET_KEY: key }))).status, key.slice(0, 8)).toBe(503);
    }
    errors.mockRestore();
  });
});

describe("health checks", () => {
  it("P17 configuration: /readyz answers 503 misconfigured for an unsafe production config while /healthz (liveness) stays 200", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const e = productionEnv({ PAYMENTS_PROVIDER: "simulator" });
    const ready = await fetchAs(e, "https://shop.example.com/readyz");
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 503, code: "misconfigured" });
    expect((await fetchAs(e, "https://shop.example.com/healthz")).status).toBe(200);
    errors.mockRestore();
  });

  it("P17 configuration: /readyz answers 200 for a safe production config and 503 misconfigured when D1 does not answer", async () => {
    // /readyz also verifies the audit chain; this test's database holds events the development
    // key signed (as one carried over from development would), so that key is a previous one.
    const ok = await fetchAs({ ...productionEnv(), AUDIT_HMAC_KEY_PREVIOUS: DEV_AUDIT_HMAC_KEY } as Env, "https://shop.example.com/readyz");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "ready" });
    expect(ok.headers.get("x-request-id")).toMatch(/^[\w-]+$/);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const broken = { prepare: () => ({ first: () => Promise.reject(new Error("D1_ERROR: unavailable")) }) } as unknown as D1Database;
    const down = await fetchAs({ ...productionEnv(), DB: broken } as Env, "https://shop.example.com/readyz");
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ code: "misconfigured" });
    const logged = errors.mock.calls.map((args) => args.join(" ")).join("\n");
    expect(logged).toContain("d1_unreachable");
    expect(logged).toContain("GET /readyz");
    errors.mockRestore();
  });
});

describe("T02 / P17 production configuration", () => {
  it("P17 configuration: a safe production config serves the shop", async () => {
    const res = await fetchAs(productionEnv());
    expect(res.status).toBe(200);
  });

  for (const [label, overrides] of UNSAFE) {
    it(`T02 test keys in production: ${label} makes every route answer 503 misconfigured without echoing secrets`, async () => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      const e = productionEnv(overrides);
      const secrets = Object.entries(overrides)
        .filter(([k, v]) => v && /KEY|SECRET|PASSWORD/.test(k))
        .map(([, v]) => v!);
      for (const path of [
        "https://shop.example.com/",
        "https://shop.example.com/api/products",
        "https://shop.example.com/api/webhooks/stripe",
        "https://shop.example.com/favicon.svg",
      ]) {
        const res = await fetchAs(e, path);
        expect(res.status, path).toBe(503);
        expect(res.headers.get("content-type")).toContain("application/problem+json");
        const body = await res.text();
        expect(JSON.parse(body)).toMatchObject({ status: 503, code: "misconfigured" });
        for (const value of secrets) expect(body).not.toContain(value);
      }
      // The log names the setting but never its value.
      const logged = errors.mock.calls.map((args) => args.join(" ")).join("\n");
      expect(logged).toMatch(new RegExp(Object.keys(overrides)[0]!));
      for (const value of secrets) expect(logged).not.toContain(value);
      errors.mockRestore();
    });
  }

  it("P17 configuration: development routes are 404 outside development", async () => {
    const res = await fetchAs(productionEnv(), "https://shop.example.com/api/dev/outbox");
    expect(res.status).toBe(404);
    // The development webhook receiver (decision 023) too, for reading and for receiving.
    expect((await fetchAs(productionEnv(), "https://shop.example.com/api/dev/webhook-receiver")).status).toBe(404);
    const post = await worker.fetch(
      new Request("https://shop.example.com/api/dev/webhook-receiver", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"type":"order.paid"}',
      }),
      productionEnv(),
      createExecutionContext(),
    );
    expect(post.status).toBe(404);
  });

  it("T09 transport security: production redirects plain HTTP to HTTPS and sends HSTS", async () => {
    const res = await fetchAs(productionEnv(), "http://shop.example.com/products/x?y=1");
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("https://shop.example.com/products/x?y=1");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=31536000");
  });
});
