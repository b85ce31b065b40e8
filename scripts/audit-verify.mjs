#!/usr/bin/env node
// `npm run audit:verify [-- --remote] [--database NAME] [--env ENV] [--config wrangler.toml] (local state lives next to the config)`: reads
// audit_events from D1 through wrangler and checks the hash chain with the same pure function the
// worker uses (src/audit/chain.ts). Exit code 0 = intact, 1 = broken, 2 = could not read.
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { CHAIN_START, HEAD_MISMATCH_ACTION, RESTORED_ACTION, verifyAuditRows } from "../src/audit/chain.ts";

const PAGE = 1000;

/** Runs one read-only query through wrangler and returns its rows. */
export function d1Query({ database = "bastion", remote = false, envName = null, config = null }, sql) {
  const cmd = ["wrangler", "d1", "execute", database, remote ? "--remote" : "--local", "--json", "--command", sql];
  if (envName) cmd.push("--env", envName);
  if (config) cmd.push("--config", config);
  const out = execFileSync("npx", cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out)[0]?.results ?? [];
}

/**
 * Verifies the audit chain of a D1 database (local or remote).
 * @returns {Promise<{ ok: true, count: number, lastHash: string } | { ok: false, brokenAt: number, reason: string }>}
 */
export async function verifyD1AuditChain(target) {
  let position = CHAIN_START;
  // Losses the AuditLog object recorded (`audit.head_mismatch`) that no later `audit.restored`
  // names in its `explains`, by id, in order.
  const openLosses = new Map();
  for (;;) {
    const rows = d1Query(
      target,
      `SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash FROM audit_events WHERE id > ${Number(position.lastId)} ORDER BY id LIMIT ${PAGE}`,
    );
    if (rows.length === 0) {
      const openLoss = [...openLosses.values()].at(-1);
      if (openLoss) {
        let expectedId = Number(openLoss.id);
        try {
          const detail = JSON.parse(openLoss.detail);
          if (typeof detail.expectedId === "number") expectedId = detail.expectedId;
        } catch {
          // An unreadable detail still marks the loss.
        }
        return { ok: false, brokenAt: expectedId, reason: `event ${openLoss.id} records that event ${expectedId} was lost or replaced, and no audit.restored event explains it (docs/operations.md)` };
      }
      return { ok: true, count: position.count, lastHash: position.lastHash };
    }
    const verdict = await verifyAuditRows(rows, position);
    if (!verdict.ok) return verdict;
    for (const row of rows) {
      if (row.action === HEAD_MISMATCH_ACTION) openLosses.set(Number(row.id), row);
      else if (row.action === RESTORED_ACTION) {
        try {
          openLosses.delete(Number(JSON.parse(row.detail).explains));
        } catch {
          // An explanation that does not parse explains nothing.
        }
      }
    }
    position = verdict.position;
  }
}

/** Reads `--name value` options shared by the recovery scripts. */
export function targetFromArgs(args) {
  const option = (name) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : null;
  };
  return { database: option("--database") ?? "bastion", remote: args.includes("--remote"), envName: option("--env"), config: option("--config") };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const target = targetFromArgs(process.argv.slice(2));
  let verdict;
  try {
    verdict = await verifyD1AuditChain(target);
  } catch (error) {
    console.error(`could not read audit_events from D1 (${target.remote ? "remote" : "local"} ${target.database}): ${error.stderr ?? error.message}`);
    process.exit(2);
  }
  if (!verdict.ok) {
    console.error(`audit chain BROKEN at event ${verdict.brokenAt}: ${verdict.reason}`);
    process.exit(1);
  }
  console.log(`audit chain intact: ${verdict.count} events, last hash ${verdict.lastHash}`);
}
