// The journeys of journeys.mjs as @playwright/test tests, in order, in one worker and one browser.
// A journey fails on a broken expectation, on any console error, page error or CSP violation, on
// a page in quirks mode and on a serious or critical axe-core finding (harness.mjs). Journeys
// share a little state (the shopper of 03 is used by 04-06, the paid order of 06 by 10); when a
// journey fails, the ones that need its state fail with that reason.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "@playwright/test";
import { e2eVars, Journey, RESULTS } from "./harness.mjs";
import { journeys } from "./journeys.mjs";

const vars = e2eVars();
// Playwright restarts its worker after a failed journey (and for a retry): the state the journeys
// share (the admin's TOTP secret, the paid order) is kept on disk for this run, so one failure does
// not fail every later journey that needs it.
const STATE_FILE = path.join(RESULTS, `journey-state-${process.env.E2E_RUN_ID ?? "solo"}.json`);
const state = existsSync(STATE_FILE) ? JSON.parse(readFileSync(STATE_FILE, "utf8")) : { admin: { email: vars.ADMIN_EMAIL, password: vars.ADMIN_PASSWORD } };
const SERVER_LOG = path.join(RESULTS, "dev-server.log");

test.beforeAll(async () => {
  // The server answers /readyz before dev.mjs has seeded the dev admin; journey 10 needs the admin.
  test.setTimeout(120_000);
  const deadline = Date.now() + 110_000;
  while (Date.now() < deadline) {
    const log = existsSync(SERVER_LOG) ? readFileSync(SERVER_LOG, "utf8") : "";
    if (/dev admin \S+ (created|ready)/.test(log)) return;
    if (/dev admin was not seeded|seeding the dev admin failed/.test(log)) throw new Error(`the dev admin was not seeded; see ${SERVER_LOG}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the dev admin was not seeded within 110 s; see ${SERVER_LOG}`);
});

for (const [name, journey] of journeys) {
  test(name, async ({ browser }, testInfo) => {
    const t = new Journey(browser, name);
    t.start();
    try {
      await journey(t, state);
      t.assertNoErrors("end of journey");
    } catch (error) {
      if (t.page && !t.page.isClosed()) {
        await t.page.screenshot({ path: `${t.dir}/${String(t.shots + 1).padStart(2, "0")}-FAILED.png`, fullPage: true }).catch(() => {});
      }
      throw error;
    } finally {
      // Plain data only: a live page (04–06 share one) stays in this worker.
      writeFileSync(
        STATE_FILE,
        JSON.stringify(state, (_, v) => (v && typeof v === "object" && ![Object, Array].includes(v.constructor) ? undefined : v)),
      );
      for (const note of t.notes) testInfo.annotations.push({ type: "note", description: note });
      if (t.notes.length) console.log(`  ${name}: ${t.notes.map((n) => `note: ${n}`).join("; ")}`);
      await t.close();
    }
  });
}
