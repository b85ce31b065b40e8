import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      projects: [
        {
          // Everything about the shop runs inside workerd, with real D1 and Durable Objects.
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
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
                  STRIPE_WEBHOOK_SECRET: "whsec_test_only_webhook_secret_for_vitest",
                  BETTER_AUTH_SECRET: "test-only-better-auth-secret-0123456789abcdef",
                  ADMIN_EMAIL: "admin@bastion.test",
                  ADMIN_PASSWORD: "correct-horse-battery-staple-admin",
                  TURNSTILE_SECRET_KEY: "1x0000000000000000000000000000000AA",
                  TURNSTILE_SITE_KEY: "1x00000000000000000000AA",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            // Sign-in and sign-up cost a real scrypt hash each (decision 003): attack tests that
            // sign in many times need more than vitest's 5 s default on a loaded 2-core machine.
            testTimeout: 30_000,
            setupFiles: ["./test/setup.ts"],
            include: ["test/**/*.test.{ts,tsx}"],
            exclude: ["test/tooling/**"],
          },
        },
        {
          // Repository checks that read files (threat register, SRI manifest, secret scan): Node.
          test: { name: "tooling", environment: "node", include: ["test/tooling/**/*.test.ts"] },
        },
      ],
    },
  };
});
