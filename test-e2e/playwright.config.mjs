// `npm run test:e2e`: the shop's journeys in headless Chromium (Debian's /usr/bin/chromium, or
// CHROMIUM_PATH) against a fresh `npm run dev` with its own port and its own local state
// (.wrangler/e2e-state): the developer's `npm run dev` and its .wrangler/state are never touched,
// and both can run side by side. Screenshots: test-results/<journey>/NN-<step>.png; traces of
// failed journeys: test-results/artifacts/ (`npx playwright show-trace <zip>`); server output:
// test-results/dev-server.log.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "@playwright/test";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const E2E_PORT = Number(process.env.E2E_PORT || 8788);
const chromium = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

// One id per run, inherited by the worker processes: a worker restarted after a failed journey
// reads the journeys' shared state of this run back from disk (journeys.spec.mjs).
process.env.E2E_RUN_ID ||= String(Date.now());

// Checked before anything starts (no server, no state): a missing browser is the commonest failure.
if (!existsSync(chromium)) {
  throw new Error(`e2e: no Chromium at ${chromium}. Install Debian's (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.`);
}

export default defineConfig({
  testDir: ".",
  testMatch: "journeys.spec.mjs",
  outputDir: path.join(ROOT, "test-results", "artifacts"),
  // Journeys run in order in one browser and share a little state (the shopper of 03 is used by
  // 04-06, the paid order of 06 by 10): one worker, in file order.
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 2 : 0,
  // A journey visits up to 14 pages, each screenshotted and checked by axe-core.
  timeout: 180_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"], ["html", { open: "never", outputFolder: path.join(ROOT, "test-results", "report") }]] : [["list"]],
  use: {
    baseURL: `http://localhost:${E2E_PORT}`,
    viewport: { width: 1280, height: 900 },
    actionTimeout: 15_000,
    navigationTimeout: 20_000,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  webServer: {
    // Fresh state every run (its own folder), the e2e vars file (never the developer's .dev.vars).
    command: `mkdir -p test-results && node scripts/dev.mjs --port ${E2E_PORT} --persist-to .wrangler/e2e-state --fresh --env-file test-e2e/e2e.vars > test-results/dev-server.log 2>&1`,
    cwd: ROOT,
    // Ready once the dev admin is seeded: dev.mjs answers /healthz first, then seeds, then prints.
    url: `http://127.0.0.1:${E2E_PORT}/readyz`,
    timeout: 180_000,
    reuseExistingServer: false,
    gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
  },
});
