#!/usr/bin/env node
// `npm run dev [-- --port N] [--persist-to DIR] [--env-file FILE] [--fresh]`: the whole shop,
// offline, with no manual step, one summary line per step (a step's output shows only when it fails):
// 1. .dev.vars from .dev.vars.example when missing (development values only, never secrets);
// 2. the SRI manifest of our scripts and styles (M-004);
// 3. the D1 migrations on the local database; 4. the demo catalog and coupons (idempotent);
// 5. `wrangler dev` in the foreground, and once it answers /healthz, the first admin from
//    ADMIN_EMAIL / ADMIN_PASSWORD through POST /api/dev/seed-admin (a development-only route).
// --port N (default 8787, or $PORT): a loopback PUBLIC_ORIGIN follows it (http://localhost:N).
// --persist-to DIR (default .wrangler/state): where local D1 and Durable Objects live; the browser
// tests use their own (.wrangler/e2e-state). --fresh empties that folder first, and is refused
// for the developer's default .wrangler/state. --env-file FILE: the worker's values (default .dev.vars).
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, parseEnv } from "node:util";
import { seedDemo } from "./seed-demo.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const DEFAULT_STATE = ".wrangler/state";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT || "8787" },
    "persist-to": { type: "string", default: DEFAULT_STATE },
    "env-file": { type: "string", default: ".dev.vars" },
    fresh: { type: "boolean", default: false },
  },
});
const PORT = Number(args.port);
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) {
  console.error(`[dev] --port ${args.port}: not a port number`);
  process.exit(2);
}
const STATE = args["persist-to"];
const BASE = `http://127.0.0.1:${PORT}`;
// node_modules/.bin first: wrangler runs on the `node` devDependency (24) even when the shell's
// node is older. CI=1 keeps wrangler from asking questions (migrations apply, telemetry).
// CLOUDFLARE_CF_FETCH_ENABLED=false: Miniflare's placeholder `request.cf` instead of a download
// from workers.cloudflare.com at every start (offline, that printed two DNS errors).
const env = {
  ...process.env,
  CI: "1",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  FORCE_COLOR: "0",
  PATH: `${BIN}${path.delimiter}${process.env.PATH}`,
};

function step(message) {
  console.log(`\x1b[36m[dev]\x1b[0m ${message}`);
}

/** Runs a step quietly; on failure prints what it said and stops. */
function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { cwd: ROOT, env, encoding: "utf8" });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
    console.error(`[dev] ${path.basename(command)} ${commandArgs.join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
  return result.stdout;
}

// 1. The worker's values.
const defaultVars = path.join(ROOT, ".dev.vars");
const varsFile = path.resolve(ROOT, args["env-file"]);
if (varsFile === defaultVars && !existsSync(defaultVars)) {
  copyFileSync(path.join(ROOT, ".dev.vars.example"), defaultVars);
  chmodSync(defaultVars, 0o600);
  step("created .dev.vars from .dev.vars.example");
}
if (!existsSync(varsFile)) {
  console.error(`[dev] ${args["env-file"]} does not exist`);
  process.exit(2);
}
const vars = parseEnv(readFileSync(varsFile, "utf8"));
// A loopback origin follows the port; wrangler's --var would lose to the file, so the worker gets
// a copy of the file with PUBLIC_ORIGIN set (in the state folder, never committed, mode 0600).
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const configured = URL.canParse(vars.PUBLIC_ORIGIN ?? "") ? new URL(vars.PUBLIC_ORIGIN) : null;
const origin = !configured || LOOPBACK.has(configured.hostname) ? `http://localhost:${PORT}` : configured.origin;
if (args.fresh) {
  if (path.resolve(ROOT, STATE) === path.resolve(ROOT, DEFAULT_STATE)) {
    console.error(`[dev] --fresh empties the state folder: refused for the developer's ${DEFAULT_STATE} (use --persist-to)`);
    process.exit(2);
  }
  rmSync(path.resolve(ROOT, STATE), { recursive: true, force: true });
}
mkdirSync(path.resolve(ROOT, STATE), { recursive: true });
const workerVars = path.resolve(ROOT, STATE, `worker-${PORT}.vars`);
writeFileSync(
  workerVars,
  `${Object.entries({ ...vars, PUBLIC_ORIGIN: origin })
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join("\n")}\n`,
  { mode: 0o600 },
);
step(`values from ${path.relative(ROOT, varsFile)}; PUBLIC_ORIGIN ${origin}; local state in ${STATE}${args.fresh ? " (fresh)" : ""}`);

// 2. Assets.
run(process.execPath, [path.join(ROOT, "scripts", "build-assets.mjs")]);
step("SRI asset manifest built");

// 3. Migrations.
const applied = run(path.join(BIN, "wrangler"), ["d1", "migrations", "apply", "bastion", "--local", "--persist-to", STATE]);
step(/No migrations to apply/i.test(applied) ? "D1 migrations: up to date" : "D1 migrations applied");

// 4. Demo data.
const seeded = seedDemo({ persistTo: STATE });
step(`demo data: ${seeded.products} products${seeded.coupons ? `, ${seeded.coupons} coupons` : " (no coupons table yet: coupons skipped)"}`);

// 5. The worker. Wrangler's banner, bindings table and hotkeys are left out; warnings, errors and
// the worker's own logs still show.
step(`starting wrangler dev on port ${PORT}`);
const child = spawn(
  path.join(BIN, "wrangler"),
  [
    "dev",
    "--port",
    String(PORT),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    STATE,
    "--env-file",
    workerVars,
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
  ],
  { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] },
);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls /healthz, then asks the worker to create the dev admin from its own values. */
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
    if (!ready) await sleep(250);
  }
  if (!ready) {
    step("warning: wrangler dev did not answer /healthz within 2 minutes; dev admin not seeded");
    return;
  }
  // The demo pictures go into the local image bucket the way uploads do (served from /media/).
  try {
    const images = await fetch(`${BASE}/api/dev/demo-images`, { method: "POST", headers: { origin } });
    const body = images.ok ? await images.json().catch(() => ({})) : {};
    if (images.ok && body.moved > 0) step(`demo images: ${body.moved} stored in R2 (bastion-product-images)`);
    else if (!images.ok) step(`warning: storing the demo images failed: ${images.status}`);
  } catch (error) {
    step(`warning: storing the demo images failed: ${error}`);
  }
  try {
    const response = await fetch(`${BASE}/api/dev/seed-admin`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: "{}",
    });
    if (response.status === 404) {
      step("warning: POST /api/dev/seed-admin is not there (404); the dev admin was not seeded");
    } else if (!response.ok) {
      step(`warning: seeding the dev admin failed: ${response.status} ${(await response.text()).slice(0, 200)}`);
    } else {
      const body = await response.json().catch(() => ({}));
      const who = typeof body.email === "string" ? body.email : "ADMIN_EMAIL";
      step(`dev admin ${who} ${body.created ? "created" : "ready"} (password: ADMIN_PASSWORD in ${path.relative(ROOT, varsFile)})`);
      step(`the shop is on ${origin}`);
    }
  } catch (error) {
    step(`warning: seeding the dev admin failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

void seedAdmin();
