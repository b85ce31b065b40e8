#!/usr/bin/env node
// `npm test`: the generated-types check, the type check, Biome, the OpenAPI lint and the vitest
// suite. Vitest starts at once and the static checks run beside it (one after another, ~25 s
// together): on 2 cores the suite's first seconds are mostly Vite transforms and workerd start-up,
// so the checks do not add their time in front of it (decision 014). Exits non-zero when any part
// fails; a failed check's output is printed after the suite's.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const env = {
  ...process.env,
  PATH: `${BIN}${path.delimiter}${process.env.PATH}`,
  REDOCLY_TELEMETRY: "off",
  REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
  WRANGLER_SEND_METRICS: "false",
};

/** Runs a command; `capture` keeps its output for later instead of streaming it. */
function run(command, args, { capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit" });
    let out = "";
    if (capture) for (const stream of [child.stdout, child.stderr]) stream.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

const vitestArgs = ["run", ...process.argv.slice(2)];
const suite = run(path.join(BIN, "vitest"), vitestArgs);
const checks = (async () => {
  const results = [];
  for (const [name, command, args] of [
    // worker-configuration.d.ts matches wrangler.toml and the installed workerd's runtime types
    // (`npm run cf-typegen` regenerates it; the flags live in that one script).
    ["wrangler types --check", "npm", ["run", "--silent", "cf-typegen", "--", "--check"]],
    ["tsc --noEmit", path.join(BIN, "tsc"), ["--noEmit"]],
    ["biome ci", path.join(BIN, "biome"), ["ci", "--colors=off"]],
    ["redocly lint", path.join(BIN, "redocly"), ["lint", "openapi/openapi.json"]],
  ]) {
    results.push({ name, ...(await run(command, args, { capture: true })) });
  }
  return results;
})();

const [tests, checked] = await Promise.all([suite, checks]);
const failed = checked.filter((c) => c.code !== 0);
for (const c of failed) console.error(`\n✘ ${c.name} failed:\n${c.out}`);
console.log(`\n${checked.map((c) => `${c.code === 0 ? "✔" : "✘"} ${c.name}`).join("   ")}   ${tests.code === 0 ? "✔" : "✘"} vitest`);
process.exit(tests.code !== 0 || failed.length > 0 ? 1 : 0);
