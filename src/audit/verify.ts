// Verification of the audit log: the keyed chain in D1, the signed checkpoints in R2 and the
// AuditLog object's record of what it assigned, compared with one another (decision 006).
import {
  CHAIN_START,
  HEAD_MISMATCH_ACTION,
  RESTORED_ACTION,
  verifyAuditRows,
  type AuditAnchor,
  type AuditKeyRing,
  type AuditRow,
  type ChainFailure,
  type ChainPosition,
  type ChainProblem,
  type ChainVerdict,
} from "./chain";
import { fail, listAnchors, newestAnchor, recordedLosses, staleProblem } from "./checkpoints";
import { auditKeys } from "./keys";
import { auditLogStub } from "./stub";
import type { ChainTail } from "./types";

const PAGE = 500;
export const AUDIT_COLUMNS = "id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id";

/**
 * Verifies the chain in D1 from `start` (default: the first event), page by page, with the same
 * pure function as `npm run audit:verify`. `anchors` (oldest first) are matched on the way: each
 * must name an event D1 holds with exactly that hash. Without `keys`, the development key.
 */
export async function verifyAuditChain(
  db: D1Database,
  keys?: AuditKeyRing,
  anchors: readonly AuditAnchor[] = [],
  start: ChainPosition = CHAIN_START,
): Promise<ChainVerdict> {
  const ring = keys ?? (await auditKeys({}));
  let position = start;
  let next = 0;
  let anchoredAt: number | null = null;
  for (;;) {
    const { results } = await db
      .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE id > ? ORDER BY id LIMIT ?`)
      .bind(position.lastId, PAGE)
      .all<AuditRow>();
    const verdict = results.length > 0 ? await verifyAuditRows(results, position, ring) : null;
    if (verdict && !verdict.ok) return verdict;
    if (verdict) position = verdict.position;
    const hashes = new Map(results.map((r) => [Number(r.id), r.hash]));
    for (; next < anchors.length && anchors[next]!.seq <= position.lastId; next++) {
      const anchor = anchors[next]!;
      if (anchor.seq <= start.lastId) continue;
      if (hashes.get(anchor.seq) !== anchor.hash) {
        return fail(
          anchor.seq,
          "anchor_mismatch",
          `the checkpoint at event ${anchor.seq} (${anchor.at}) names another hash than D1's event ${anchor.seq}: the chain was rewritten`,
        );
      }
      anchoredAt = anchor.seq;
    }
    if (results.length === 0) break;
  }
  const beyond = anchors.at(-1);
  if (beyond && beyond.seq > position.lastId) {
    return fail(
      position.lastId + 1,
      "anchor_mismatch",
      `D1 ends at event ${position.lastId}, but a checkpoint of ${beyond.at} covers events up to ${beyond.seq}: newest events were removed (truncated tail)`,
    );
  }
  return { ok: true, count: position.count, lastId: position.lastId, lastHash: position.lastHash, anchoredAt };
}

export interface VerifyOptions {
  /** `checkpoint` (default): from the newest checkpoint, O(new events). `genesis`: every event and checkpoint. */
  from?: "checkpoint" | "genesis";
}

/**
 * The whole check: the keyed chain (from the newest checkpoint, or from the first event), every
 * checkpoint it passes, the AuditLog object's record (last event, unconfirmed write, outbox of
 * events D1 refused), unexplained losses and stale checkpoints. The same checks back the staff
 * page, `/api/admin/audit/verify` and `auditReadiness`.
 */
export async function verifyAuditLog(env: Env, options: VerifyOptions = {}): Promise<ChainVerdict> {
  const keys = await auditKeys(env);
  const losses = await recordedLosses(env.DB);
  const newest = await newestAnchor(env.AUDIT_ANCHORS, keys, losses);
  if (newest && "ok" in newest) return newest;
  let verdict: ChainVerdict;
  if (options.from === "genesis" || !newest) {
    const anchors = await listAnchors(env.AUDIT_ANCHORS, keys, losses);
    if (!Array.isArray(anchors)) return anchors;
    verdict = await verifyAuditChain(env.DB, keys, anchors);
  } else {
    // From the checkpoint: D1 must still hold its event as signed, and exactly 1…max(id) (a
    // deleted row anywhere shows in the count without reading every row).
    const [atAnchor, totals] = await env.DB.batch<{ hash?: string; key_id?: string | null; n?: number; last?: number | null }>([
      env.DB.prepare("SELECT hash, key_id FROM audit_events WHERE id = ?").bind(newest.seq),
      env.DB.prepare("SELECT count(*) AS n, max(id) AS last FROM audit_events"),
    ]);
    const row = atAnchor!.results[0];
    const { n = 0, last = 0 } = totals!.results[0] ?? {};
    if (!row || row.hash !== newest.hash) {
      return (last ?? 0) < newest.seq
        ? fail(
            (last ?? 0) + 1,
            "anchor_mismatch",
            `D1 ends at event ${last ?? 0}, but a checkpoint of ${newest.at} covers events up to ${newest.seq}: newest events were removed (truncated tail)`,
          )
        : fail(
            newest.seq,
            "anchor_mismatch",
            `the checkpoint at event ${newest.seq} (${newest.at}) names another hash than D1's event ${newest.seq}: the chain was rewritten`,
          );
    }
    if (n !== (last ?? 0))
      return fail(0, "gap", `D1 holds ${n} events numbered up to ${last}: ${(last ?? 0) - n} are missing (run the full verification to find them)`);
    verdict = await verifyAuditChain(env.DB, keys, [newest], { lastId: newest.seq, lastHash: newest.hash, count: newest.seq, keyed: row.key_id != null });
  }
  if (!verdict.ok) return verdict;
  const tail = await auditLogStub(env).chainTail();
  const problem = (await tailProblem(env.DB, verdict, tail)) ?? (await lossProblem(env.DB)) ?? (await staleProblem(env.DB, newest, verdict.lastId));
  return problem ?? { ...verdict, anchoredAt: newest ? newest.seq : null };
}

