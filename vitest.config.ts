import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { experimental_readRawConfig, type Unstable_RawConfig, type Unstable_RawEnvironment } from "wrangler";

const root = import.meta.dirname;

/** Keys whose values are paths relative to the config file that `rebased` does not move yet. */
const UNREBASED_PATH_KEYS: Array<keyof Unstable_RawConfig> = ["build", "site", "rules", "alias", "wasm_modules", "text_blobs", "data_blobs", "containers"];

/** One environment of a raw config with its paths made absolute (they are relative to `base`). */
function rebased<E extends Unstable_RawEnvironment>(env: E, base: string, where: string): E {
  const unhandled = UNREBASED_PATH_KEYS.filter((key) => (env as Unstable_RawConfig)[key] !== undefined);
  if (unhandled.length) throw new Error(`vitest.config.ts: ${where} sets ${unhandled.join(", ")}; make their paths absolute in rebased()`);
  const abs = (p: string): string => path.resolve(base, p);
  return {
    ...env,
    ...(env.main && { main: abs(env.main) }),
    ...(env.base_dir && { base_dir: abs(env.base_dir) }),
    ...(env.tsconfig && { tsconfig: abs(env.tsconfig) }),
    ...(env.assets?.directory && { assets: { ...env.assets, directory: abs(env.assets.directory) } }),
    ...(env.d1_databases && {
      d1_databases: env.d1_databases.map((db) => (db.migrations_dir ? { ...db, migrations_dir: abs(db.migrations_dir) } : db)),
    }),
  };
}

/**
 * The worker's config for tests: wrangler.toml as wrangler reads it, written as JSON into a folder
 * of its own. Wrangler reads `.dev.vars` (or `.env`) from the folder of the config it is given,
 * so the copy keeps a developer's local secrets and origin out of the tests: `npm test` behaves
 * the same on every machine (decision 014). The copy is made from wrangler's parsed config (not
 * by editing the text), with its paths made absolute.
 */
