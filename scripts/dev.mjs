#!/usr/bin/env node
// `npm run dev`: the whole shop on http://127.0.0.1:8787, offline, with no manual step.
// 1. .dev.vars from .dev.vars.example when missing (development values only, never secrets);
// 2. the SRI manifest of our scripts and styles (M-004);
// 3. the D1 migrations on the local database; 4. the demo catalog and coupons (idempotent);
// 5. `wrangler dev` in the foreground, and once it answers /healthz, the first admin from
//    ADMIN_EMAIL / ADMIN_PASSWORD through POST /api/dev/seed-admin (a development-only route).
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { seedDemo } from "./seed-demo.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const PORT = 8787;
const BASE = `http://127.0.0.1:${PORT}`;
// node_modules/.bin first: wrangler runs on the `node` devDependency (24) even when the shell's
// node is older. CI=1 keeps wrangler from asking questions (migrations apply, telemetry).
const env = { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", PATH: `${BIN}${path.delimiter}${process.env.PATH}` };

function step(message) {
  console.log(`\x1b[36m[dev]\x1b[0m ${message}`);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: ROOT, env, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`[dev] ${path.basename(command)} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

const devVars = path.join(ROOT, ".dev.vars");
if (!existsSync(devVars)) {
  copyFileSync(path.join(ROOT, ".dev.vars.example"), devVars);
  chmodSync(devVars, 0o600);
  step("created .dev.vars from .dev.vars.example");
}

step("building the SRI asset manifest");
run(process.execPath, [path.join(ROOT, "scripts", "build-assets.mjs")]);

step("applying D1 migrations to the local database");
run(path.join(BIN, "wrangler"), ["d1", "migrations", "apply", "bastion", "--local"]);

step("seeding demo data");
const seeded = seedDemo();
step(`demo data: ${seeded.products} products${seeded.coupons ? `, ${seeded.coupons} coupons` : " (no coupons table yet: coupons skipped)"}`);

step(`starting wrangler dev on ${BASE}`);
const child = spawn(path.join(BIN, "wrangler"), ["dev", "--port", String(PORT), "--ip", "127.0.0.1"], { cwd: ROOT, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls /healthz, then asks the worker to create the dev admin from its own .dev.vars. */
async function seedAdmin() {
  const deadline = Date.now() + 120_000;
  let ready = false;
  while (!ready && Date.now() < deadline) {
    if (child.exitCode !== null) return;
    try {
      ready = (await fetch(`${BASE}/healthz`)).ok;
    } catch {
      // not listening yet
    }
    if (!ready) await sleep(500);
  }
  if (!ready) {
    step("warning: wrangler dev did not answer /healthz within 2 minutes; dev admin not seeded");
    return;
  }
  try {
    const response = await fetch(`${BASE}/api/dev/seed-admin`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:8787" },
      body: "{}",
    });
    if (response.status === 404) {
      step("warning: POST /api/dev/seed-admin is not there (404); the dev admin was not seeded");
    } else if (!response.ok) {
      step(`warning: seeding the dev admin failed: ${response.status} ${(await response.text()).slice(0, 200)}`);
    } else {
      const body = await response.json().catch(() => ({}));
      const who = typeof body.email === "string" ? body.email : "ADMIN_EMAIL";
      step(`dev admin ${who} ${body.created ? "created" : "ready"} (password: ADMIN_PASSWORD in .dev.vars)`);
      step(`the shop is on http://localhost:${PORT}`);
    }
  } catch (error) {
    step(`warning: seeding the dev admin failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

void seedAdmin();
