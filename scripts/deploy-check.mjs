#!/usr/bin/env node
// `npm run deploy:check`: what `wrangler deploy --env production` would ship, without shipping it.
// 1. `wrangler deploy --dry-run --env production --outdir <tmp>`: the production bundle builds and
//    its bindings resolve; 2. `npm run doctor`: the production config is safe (P17);
// 3. no placeholder left in the production config (the example database id, an example.com
//    origin): those fail, not warn; 4. a summary with the gzipped bundle size (issue 7: < 1 MiB).
// Exit code 1 when anything fails.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { unstable_readConfig } from "wrangler";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const env = { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", PATH: `${BIN}${path.delimiter}${process.env.PATH}` };
const LIMIT_KIB = 1024;

function run(label, command, args) {
  console.log(`\x1b[36m[deploy:check]\x1b[0m ${label}`);
  const result = spawnSync(command, args, { cwd: ROOT, env, encoding: "utf8" });
  process.stdout.write(result.stdout ?? "");
  process.stderr.write(result.stderr ?? "");
  return result.status === 0;
}

/**
 * The production environment as `wrangler deploy --env production` sees it: wrangler's own config
 * reader (TOML, JSON or JSONC; `[env.production]` with the top-level keys it inherits), not a
 * text match on wrangler.toml. Throws when the file is invalid or has no `[env.production]`.
 */
export function productionConfig(configPath) {
  const config = unstable_readConfig({ config: configPath, env: "production" }, { hideWarnings: true });
  // Without any [env.*] wrangler only warns and deploys the top level under `--env production`.
  if (!config.definedEnvironments?.includes("production")) throw new Error(`${configPath} has no [env.production]`);
  return config;
}

/** Placeholders that must be replaced before a production deploy; each names its setting. */
export function placeholderProblems(prod) {
  const problems = [];
  for (const { database_id: value } of prod.d1_databases ?? []) {
    if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(value ?? "") || !/^[0-9a-f-]{36}$/i.test(value ?? ""))
      problems.push(`database_id ${value} is a placeholder: run \`npx wrangler d1 create bastion\` and put its id in [[env.production.d1_databases]]`);
  }
  const origin = prod.vars?.PUBLIC_ORIGIN;
  if (typeof origin !== "string") problems.push("PUBLIC_ORIGIN is not set in [env.production.vars]");
  else if (!URL.canParse(origin) || /(^|\.)example\.(com|net|org)$|^localhost$|^127\./.test(new URL(origin).hostname)) {
    problems.push(`PUBLIC_ORIGIN ${origin} is a placeholder: set your shop's https:// origin in [env.production.vars]`);
  }
  return problems;
}

if (import.meta.url !== `file://${process.argv[1]}`) {
  // imported by a test: only the functions above
} else {
  const outdir = mkdtempSync(path.join(tmpdir(), "bastion-deploy-check-"));
  const checks = [];
  let placeholders;
  try {
    placeholders = placeholderProblems(productionConfig(path.join(ROOT, "wrangler.toml")));
  } catch (error) {
    placeholders = [`wrangler.toml does not read as a production config: ${error.message}`];
  }
  console.log(`\x1b[36m[deploy:check]\x1b[0m placeholders in wrangler.toml [env.production]`);
  for (const problem of placeholders) console.log(`  ${problem}`);
  checks.push({
    what: `no placeholder in the production config${placeholders.length ? ` (${placeholders.length} found)` : ""}`,
    ok: placeholders.length === 0,
  });
  try {
    const built = run("wrangler deploy --dry-run --env production", path.join(BIN, "wrangler"), [
      "deploy",
      "--dry-run",
      "--env",
      "production",
      "--outdir",
      outdir,
    ]);
    checks.push({ what: "production bundle builds (wrangler deploy --dry-run --env production)", ok: built });
    if (built) {
      const files = readdirSync(outdir).filter((f) => /\.(m?js|wasm)$/.test(f));
      const raw = files.reduce((sum, f) => sum + statSync(path.join(outdir, f)).size, 0);
      const gz = files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(outdir, f)), { level: 9 }).length, 0);
      const kib = gz / 1024;
      checks.push({
        what: `worker bundle ${kib.toFixed(0)} KiB gzipped (${(raw / 1024).toFixed(0)} KiB raw, ${files.join(", ")}) < ${LIMIT_KIB} KiB`,
        ok: kib < LIMIT_KIB,
      });
    }
    const doctor = run("npm run doctor", "npm", ["run", "--silent", "doctor"]);
    checks.push({ what: "npm run doctor: no unsafe production setting", ok: doctor });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }

  console.log("\ndeploy:check summary");
  for (const c of checks) console.log(`  ${c.ok ? "ok  " : "FAIL"}  ${c.what}`);
  const failed = checks.filter((c) => !c.ok).length;
  console.log(failed ? `\n${failed} check(s) failed: do not deploy.` : "\nready to deploy (run `npx wrangler deploy --env production`).");
  process.exit(failed ? 1 : 0);
}
