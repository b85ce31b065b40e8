#!/usr/bin/env node
// `npm run audit:verify [-- --remote] [--database NAME] [--bucket NAME] [--env ENV] [--config wrangler.toml] (local state lives next to the config)`: reads
// audit_events from D1 and the newest checkpoint from R2 through wrangler, and checks the keyed
// chain with the same pure functions the worker uses (src/audit/chain.ts). The key comes from the
// environment: AUDIT_HMAC_KEY (and AUDIT_HMAC_KEY_PREVIOUS, comma separated, for retired keys);
// locally, when unset, from .dev.vars next to the config, else the development key.
// Exit code 0 = intact, 1 = broken (the problem's code is printed), 2 = could not read.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { parseEnv } from "node:util";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { wranglerCommand } from "./wrangler-cli.mjs";
import { anchorProblem, CHAIN_START, DEV_AUDIT_HMAC_KEY, HEAD_MISMATCH_ACTION, importAuditKeys, RESTORED_ACTION, verifyAuditRows } from "../src/audit/chain.ts";

/** Events past the newest checkpoint before it counts as stale (src/audit/verify.ts: STALE_AFTER_EVENTS). */
const STALE_AFTER_EVENTS = 200;

const PAGE = 1000;

/**
 * The local D1 database file of a project (`.wrangler/state/v3/d1/…` next to its config), when
 * there is exactly one: the file `wrangler d1 execute --local` itself reads. Null otherwise
 * (remote, no local state yet, or several databases), and the query goes through wrangler.
 */
function localD1File(config) {
  const dir = path.join(config ? path.dirname(config) : process.cwd(), ".wrangler", "state", "v3", "d1", "miniflare-D1DatabaseObject");
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  return files.length === 1 ? path.join(dir, files[0]) : null;
}

/**
 * Runs SQL that changes the database (a script of statements): locally straight on the database
 * file (node:sqlite: no wrangler process, decision 014), else through `wrangler d1 execute`.
 * For derived data only (the search index); restores of a dump always go through wrangler.
 */
