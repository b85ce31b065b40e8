#!/usr/bin/env node
// `npm run bench:capacity [-- --ms 3000] [--writers 1,16,64] [--rounds 3] [--no-write]`: the
// ceiling, in operations per second on this machine, of each resource a flash sale queues on
// (issue 18, docs/capacity.md): one cart object, one coupon ledger (reserve + commit), the
// AuditLog object (one append) and the D1 primary's conditional stock decrement. The real
// objects and migrations run under Miniflare from Node with a fresh local state (never your dev
// data), driven from inside workerd by bench/capacity-worker.ts. Medians over rounds; the table
// goes into docs/capacity.md between its markers unless --no-write.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { applyMigrations, buildProbeWorker, ROOT } from "./support.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const MS = Number(opt("ms", "3000"));
const WRITERS = opt("writers", "1,16,64").split(",").map(Number);
const ROUNDS = Number(opt("rounds", "3"));
const KINDS = opt("kinds", "cart,coupon,audit,stock").split(",");
const WRITE = !args.includes("--no-write");
const LABELS = {
  cart: "one cart object: set a line's quantity, priced (`setQuantityPriced`)",
  coupon: "one coupon ledger with a total limit: reserve + commit",
  audit: "the AuditLog object: one append (hash chain, group commit)",
  stock: "D1 primary: conditional stock decrement (`stock >= 1`)",
};

const bundle = await buildProbeWorker("capacity-worker.ts");
const persist = mkdtempSync(path.join(os.tmpdir(), "bastion-capacity-"));
const mf = new Miniflare(
  convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: "index.js", contents: bundle }],
    compatibilityDate: "2026-11-01",
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: { DB: "capacity" },
    r2Buckets: { AUDIT_ANCHORS: "capacity-anchors" },
    durableObjects: {
      AUDIT_LOG: { className: "AuditLog", useSQLite: true },
      CART: { className: "CartObject", useSQLite: true },
      COUPON: { className: "CouponObject", useSQLite: true },
    },
    bindings: { ENVIRONMENT: "development" },
    d1Persist: path.join(persist, "d1"),
    r2Persist: path.join(persist, "r2"),
    durableObjectsPersist: path.join(persist, "do"),
  }),
);
const started = Date.now();
try {
  const db = await mf.getD1Database("DB");
  await applyMigrations(db);
  const ready = await mf.dispatchFetch("http://capacity/prepare");
  if (!ready.ok) throw new Error(`prepare: ${ready.status} ${await ready.text()}`);
  const results = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of KINDS) {
      for (const writers of WRITERS) {
        const res = await mf.dispatchFetch(`http://capacity/run?kind=${kind}&writers=${writers}&ms=${MS}`);
        const r = await res.json();
        if (r.failed) console.warn(`${kind}: ${r.failed} operations failed at ${writers} writers (${r.firstError})`);
        const key = `${kind}:${writers}`;
        results[key] = [...(results[key] ?? []), r.perSecond];
        console.log(`round ${round + 1}: ${kind}, ${writers} callers: ${r.perSecond.toFixed(0)} ops/s (${r.done} in ${r.seconds}s)`);
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cpu = os.cpus();
  const md = [
    `Run ${new Date().toISOString()} · ${cpu.length} × ${cpu[0]?.model ?? "unknown"} · Node ${process.version} · Miniflare (one workerd process) · ${MS / 1000} s per cell, median of ${ROUNDS} rounds · \`npm run bench:capacity\``,
    "",
    `| resource | ${WRITERS.map((w) => `${w} caller${w === 1 ? "" : "s"}`).join(" | ")} |`,
    `|---|${WRITERS.map(() => "---:").join("|")}|`,
    ...KINDS.map((k) => `| ${LABELS[k]} | ${WRITERS.map((w) => `${median(results[`${k}:${w}`]).toFixed(0)} ops/s`).join(" | ")} |`),
  ].join("\n");
  console.log(`\n${md}\n`);
  writeFileSync(
    path.join(ROOT, "bench", "capacity-results.json"),
    `${JSON.stringify({ date: new Date().toISOString(), ms: MS, rounds: ROUNDS, results }, null, 2)}\n`,
  );
  const docs = path.join(ROOT, "docs", "capacity.md");
  if (WRITE) {
    const text = readFileSync(docs, "utf8");
    const [start, end] = ["<!-- capacity:start -->", "<!-- capacity:end -->"];
    if (text.includes(start) && text.includes(end)) {
      writeFileSync(docs, `${text.slice(0, text.indexOf(start) + start.length)}\n${md}\n${text.slice(text.indexOf(end))}`);
      console.log("docs/capacity.md updated");
    }
  }
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await mf.dispose();
  rmSync(persist, { recursive: true, force: true });
}
