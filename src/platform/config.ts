import { z } from "zod";

/**
 * The worker's configuration, checked once per isolate by a zod schema.
 * Development and test get safe local defaults; production must be explicit and safe.
 */
const baseSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "production"]),
  PUBLIC_ORIGIN: z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin),
  PAYMENTS_PROVIDER: z.enum(["stripe", "simulator"]).default("simulator"),
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** During rotation, a second webhook signing secret that is also accepted. */
  STRIPE_WEBHOOK_SECRET_PREVIOUS: z.string().min(1).optional(),
  /** Comma-separated list of addresses allowed to call the webhook (M-010); empty = any. */
  STRIPE_WEBHOOK_IPS: z.string().optional(),
  BETTER_AUTH_SECRET: z.string().min(32).optional(),
  TURNSTILE_SECRET_KEY: z.string().min(1).optional(),
  TURNSTILE_SITE_KEY: z.string().min(1).optional(),
  /**
   * Where the mail queue's consumer sends: the D1 dev outbox, an HTTP provider (URL + token), or
   * Cloudflare Email Service through the `send_email` binding EMAIL. Production: http unless set.
   */
  MAIL_PROVIDER: z.enum(["outbox", "http", "cloudflare"]).optional(),
  MAIL_PROVIDER_URL: z.url().optional(),
  MAIL_PROVIDER_TOKEN: z.string().min(1).optional(),
  MAIL_FROM: z.string().min(3).optional(),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  /** Signs the audit chain (HMAC-SHA-256; the database never sees it). Development has a default. */
  AUDIT_HMAC_KEY: z.string().min(32).optional(),
  /** Encrypts outbound webhook signing secrets at rest (AES-GCM, decision 023). Development has a default. */
  WEBHOOK_SECRETS_KEY: z.string().min(32).optional(),
  /** Retired audit keys, comma separated, so events they signed still verify after a rotation. */
  AUDIT_HMAC_KEY_PREVIOUS: z.string().optional(),
  /** Development routes (outbox, payment simulator). Only ever on outside production. */
  DEV_ROUTES: z.enum(["on", "off"]).optional(),
  /**
   * The password hash's cost. `test-only-fast` (scrypt N=2^10, p=1) exists for the test suite,
   * which signs up hundreds of accounts; production refuses it. Unset means the full cost.
   */
  PASSWORD_HASH_COST: z.enum(["standard", "test-only-fast"]).optional(),
  /**
   * Countries the shop ships to (ISO 3166-1 alpha-2, comma separated): Stripe Checkout collects a
   * shipping address in one of them, and the webhook refuses an address elsewhere.
   */
  SHIP_TO_COUNTRIES: z
    .string()
    .default("US")
    .transform((v) => [...new Set(v.split(",").map((c) => c.trim().toUpperCase()))].filter((c) => c !== ""))
    .pipe(z.array(z.string().regex(/^[A-Z]{2}$/, "two-letter country codes")).min(1)),
  /** Stripe Tax: `automatic` turns on `automatic_tax` in Checkout; tax then comes only from Stripe. */
  STRIPE_TAX: z.enum(["off", "automatic"]).default("off"),
  /**
   * `cloudflare`: uploaded product images are offered in several widths through Cloudflare Image
   * Transformations (`/cdn-cgi/image/…`, enable it on the zone first); `off`: one size.
   */
  IMAGE_RESIZING: z.enum(["off", "cloudflare"]).default("off"),
  /** A single-currency shop names its currency (ISO 4217): products, rates and carts in any other are refused. */
  SHOP_CURRENCY: z
    .string()
    .regex(/^[A-Za-z]{3}$/)
    .transform((v) => v.toUpperCase())
    .optional(),
});

export type Config = z.infer<typeof baseSchema> & { devRoutes: boolean };

/** A setting that makes a production worker unsafe; `setting` never contains a secret value. */
export interface ConfigProblem {
  setting: string;
  reason: string;
}

const TEST_KEY = /^(sk|rk|pk)_test_/;
const TURNSTILE_TESTING_SECRET = /^[123]x0000000000000000000000000000000AA$/;

/** Whether an origin is this machine (localhost, 127.0.0.1, [::1]). */
export function isLoopbackOrigin(origin: string): boolean {
  return ["localhost", "127.0.0.1", "[::1]"].includes(new URL(origin).hostname);
}
/** T01: a leaked key can do only what Bastion needs, so production takes a restricted key only. */
const RESTRICTED_LIVE_KEY = /^rk_live_/;
const FULL_ACCESS_LIVE_KEY = /^sk_live_/;