export function d1Run({ database = "bastion", remote = false, envName = null, config = null }, { sql, file }) {
  const local = remote || envName ? null : localD1File(config);
  if (local) {
    const db = new DatabaseSync(local);
    try {
      db.exec(sql ?? readFileSync(file, "utf8"));
    } finally {
      db.close();
    }
    return;
  }
  const cmd = ["d1", "execute", database, remote ? "--remote" : "--local", "--yes", ...(file ? ["--file", file] : ["--command", sql])];
  if (envName) cmd.push("--env", envName);
  if (config) cmd.push("--config", config);
  execFileSync(...wranglerCommand(cmd), { stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Runs one read-only query and returns its rows: locally straight from the database file
 * (node:sqlite, read-only: no wrangler process per page, decision 014), else through wrangler.
 */
export function d1Query({ database = "bastion", remote = false, envName = null, config = null }, sql) {
  const file = remote || envName ? null : localD1File(config);
  if (file) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return db
        .prepare(sql)
        .all()
        .map((row) => ({ ...row }));
    } finally {
      db.close();
    }
  }
  const cmd = ["d1", "execute", database, remote ? "--remote" : "--local", "--json", "--command", sql];
  if (envName) cmd.push("--env", envName);
  if (config) cmd.push("--config", config);
  const out = execFileSync(...wranglerCommand(cmd), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out)[0]?.results ?? [];
}

/** The audit keys: from the environment, else (local only) .dev.vars next to the config, else the development key. */
export async function keysFromEnv(target, environment = process.env) {
  let current = environment.AUDIT_HMAC_KEY?.trim();
  let previous = environment.AUDIT_HMAC_KEY_PREVIOUS ?? "";
  if (!current && !target.remote) {
    const devVars = path.join(target.config ? path.dirname(target.config) : process.cwd(), ".dev.vars");
    const vars = existsSync(devVars) ? parseEnv(readFileSync(devVars, "utf8")) : {};
    current = vars.AUDIT_HMAC_KEY?.trim() || DEV_AUDIT_HMAC_KEY;
    previous ||= vars.AUDIT_HMAC_KEY_PREVIOUS ?? "";
  }
  if (!current) throw new Error("AUDIT_HMAC_KEY is not set: the verifier needs the key the chain is signed with");
  return importAuditKeys(current, previous.split(/[\s,]+/).filter(Boolean));
}

/**
 * The newest checkpoint of a project's LOCAL bucket, read straight from wrangler's state (the
 * object index in `r2/miniflare-R2BucketObject/*.sqlite`, the bytes in `r2/<bucket>/blobs/`):
 * no wrangler process (decision 014). `undefined` when the local state is not laid out that way
 * (another wrangler version, no state yet): the caller asks wrangler instead.
 */
function localAnchor(config, bucket) {
  const r2 = path.join(config ? path.dirname(config) : process.cwd(), ".wrangler", "state", "v3", "r2");
  const index = path.join(r2, "miniflare-R2BucketObject");
  // A project whose local state has no R2 yet has no checkpoint; one with no local state at all is someone else's to ask.
  if (!existsSync(index)) return existsSync(path.join(r2, "..")) ? null : undefined;
  for (const file of readdirSync(index).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")) {
    const db = new DatabaseSync(path.join(index, file), { readOnly: true });
    let row;
    try {
      row = db.prepare("SELECT blob_id FROM _mf_objects WHERE key = 'latest.json'").get();
    } catch {
      return undefined;
    } finally {
      db.close();
    }
    const blob = row?.blob_id ? path.join(r2, bucket, "blobs", String(row.blob_id)) : null;
    if (blob && existsSync(blob)) return JSON.parse(readFileSync(blob, "utf8"));
  }
  // The bucket's folder holds blobs only once something was put: none means no checkpoint yet.
  return existsSync(path.join(r2, bucket)) ? undefined : null;
}

/** The newest checkpoint in R2 (`latest.json`), or null when there is none. */
export function readLatestAnchor({ bucket = "bastion-audit-anchors", remote = false, envName = null, config = null }) {
  if (!remote && !envName) {
    const local = localAnchor(config, bucket);
    if (local !== undefined) return Promise.resolve(local);
  }
  const cmd = ["r2", "object", "get", `${bucket}/latest.json`, remote ? "--remote" : "--local", "--pipe"];
  if (envName) cmd.push("--env", envName);
  if (config) cmd.push("--config", config);
  return new Promise((resolve, reject) => {
    execFile(...wranglerCommand(cmd), { encoding: "utf8", maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(JSON.parse(stdout));
      if (String(stderr).includes("does not exist")) return resolve(null);
      reject(Object.assign(error, { stderr }));
    });
  });
}

/**
 * Verifies the audit chain of a D1 database (local or remote) against the newest checkpoint.
 * @returns {Promise<{ ok: true, count: number, lastHash: string, anchoredAt: number | null } | { ok: false, brokenAt: number, code: string, reason: string }>}
 */
export async function verifyD1AuditChain(target, keys = null, anchor = undefined) {
  keys ??= await keysFromEnv(target);
  // Read alongside the first page of D1 (each wrangler call starts a process of its own).
  const anchorRead = anchor === undefined ? readLatestAnchor(target) : Promise.resolve(anchor);
  anchorRead.catch(() => undefined);
  let anchorChecked = false;
  let position = CHAIN_START;
  // Losses the AuditLog object recorded (`audit.head_mismatch`) that no later `audit.restored`
  // names in its `explains`, by id, in order.
  const openLosses = new Map();
  for (;;) {
    const rows = d1Query(
      target,
      `SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id FROM audit_events WHERE id > ${Number(position.lastId)} ORDER BY id LIMIT ${PAGE}`,
    );
    if (!anchorChecked) {
      anchorChecked = true;
      anchor = await anchorRead;
      const problem = anchor ? await anchorProblem(anchor, keys) : null;
      if (problem)
        return {
          ok: false,
          brokenAt: anchor.seq ?? 0,
          code: problem.includes("wrong key") ? "wrong_key" : "anchor_forged",
          reason: `the newest checkpoint ${problem}`,
        };
    }
    if (rows.length === 0) {
      if (anchor && anchor.seq > position.lastId) {
        return {
          ok: false,
          brokenAt: position.lastId + 1,
          code: "anchor_mismatch",
          reason: `D1 ends at event ${position.lastId}, but a checkpoint of ${anchor.at} covers events up to ${anchor.seq}: newest events were removed (truncated tail)`,
        };
      }
      if (position.lastId - (anchor?.seq ?? 0) > STALE_AFTER_EVENTS) {
        return {
          ok: false,
          brokenAt: (anchor?.seq ?? 0) + 1,
          code: "stale_anchor",
          reason: `${position.lastId - (anchor?.seq ?? 0)} events follow the newest checkpoint: checkpoints were removed or stopped`,
        };
      }
      const openLoss = [...openLosses.values()].at(-1);
      if (openLoss) {
        let expectedId = Number(openLoss.id);
        try {
          const detail = JSON.parse(openLoss.detail);
          if (typeof detail.expectedId === "number") expectedId = detail.expectedId;
        } catch {
          // An unreadable detail still marks the loss.
        }
        return {
          ok: false,
          brokenAt: expectedId,
          code: "unexplained_loss",
          reason: `event ${openLoss.id} records that event ${expectedId} was lost or replaced, and no audit.restored event explains it (docs/operations.md)`,
        };
      }
      return { ok: true, count: position.count, lastHash: position.lastHash, anchoredAt: anchor?.seq ?? null };
    }
    const verdict = await verifyAuditRows(rows, position, keys);
    if (!verdict.ok) return verdict;
    const atAnchor = anchor && rows.find((r) => Number(r.id) === anchor.seq);
    if (atAnchor && atAnchor.hash !== anchor.hash) {
      return {
        ok: false,
        brokenAt: anchor.seq,
        code: "anchor_mismatch",
        reason: `the checkpoint at event ${anchor.seq} (${anchor.at}) names another hash than D1's event ${anchor.seq}: the chain was rewritten`,
      };
    }
    for (const row of rows) {
      if (row.action === HEAD_MISMATCH_ACTION) openLosses.set(Number(row.id), row);
      else if (row.action === RESTORED_ACTION) {
        try {
          const explained = openLosses.get(Number(JSON.parse(row.detail).explains));
          // A keyed loss needs a keyed explanation (src/audit/verify.ts: openHeadMismatch).
          if (explained && (row.key_id != null || explained.key_id == null)) openLosses.delete(Number(explained.id));
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
  return {
    database: option("--database") ?? "bastion",
    bucket: option("--bucket") ?? "bastion-audit-anchors",
    remote: args.includes("--remote"),
    envName: option("--env"),
    config: option("--config"),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const target = targetFromArgs(process.argv.slice(2));
  let verdict;
  try {
    verdict = await verifyD1AuditChain(target);
  } catch (error) {
    console.error(
      `could not read the audit log (${target.remote ? "remote" : "local"} D1 ${target.database}, R2 ${target.bucket}): ${error.stderr ?? error.message}`,
    );
    process.exit(2);
  }
  if (!verdict.ok) {
    console.error(`audit chain BROKEN at event ${verdict.brokenAt} [${verdict.code}]: ${verdict.reason}`);
    process.exit(1);
  }
  const anchored = verdict.anchoredAt ? `, newest checkpoint matched at event ${verdict.anchoredAt}` : ", no checkpoint yet";
  console.log(`audit chain intact: ${verdict.count} events, last hash ${verdict.lastHash}${anchored}`);
}