function wranglerConfigForTests(): string {
  const dir = path.join(root, "node_modules", ".cache", "bastion-test-config");
  mkdirSync(dir, { recursive: true });
  const { rawConfig, configPath } = experimental_readRawConfig({ config: path.join(root, "wrangler.toml") });
  const base = path.dirname(configPath ?? path.join(root, "wrangler.toml"));
  const config: Unstable_RawConfig = {
    ...rebased(rawConfig, base, "wrangler.toml"),
    ...(rawConfig.env && {
      env: Object.fromEntries(Object.entries(rawConfig.env).map(([name, env]) => [name, rebased(env, base, `[env.${name}]`)])),
    }),
  };
  const file = path.join(dir, "wrangler.json");
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/**
 * Libraries pre-bundled by esbuild once per run (Vite's dependency optimizer) instead of being
 * transformed and fetched module by module in every test file: better-auth alone is hundreds of
 * modules. Pre-bundling also drops stripe's shipped source maps, which point to files the
 * package does not ship (Vite warned about each of them).
 */
const PREBUNDLED = [
  "better-auth",
  "better-auth/minimal",
  "better-auth/adapters/drizzle",
  "better-auth/api",
  "better-auth/plugins/admin",
  "better-auth/plugins/two-factor",
  "@better-auth/core/context",
  "@better-auth/core/utils/ip",
  "@better-auth/passkey",
  "drizzle-orm",
  "drizzle-orm/d1",
  "drizzle-orm/sqlite-core",
  "hono",
  "hono/cookie",
  "hono/factory",
  "hono/http-exception",
  "hono/jsx",
  "hono/jsx/jsx-runtime",
  "hono/jsx/jsx-dev-runtime",
  "@hono/zod-openapi",
  "@hono/zod-validator",
  "stripe",
  "uqr",
  "zod",
  "fast-check",
];

/**
 * Test files that read or change state shared by the whole database (every audit event, every
 * user, whole-table snapshots, triggers that make writes fail): each runs in a fresh worker with
 * its own storage. Every other file builds its own data with factories and shares one worker and
 * one storage with the files before it, which saves a workerd start and a module graph per file.
 */
const ISOLATED = [
  "test/audit/**/*.test.ts", // tampers with the one audit chain, then verifies it
  // Staff files that read whole tables or global state: the users list and last-admin check, the
  // audit page, the order desk (its migration test takes tables back to an older shape), stray
  // payments (every one), settings (one row for the shop), image bucket listings, shipping-rate
  // counts, the product import report, the staff product and coupon lists (first pages),
  // the staff product list at its maximum, the audit page, and
  // access/staff pages that list everything. The other
  // staff files build and read only their own rows and share the "workers" project (decision 014).
  "test/admin/access.test.ts",
  // Issue 32 (decision 031): the shop's name and default currency (the one settings row), image
  // bucket listings, product counts, and audit rows of any order around a refused bulk shipment.
  "test/admin/bulk-ship-api.test.ts",
  "test/admin/product-form.test.ts",
  "test/admin/product-images.test.ts",
  "test/admin/shop-name-mails.test.ts",
  "test/admin/audit-fail-closed.test.ts",
  "test/admin/bound-parameters.test.ts",
  "test/admin/coupons.test.ts",
  "test/admin/images.test.ts",
  "test/admin/last-admin.test.ts",
  "test/admin/order-desk.test.ts",
  "test/admin/pages.test.ts",
  "test/admin/product-imports.test.ts",
  "test/admin/products.test.ts",
  "test/admin/refund-desk.test.ts",
  "test/admin/settings.test.ts",
  "test/admin/shipping-rates.test.ts",
  "test/admin/staff-pages.test.ts",
  "test/admin/stray-payments.test.ts",
  "test/admin/users.test.ts",
  "test/faults/**/*.test.ts", // installs triggers that make order writes fail
  "test/fuzz/api-bodies.test.ts", // snapshots whole tables around every request (fuzz/money builds and reads only its own rows)
  "test/migrations/**/*.test.ts", // drop every table and replay the migrations on an older shape
];

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  const wranglerConfig = wranglerConfigForTests();
  const workersProject = (name: string, files: { include: string[]; exclude: string[] }, isolate: boolean) => ({
    // Everything about the shop runs inside workerd, with real D1 and Durable Objects.
    plugins: [
      cloudflareTest({
        wrangler: { configPath: wranglerConfig },
        miniflare: {
          // Test-only bindings: the migrations (applied in test/setup.ts) and dev-only secrets.
          // The network is closed to tests: every outbound fetch (Stripe, Turnstile, Pwned
          // Passwords, mail) answers 503 unless a test intercepts it with vi.spyOn(fetch).
          outboundService: (req: Request) =>
            new URL(req.url).hostname === "api.pwnedpasswords.com"
              ? new Response("0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n", { status: 200 }) // documented range format, no match
              : new Response("offline in tests", { status: 503 }),
          bindings: {
            TEST_MIGRATIONS: migrations,
            // Pinned here, not read from wrangler.toml's [vars] or a .dev.vars.
            ENVIRONMENT: "development",
            PUBLIC_ORIGIN: "http://localhost:8787",
            PAYMENTS_PROVIDER: "simulator",
            STRIPE_WEBHOOK_SECRET: "whsec_test_only_webhook_secret_for_vitest",
            BETTER_AUTH_SECRET: "test-only-better-auth-secret-0123456789abcdef",
            ADMIN_EMAIL: "admin@bastion.test",
            ADMIN_PASSWORD: "correct-horse-battery-staple-admin",
            TURNSTILE_SECRET_KEY: "1x0000000000000000000000000000000AA",
            TURNSTILE_SITE_KEY: "1x00000000000000000000AA",
            // Encrypts webhook signing secrets at rest (a test-only value production refuses).
            WEBHOOK_SECRETS_KEY: "test-only-webhook-secrets-key-0123456789abcdef",
            // The suite signs up hundreds of accounts: scrypt at N=2^10, p=1 instead of N=2^14,
            // p=5 (refused in production; test/accounts/password.test.ts holds the real cost).
            PASSWORD_HASH_COST: "test-only-fast",
          },
        },
      }),
    ],
    test: {
      name,
      // Sign-in and sign-up cost a real scrypt hash each (decision 003): attack tests that
      // sign in many times need more than vitest's 5 s default on a loaded 2-core machine.
      testTimeout: 30_000,
      setupFiles: ["./test/setup.ts"],
      isolate,
      ...files,
      deps: {
        optimizer: {
          // Runtime modules (node:*, cloudflare:*) stay imports: workerd provides them.
          ssr: { enabled: true, include: PREBUNDLED, rolldownOptions: { external: [/^node:/, /^cloudflare:/, /^workerd:/] } },
        },
      },
    },
  });
  return {
    test: {
      // Vitest's default on 2 cores is 1 worker (cores − 1): everything in a row. Three keep both
      // cores busy: the tooling checks mostly wait for the wrangler processes they start, and the
      // two workerd projects fill the cores meanwhile (decision 014: 202 s with 2 workers, 162 s
      // with 3, same machine and suite). VITEST_MAX_WORKERS overrides it.
      maxWorkers: 3,
      projects: [
        workersProject("workers", { include: ["test/**/*.test.{ts,tsx}"], exclude: ["test/tooling/**", ...ISOLATED] }, false),
        workersProject("workers-isolated", { include: ISOLATED, exclude: [] }, true),
        {
          // Repository checks that read files (threat register, SRI manifest, secret scan): Node.
          // They start node and wrangler processes: generous timeouts for a busy 2-core machine.
          test: { name: "tooling", environment: "node", include: ["test/tooling/**/*.test.ts"], testTimeout: 60_000 },
        },
      ],
    },
  };
});
