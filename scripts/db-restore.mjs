#!/usr/bin/env node
// `npm run db:restore -- FILE [--database NAME] [--remote] [--env ENV] [--config wrangler.toml]`:
// applies a SQL dump from `db:backup` to a database, then verifies the audit hash chain of the
// result (P18 restore drill). Restore into an EMPTY database (e.g. `wrangler d1 create
// bastion-restore`), check it, then point the worker at it; see docs/operations.md.
// Exit code 0 = restored and chain intact, 1 = chain broken (tampered or damaged backup),
// 2 = the restore itself failed.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { d1Run, targetFromArgs, verifyD1AuditChain } from "./audit-verify.mjs";
import { searchIndexMigration } from "./search-index.mjs";
import { wranglerCommand } from "./wrangler-cli.mjs";

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1]?.startsWith("--") && args[i - 1] !== "--remote"));
if (!file || !existsSync(file)) {
  console.error("usage: npm run db:restore -- FILE [--database NAME] [--remote] [--env ENV] [--config wrangler.toml]");
  process.exit(2);
}
const target = targetFromArgs(args);
const cmd = ["d1", "execute", target.database, target.remote ? "--remote" : "--local", "--file", file, "--yes"];
if (target.envName) cmd.push("--env", target.envName);
if (target.config) cmd.push("--config", target.config);
// A dump holds no search index (D1 cannot export it): build it from the restored catalog.
const search = searchIndexMigration(target.config);
try {
  execFileSync(...wranglerCommand(cmd), { stdio: ["ignore", "pipe", "pipe"] });
  // The index is derived data: on a local database it is built straight on the file (no second wrangler process).
  if (search) d1Run(target, { file: search });
} catch (error) {
  console.error(`restore FAILED: ${String(error.stderr ?? error.message).slice(0, 2000)}`);
  process.exit(2);
}
const verdict = await verifyD1AuditChain(target);
if (!verdict.ok) {
  console.error(`restored, but the audit chain is BROKEN at event ${verdict.brokenAt}: ${verdict.reason}. Do not use this database.`);
  process.exit(1);
}
console.log(`restored ${file} into ${target.database}; audit chain intact (${verdict.count} events, last hash ${verdict.lastHash})`);