/** D1's tail against the object's record: rows it never wrote, rows it wrote that are gone, rows D1 refused. */
async function tailProblem(db: D1Database, verdict: { lastId: number; lastHash: string }, tail: ChainTail): Promise<ChainFailure | null> {
  const { head, pending } = tail;
  const endsAt = (e: { id: number; hash: string } | null) => e !== null && verdict.lastId === e.id && verdict.lastHash === e.hash;
  if (head && !endsAt(head) && !endsAt(pending)) {
    if (verdict.lastId > head.id) {
      // Appended since the chain was read? Then the object's head is past D1's tail as read (below).
      return fail(
        head.id + 1,
        "extra_rows",
        `the database holds events after event ${head.id} that the audit log did not write (it ends at event ${verdict.lastId})`,
      );
    }
    const row = await db.prepare("SELECT hash FROM audit_events WHERE id = ?").bind(head.id).first<{ hash: string }>();
    if (row?.hash !== head.hash) {
      return fail(head.id, "missing_tail", `the log ends at event ${verdict.lastId} but event ${head.id} was written: newest events are missing or replaced`);
    }
  }
  if (tail.outbox.length > 0) {
    const first = tail.outbox[0]!;
    const refused = tail.refused
      ? `D1 dropped ${tail.refused.count} insert(s) without an error since ${tail.refused.firstAt} (first: event ${tail.refused.firstId}, ${tail.refused.action}); `
      : "";
    return fail(
      (head?.id ?? 0) + 1,
      "events_refused",
      `${refused}${tail.outbox.length} event(s) the log accepted are not in D1 and wait in its outbox (oldest: ${first.action} at ${first.at})`,
    );
  }
  return null;
}

/** An `audit.head_mismatch` no `audit.restored` explains, as a failure. */
async function lossProblem(db: D1Database): Promise<ChainFailure | null> {
  const mismatch = await openHeadMismatch(db);
  if (!mismatch) return null;
  return fail(
    mismatch.expectedId,
    "unexplained_loss",
    `event ${mismatch.id} records that the database no longer ended at event ${mismatch.expectedId}, the last one the log wrote ` +
      `(it found event ${mismatch.foundId ?? "none"}). Restore it, or explain it with POST /api/admin/audit/restored`,
  );
}

/**
 * The newest `audit.head_mismatch` event that no `audit.restored` event explains (one recorded
 * after it whose `detail.explains` names it), or null. Each loss needs its own explanation, so a
 * note cannot close a loss recorded after it was written, or one it does not name; and a keyed
 * loss needs a keyed note (one written without the key explains nothing).
 */
export async function openHeadMismatch(db: D1Database): Promise<{ id: number; expectedId: number; foundId: number | null } | null> {
  // Both lookups use audit_events_action_idx.
  const row = await db
    .prepare(
      "SELECT m.id, m.detail FROM audit_events m WHERE m.action = ?1 AND NOT EXISTS " +
        "(SELECT 1 FROM audit_events r WHERE r.action = ?2 AND r.id > m.id AND json_extract(r.detail, '$.explains') = m.id AND (r.key_id IS NOT NULL OR m.key_id IS NULL)) ORDER BY m.id DESC LIMIT 1",
    )
    .bind(HEAD_MISMATCH_ACTION, RESTORED_ACTION)
    .first<{ id: number; detail: string }>();
  if (!row) return null;
  let detail: { expectedId?: unknown; foundId?: unknown } = {};
  try {
    detail = JSON.parse(row.detail) as typeof detail;
  } catch {
    // A mismatch event whose detail does not parse still marks the log as broken.
  }
  const expectedId = typeof detail.expectedId === "number" ? detail.expectedId : Number(row.id);
  return { id: Number(row.id), expectedId, foundId: typeof detail.foundId === "number" ? detail.foundId : null };
}

/** For `/readyz`: the log verified from its newest checkpoint (O(new events)); the verdict names any problem. */
export async function auditReadiness(
  env: Env,
): Promise<{ ok: true; events: number; anchoredAt: number | null } | { ok: false; code: ChainProblem; brokenAt: number; reason: string }> {
  const verdict = await verifyAuditLog(env);
  if (!verdict.ok) return { ok: false, code: verdict.code, brokenAt: verdict.brokenAt, reason: verdict.reason };
  return { ok: true, events: verdict.count, anchoredAt: verdict.anchoredAt ?? null };
}