/** Rules that only production enforces: every one of them names the setting, never its value. */
function productionProblems(cfg: z.infer<typeof baseSchema>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (cfg.PAYMENTS_PROVIDER !== "stripe") {
    problems.push({ setting: "PAYMENTS_PROVIDER", reason: "the payment simulator is refused in production" });
  }
  if (!cfg.STRIPE_SECRET_KEY) {
    problems.push({ setting: "STRIPE_SECRET_KEY", reason: "missing" });
  } else if (TEST_KEY.test(cfg.STRIPE_SECRET_KEY)) {
    problems.push({ setting: "STRIPE_SECRET_KEY", reason: "a Stripe test-mode key is refused in production" });
  } else if (FULL_ACCESS_LIVE_KEY.test(cfg.STRIPE_SECRET_KEY)) {
    problems.push({
      setting: "STRIPE_SECRET_KEY",
      reason: "a full-access Stripe secret key (sk_live_) is refused in production: use a restricted key (rk_live_)",
    });
  } else if (!RESTRICTED_LIVE_KEY.test(cfg.STRIPE_SECRET_KEY)) {
    problems.push({ setting: "STRIPE_SECRET_KEY", reason: "not a Stripe live restricted key (rk_live_)" });
  }
  for (const name of ["STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_PREVIOUS"] as const) {
    const v = cfg[name];
    if (name === "STRIPE_WEBHOOK_SECRET" && !v) problems.push({ setting: name, reason: "missing" });
    else if (v && (!v.startsWith("whsec_") || v.includes("dev_only"))) {
      problems.push({ setting: name, reason: "not a Stripe webhook signing secret" });
    }
  }
  if (!cfg.PUBLIC_ORIGIN.startsWith("https://")) {
    problems.push({ setting: "PUBLIC_ORIGIN", reason: "must be an https:// origin" });
  }
  if (!cfg.BETTER_AUTH_SECRET || cfg.BETTER_AUTH_SECRET.startsWith("dev-only")) {
    problems.push({ setting: "BETTER_AUTH_SECRET", reason: "missing or a development value" });
  }
  if (!cfg.TURNSTILE_SECRET_KEY || TURNSTILE_TESTING_SECRET.test(cfg.TURNSTILE_SECRET_KEY)) {
    problems.push({ setting: "TURNSTILE_SECRET_KEY", reason: "missing or Cloudflare's testing key" });
  }
  if (!cfg.AUDIT_HMAC_KEY || cfg.AUDIT_HMAC_KEY.startsWith("dev-only")) {
    problems.push({ setting: "AUDIT_HMAC_KEY", reason: "missing or a development value" });
  }
  if (!cfg.WEBHOOK_SECRETS_KEY || /^(dev|test)-only/.test(cfg.WEBHOOK_SECRETS_KEY)) {
    problems.push({ setting: "WEBHOOK_SECRETS_KEY", reason: "missing or a development value" });
  }
  if (cfg.PASSWORD_HASH_COST === "test-only-fast") {
    problems.push({ setting: "PASSWORD_HASH_COST", reason: "the test suite's cheap password hashing is refused in production" });
  }
  if (cfg.DEV_ROUTES === "on") {
    problems.push({ setting: "DEV_ROUTES", reason: "development routes are refused in production" });
  }
  // Password reset and security notices must reach people: the dev outbox does not exist here.
  if (cfg.MAIL_PROVIDER === "outbox") problems.push({ setting: "MAIL_PROVIDER", reason: "the development outbox is refused in production" });
  // Cloudflare Email Service needs only the binding and a sender; an HTTP provider its URL and token.
  if (cfg.MAIL_PROVIDER !== "cloudflare") {
    if (!cfg.MAIL_PROVIDER_URL?.startsWith("https://")) {
      problems.push({ setting: "MAIL_PROVIDER_URL", reason: "missing or not https://" });
    }
    if (!cfg.MAIL_PROVIDER_TOKEN) problems.push({ setting: "MAIL_PROVIDER_TOKEN", reason: "missing" });
  }
  if (!cfg.MAIL_FROM) problems.push({ setting: "MAIL_FROM", reason: "missing" });
  if (cfg.ADMIN_PASSWORD) {
    problems.push({ setting: "ADMIN_PASSWORD", reason: "development-only; create admins with npm run admin:create" });
  }
  return problems;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

// The parsed config depends only on the env object, which is stable for an isolate's lifetime,
// so it is memoised per env object (not per request, and never shared across different envs).
const parsed = new WeakMap<object, ConfigResult>();

/** Parses and checks the worker env once; a production env with an unsafe setting is refused. */
export function loadConfig(env: object): ConfigResult {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = parseConfig(env);
  parsed.set(env, result);
  return result;
}

function parseConfig(env: object): ConfigResult {
  const raw = baseSchema.safeParse(env);
  if (!raw.success) {
    return {
      ok: false,
      problems: raw.error.issues.map((i) => ({
        setting: i.path.join(".") || "env",
        reason: i.code === "invalid_type" ? "missing or wrong type" : "invalid value",
      })),
    };
  }
  const cfg = raw.data;
  if (cfg.ENVIRONMENT === "production") {
    const problems = productionProblems(cfg);
    if (problems.length > 0) return { ok: false, problems };
  }
  // API.md: development routes exist only when ENVIRONMENT=development.
  // A development build deployed by mistake to a real origin still hides the outbox and the
  // payment simulator: dev routes also need a loopback PUBLIC_ORIGIN.
  const loopback = isLoopbackOrigin(cfg.PUBLIC_ORIGIN);
  // The dummy Turnstile token works only on a loopback origin in development (turnstile.ts): a
  // staging worker on a real origin without a real secret would have no captcha, so it fails here.
  if (!loopback && (!cfg.TURNSTILE_SECRET_KEY || TURNSTILE_TESTING_SECRET.test(cfg.TURNSTILE_SECRET_KEY))) {
    return { ok: false, problems: [{ setting: "TURNSTILE_SECRET_KEY", reason: "missing or Cloudflare's testing key on a non-loopback origin" }] };
  }
  const devRoutes = cfg.ENVIRONMENT === "development" && cfg.DEV_ROUTES !== "off" && loopback;
  return { ok: true, config: { ...cfg, devRoutes } };
}
