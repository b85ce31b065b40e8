#!/usr/bin/env node
// `npm run db:backup [-- --remote] [--database NAME] [--env ENV] [--config wrangler.toml] [--out DIR]`:
// exports D1 (schema and data) to backups/<database>-<local|remote>-<UTC timestamp>.sql
// (backups/ is gitignored: a dump holds personal data; store it encrypted, see docs/operations.md).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { d1Run, targetFromArgs } from "./audit-verify.mjs";
import { dropSearchIndexSql, searchIndexMigration } from "./search-index.mjs";
import { wranglerCommand } from "./wrangler-cli.mjs";

const args = process.argv.slice(2);
const target = targetFromArgs(args);
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : "backups";
mkdirSync(outDir, { recursive: true, mode: 0o700 });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const file = path.join(outDir, `${target.database}-${target.remote ? "remote" : "local"}-${stamp}.sql`);

const where = [target.remote ? "--remote" : "--local"];
if (target.envName) where.push("--env", target.envName);
if (target.config) where.push("--config", target.config);
const d1 = (args) => execFileSync(...wranglerCommand(["d1", ...args, target.database, ...where]), { stdio: ["ignore", "pipe", "inherit"] });

// D1 cannot export a database holding the FTS5 search index (scripts/search-index.mjs): drop it
// for the export, build it again afterwards whatever happened. Search answers from the catalog
// meanwhile without the index (src/catalog/search.ts falls back to a substring match).
const search = searchIndexMigration(target.config);
let failed = false;
try {
  // Dropping and rebuilding the index run on a local file directly (no wrangler process each).
  if (search) d1Run(target, { sql: dropSearchIndexSql(search) });
  d1(["export", "--output", file]);
} catch (error) {
  console.error(`backup FAILED: ${error.message}`);
  failed = true;
} finally {
  if (search) {
    try {
      d1Run(target, { file: search });
    } catch (error) {
      console.error(`the search index could not be rebuilt: run \`wrangler d1 execute ${target.database} --file ${search}\` (${error.message})`);
      failed = true;
    }
  }
}
if (failed) process.exit(1);
console.log(file);
