#!/usr/bin/env node
// `node bench/audit-appends.mjs [--ms 4000] [--writers 1,16,64] [--rounds 3] [--before <commit>]`: appends per second
// of the audit chain (issue 19) at 1, 16 and 64 concurrent writers. The real AuditLog object
// (src/audit/audit-log.ts) runs under Miniflare from Node, with a fresh local D1 database holding
// the migrations, so neither your dev data nor the shop's routes are involved: the figure is the
// chain's own ceiling. Each cell is the median over rounds; the table is printed, not written.
// `--before <commit>` measures that commit's src/audit/audit-log.ts instead (e.g. 343806b, the
// object before group commit), so before and after can be run back to back on the same machine.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { applyMigrations, buildProbeWorker, ROOT } from "./support.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const MS = Number(opt("ms", "4000"));
const WRITERS = opt("writers", "1,16,64").split(",").map(Number);
const ROUNDS = Number(opt("rounds", "3"));

const BEFORE = opt("before", null);
// The old object is written next to the current one (its relative imports must resolve), built, removed.
const beforeFile = path.join(ROOT, "src", "audit", `.bench-before-audit-log.ts`);
if (BEFORE) writeFileSync(beforeFile, execFileSync("git", ["show", `${BEFORE}:src/audit/audit-log.ts`], { cwd: ROOT, encoding: "utf8" }));
const swapObject = {
  name: "audit-log-before",
  setup(b) {
    b.onResolve({ filter: /src\/audit\/audit-log$/ }, () => ({ path: beforeFile }));
  },
};
const bundle = await buildProbeWorker("audit-worker.ts", BEFORE ? [swapObject] : []).finally(() => BEFORE && rmSync(beforeFile, { force: true }));
const persist = mkdtempSync(path.join(os.tmpdir(), "bastion-audit-bench-"));
const mf = new Miniflare(
  convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: "index.js", contents: bundle }],
    compatibilityDate: "2026-11-01",
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: { DB: "bench" },
    r2Buckets: { AUDIT_ANCHORS: "bench-anchors" },
    durableObjects: { AUDIT_LOG: { className: "AuditLog", useSQLite: true } },
    bindings: { ENVIRONMENT: "development" },
    d1Persist: path.join(persist, "d1"),
    r2Persist: path.join(persist, "r2"),
    durableObjectsPersist: path.join(persist, "do"),
  }),
);
try {
  const db = await mf.getD1Database("DB");
  await applyMigrations(db);
  const results = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const writers of WRITERS) {
      const res = await mf.dispatchFetch(`http://bench/run?writers=${writers}&ms=${MS}`);
      const r = await res.json();
      if (r.failed) console.warn(`${r.failed} appends failed at ${writers} writers`);
      results[writers] ??= [];
      results[writers].push(r.perSecond);
      console.log(`round ${round + 1}: ${writers} writers: ${r.perSecond.toFixed(0)} appends/s (${r.done} in ${r.seconds}s)`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`\n${BEFORE ? `before (${BEFORE})` : "current"}`);
  console.log(`\n| writers | appends/s (median of ${ROUNDS}) |\n|---|---|`);
  for (const writers of WRITERS) console.log(`| ${writers} | ${median(results[writers]).toFixed(0)} |`);
} finally {
  await mf.dispose();
  rmSync(persist, { recursive: true, force: true });
}
