#!/usr/bin/env node
// `npm run test:e2e`: the shop's main journeys in headless Chromium against a fresh `npm run dev`.
// Screenshots: test-results/<journey>/NN-<step>.png; server output: test-results/dev-server.log.
// A journey fails on a broken expectation and on any console error, page error or CSP violation.
// Journeys run in order and share a little state (the shopper of 03 is used by 04-06, the paid
// order of 06 by 10); when a journey fails, the ones that need its state fail with that reason.
import { BASE, Journey, launchBrowser, readDevVars, startServer, stopServer } from "./harness.mjs";
import { journeys } from "./journeys.mjs";

const only = process.argv.slice(2); // `npm run test:e2e -- 07 08`: only journeys whose name holds one of these
const JOURNEY_TIMEOUT_MS = 90_000;
const started = Date.now();
let server = null;
let browser = null;
const results = [];

// The server runs in its own process group (so it can be ended as a whole), which Ctrl-C in the
// terminal does not reach: stop it ourselves on SIGINT/SIGTERM.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    console.log(`\ne2e: ${signal}: stopping the dev server`);
    await browser?.close().catch(() => {});
    await stopServer(); // the spawned server, even while it is still starting
    process.exit(130);
  });
}

async function main() {
  console.log("e2e: starting the dev server (fresh local state)…");
  server = await startServer();
  console.log(`e2e: server ready in ${((Date.now() - started) / 1000).toFixed(1)} s on ${BASE}`);
  const vars = readDevVars();
  if (vars.PUBLIC_ORIGIN !== BASE) throw new Error(`.dev.vars has PUBLIC_ORIGIN=${vars.PUBLIC_ORIGIN}; the browser tests need ${BASE} (the CSRF check compares Origin with it)`);
  browser = await launchBrowser();
  const state = { admin: { email: vars.ADMIN_EMAIL, password: vars.ADMIN_PASSWORD } };
  for (const [name, fn] of journeys) {
    if (only.length && !only.some((o) => name.includes(o))) continue;
    const t = new Journey(browser, name);
    t.notes = [];
    t.start();
    const t0 = Date.now();
    try {
      // A journey that hangs (a fetch that never answers, say) fails instead of stalling the run.
      let timer;
      const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${JOURNEY_TIMEOUT_MS / 1000} s`)), JOURNEY_TIMEOUT_MS)));
      await Promise.race([fn(t, state), timeout]).finally(() => clearTimeout(timer));
      t.assertNoErrors("end of journey");
      results.push({ name, ok: true, ms: Date.now() - t0, notes: t.notes });
      console.log(`  ✔ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${t.notes.map((n) => `\n      note: ${n}`).join("")}`);
    } catch (error) {
      if (t.page) await t.page.screenshot({ path: `${t.dir}/${String(t.shots + 1).padStart(2, "0")}-FAILED.png`, fullPage: true }).catch(() => {});
      const message = error instanceof Error ? error.message : String(error);
      results.push({ name, ok: false, ms: Date.now() - t0, error: message, notes: t.notes });
      console.log(`  ✘ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n      ${message.split("\n").join("\n      ")}${t.notes.map((n) => `\n      note: ${n}`).join("")}`);
    } finally {
      await t.close();
    }
  }
}

let fatal = null;
try {
  await main();
} catch (error) {
  fatal = error;
} finally {
  await browser?.close().catch(() => {});
  await stopServer();
}

const failed = results.filter((r) => !r.ok);
console.log(`\ne2e: ${results.length - failed.length} passed, ${failed.length} failed, in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in test-results/`);
for (const r of failed) console.log(`  FAILED ${r.name}: ${r.error.split("\n")[0]}`);
if (fatal) console.log(`  FATAL: ${fatal instanceof Error ? fatal.message : String(fatal)}`);
process.exit(fatal || failed.length || results.length === 0 ? 1 : 0);
