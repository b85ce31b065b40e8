#!/usr/bin/env node
// `npm run db:backup [-- --remote] [--database NAME] [--env ENV] [--config wrangler.toml] [--out DIR]`:
// exports D1 (schema and data) to backups/<database>-<local|remote>-<UTC timestamp>.sql
// (backups/ is gitignored: a dump holds personal data; store it encrypted, see docs/operations.md).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { targetFromArgs } from "./audit-verify.mjs";
import { wranglerCommand } from "./wrangler-cli.mjs";

const args = process.argv.slice(2);
const target = targetFromArgs(args);
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : "backups";
mkdirSync(outDir, { recursive: true, mode: 0o700 });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const file = path.join(outDir, `${target.database}-${target.remote ? "remote" : "local"}-${stamp}.sql`);

const cmd = ["d1", "export", target.database, target.remote ? "--remote" : "--local", "--output", file];
if (target.envName) cmd.push("--env", target.envName);
if (target.config) cmd.push("--config", target.config);
try {
  execFileSync(...wranglerCommand(cmd), { stdio: ["ignore", "pipe", "inherit"] });
} catch (error) {
  console.error(`backup FAILED: ${error.message}`);
  process.exit(1);
}
console.log(file);
