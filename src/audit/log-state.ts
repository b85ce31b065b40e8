// The AuditLog object's data: what it keeps in storage, how it turns events into chained rows and
// D1 statements, and its R2 checkpoints. The object (audit-log.ts) decides when.
import { anchorKey, canonicalJson, GENESIS_HASH, signAnchor, signEvent, type AuditKeyRing, type AuditRow } from "./chain";
import { encodeLogField, LIMITS, sanitizeDetail } from "./event-fields";
import type { AppendedEvent, AppendMode, AppendResult, AuditInput, LogState } from "./types";

/** Most rows in one D1 batch (each is one statement). */
export const MAX_BATCH = 100;
/** A checkpoint every this many events … */
export const ANCHOR_EVERY = 100;
/** … or this many minutes after the first event no checkpoint covers. */
export const ANCHOR_MINUTES = 5;
/** How soon the alarm retries the outbox or a failed checkpoint. */
export const RETRY_SECONDS = 30;
/** The event the object appends once D1 takes writes again after dropping some. */
export const REFUSED_ACTION = "audit.appends_refused";

/** One append waiting for D1: its caller's `resolve`, or none for the object's own events. */
export interface Item {
  event: AuditInput;
  at: string;
  mode: AppendMode;
  outboxKey?: string;
  resolve?: (result: AppendResult) => void;
}

/** A row ready for D1 (key_id always set: the object only writes keyed events). */
export type ChainRow = AuditRow & { key_id: string };

/** Chains `items` after `head` under the current key: ids head+1…, each signed over the one before. */
export async function toRows(keys: AuditKeyRing, head: AppendedEvent | null, items: readonly Item[]): Promise<ChainRow[]> {
  const rows: ChainRow[] = [];
  let prev = { id: head?.id ?? 0, hash: head?.hash ?? GENESIS_HASH };
  for (const { event, at } of items) {
    const row = {
      id: prev.id + 1,
      at,
      actor: encodeLogField(String(event.actor || "anonymous"), LIMITS.actor),
      ip: event.ip ? encodeLogField(String(event.ip), LIMITS.ip) : null,
      action: encodeLogField(String(event.action || "unknown"), LIMITS.action),
      subject: event.subject ? encodeLogField(String(event.subject), LIMITS.subject) : null,
      detail: canonicalJson(sanitizeDetail(event.detail ?? {}) ?? {}),
      key_id: keys.current.id,
    };
    const hash = (await signEvent(keys.current.key, prev.hash, row))!;
    rows.push({ ...row, prev_hash: prev.hash, hash });
    prev = { id: row.id, hash };
  }
  return rows;
}

/** Inserts `row` only while D1's newest row has hash `after` (null: the table is empty). */
export function insertStatement(db: D1Database, row: ChainRow, after: string | null): D1PreparedStatement {
  return db
    .prepare(
      "INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id) " +
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1) IS ?",
    )
    .bind(row.id, row.at, row.actor, row.ip, row.action, row.subject, row.detail, row.prev_hash, row.hash, row.key_id, after);
}

/** The R2 key naming the newest checkpoint (a copy; `anchors/…` hold them all, under retention). */
export const LATEST_ANCHOR_KEY = "latest.json";

/**
 * Signs a checkpoint of `head` and writes it to R2 (its own key, then `latest.json`). A checkpoint
 * is never replaced: one already at that event (an object whose storage was rewritten, re-anchoring
 * a rewritten chain) is left for verification to compare, and the write fails.
 */
export async function writeAnchor(bucket: R2Bucket, keys: AuditKeyRing, head: AppendedEvent): Promise<LogState["anchor"]> {
  const anchor = await signAnchor(keys, { seq: head.id, hash: head.hash, at: new Date().toISOString() });
  const body = JSON.stringify(anchor);
  const existing = await bucket.get(anchorKey(anchor.seq));
  if (existing) {
    const found = (await existing.json().catch(() => null)) as { hash?: string; at?: string } | null;
    if (found?.hash !== head.hash) throw new Error(`another checkpoint of event ${anchor.seq} already exists in R2: not replaced`);
    // The same event anchored before (a restore back to it): that checkpoint stands.
    await bucket.put(LATEST_ANCHOR_KEY, JSON.stringify(found), { httpMetadata: { contentType: "application/json" } });
    return { seq: anchor.seq, hash: head.hash, at: found.at ?? anchor.at };
  }
  await bucket.put(anchorKey(anchor.seq), body, { httpMetadata: { contentType: "application/json" } });
  await bucket.put(LATEST_ANCHOR_KEY, body, { httpMetadata: { contentType: "application/json" } });
  return { seq: anchor.seq, hash: anchor.hash, at: anchor.at };
}
