import type { AuditLog, AppendedEvent } from "./audit-log";
import { ProblemError } from "../platform/problem";
import { canonicalJson, CHAIN_START, HEAD_MISMATCH_ACTION, RESTORED_ACTION, encodeLogField, LIMITS, sanitizeDetail, verifyAuditRows, type AuditRow, type ChainVerdict } from "./chain";

/** One audit event as callers submit it; the audit log adds time, hash and prevHash. */
export interface AuditInput {
  /** A user id, or `stripe`, `system`, `anonymous`. */
  actor: string;
  /** Dotted verb, e.g. `auth.sign_in.failed`, `payment.amount_mismatch`, `product.updated`. */
  action: string;
  /** What was acted on, e.g. an order id or product id. */
  subject?: string | null;
  /** Extra facts. Never a password, token, key or card data. */
  detail?: Record<string, unknown>;
  /** The client address (`CF-Connecting-IP`), when there is a client. */
  ip?: string | null;
}

/** The single AuditLog object: one writer, so the chain never forks. */
export function auditLogStub(env: Env): DurableObjectStub<AuditLog> {
  return (env.AUDIT_LOG as unknown as DurableObjectNamespace<AuditLog>).getByName("main");
}

/**
 * Appends an event to the tamper-evident audit log (hash chain in D1, written by the AuditLog
 * object). Secrets are dropped and fields encoded before anything leaves the caller.
 *
 * Decision (docs/decisions/006-audit-log.md): this never throws. An audit outage must not turn a
 * shopper's checkout or a webhook into a 500 (a webhook would be retried and could repeat side
 * effects), so a failed write is logged loudly instead: one `level: "error"` line
 * `audit_write_failed` carrying the sanitised event, which Workers Logs keeps and alerts can
 * match. Returns the stored id and hash, or null when the write failed.
 */
export async function recordAudit(env: Env, event: AuditInput): Promise<AppendedEvent | null> {
  const clean: AuditInput = {
    actor: encodeLogField(String(event.actor ?? "anonymous"), LIMITS.actor),
    action: encodeLogField(String(event.action ?? "unknown"), LIMITS.action),
    subject: event.subject == null ? null : encodeLogField(String(event.subject), LIMITS.subject),
    detail: (sanitizeDetail(event.detail ?? {}) ?? {}) as Record<string, unknown>,
    ip: event.ip == null ? null : encodeLogField(String(event.ip), LIMITS.ip),
  };
  try {
    return await auditLogStub(env).append(clean);
  } catch (error) {
    console.error(
      JSON.stringify({ level: "error", msg: "audit_write_failed", error: String(error), event: JSON.parse(canonicalJson(clean)) }),
    );
    return null;
  }
}

/** An audit event as the API shows it. */
export interface AuditEvent {
  id: number;
  at: string;
  actor: string;
  ip: string | null;
  action: string;
  subject: string | null;
  detail: unknown;
  hash: string;
  prevHash: string;
}

/** Converts a stored row to the API's shape. */
export function toAuditEvent(row: AuditRow): AuditEvent {
  let detail: unknown = null;
  try {
    detail = JSON.parse(row.detail);
  } catch {
    detail = row.detail;
  }
  return { id: Number(row.id), at: row.at, actor: row.actor, ip: row.ip, action: row.action, subject: row.subject, detail, hash: row.hash, prevHash: row.prev_hash };
}

const PAGE = 500;

/**
 * Verifies the whole chain in D1, page by page, with the same pure function as
 * `npm run audit:verify`. `{ ok: false, brokenAt, reason }` names the first bad event.
 */
export async function verifyAuditChain(db: D1Database): Promise<ChainVerdict> {
  let position = CHAIN_START;
  for (;;) {
    const { results } = await db
      .prepare("SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash FROM audit_events WHERE id > ? ORDER BY id LIMIT ?")
      .bind(position.lastId, PAGE)
      .all<AuditRow>();
    if (results.length === 0) return { ok: true, count: position.count, lastId: position.lastId, lastHash: position.lastHash };
    const verdict = await verifyAuditRows(results, position);
    if (!verdict.ok) return verdict;
    position = verdict.position;
  }
}

/** Reads a page of events, oldest first, after `cursor` (an event id). */
export async function listAuditEvents(db: D1Database, cursor: number, limit: number): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
  const { results } = await db
    .prepare("SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash FROM audit_events WHERE id > ? ORDER BY id LIMIT ?")
    .bind(cursor, limit + 1)
    .all<AuditRow>();
  const items = results.slice(0, limit).map(toAuditEvent);
  const nextCursor = results.length > limit ? String(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}

/**
 * The chain check plus the tail check: the AuditLog object remembers the last event it wrote, so
 * deleting the newest events (which leaves a valid, shorter chain) and rows written after it by
 * anyone else are caught too; and every loss the object recorded (`audit.head_mismatch`) stays
 * reported until an admin explains it.
 */
export async function verifyAuditLog(env: Env): Promise<ChainVerdict> {
  const verdict = await verifyAuditChain(env.DB);
  if (!verdict.ok) return verdict;
  // Read after the chain: events appended meanwhile put the object's head past D1's tail as read.
  const { head, pending } = await auditLogStub(env).chainTail();
  const endsAt = (e: AppendedEvent | null) => e !== null && verdict.lastId === e.id && verdict.lastHash === e.hash;
  if (head && !endsAt(head) && !endsAt(pending)) {
    if (verdict.lastId > head.id) {
      return { ok: false, brokenAt: head.id + 1, reason: `the database holds events after event ${head.id} that the audit log did not write (it ends at event ${verdict.lastId})` };
    }
    // Appended since the chain was read, or missing? The object's last event must be in D1 as written.
    const row = await env.DB.prepare("SELECT hash FROM audit_events WHERE id = ?").bind(head.id).first<{ hash: string }>();
    if (row?.hash !== head.hash) {
      return { ok: false, brokenAt: head.id, reason: `the log ends at event ${verdict.lastId} but event ${head.id} was written: newest events are missing or replaced` };
    }
  }
  const mismatch = await openHeadMismatch(env.DB);
  if (mismatch) {
    return {
      ok: false,
      brokenAt: mismatch.expectedId,
      reason:
        `event ${mismatch.id} records that the database no longer ended at event ${mismatch.expectedId}, the last one the log wrote ` +
        `(it found event ${mismatch.foundId ?? "none"}). Restore it, or explain it with POST /api/admin/audit/restored`,
    };
  }
  return verdict;
}

/**
 * The newest `audit.head_mismatch` event that no `audit.restored` event explains (one recorded
 * after it whose `detail.explains` names it), or null. Each loss needs its own explanation, so a
 * note cannot close a loss recorded after it was written, or one it does not name.
 */
export async function openHeadMismatch(db: D1Database): Promise<{ id: number; expectedId: number; foundId: number | null } | null> {
  // Verification reads every event anyway; these scans have no index of their own.
  const row = await db
    .prepare(
      "SELECT m.id, m.detail FROM audit_events m WHERE m.action = ?1 AND NOT EXISTS " +
        "(SELECT 1 FROM audit_events r WHERE r.action = ?2 AND r.id > m.id AND json_extract(r.detail, '$.explains') = m.id) ORDER BY m.id DESC LIMIT 1",
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

/**
 * An admin explains the newest loss of audit events the log reported and nobody explained yet
 * (`audit.head_mismatch`, typically after a Time Travel restore): records `audit.restored` with
 * their note and the mismatch's id, which closes that report. 409 `no_open_loss` when there is
 * nothing to explain. Unlike `recordAudit`, a failed write is the caller's error: the explanation
 * must be on record.
 */
export async function recordAuditRestored(env: Env, actor: { id: string; ip: string | null }, note: string): Promise<AppendedEvent> {
  const mismatch = await openHeadMismatch(env.DB);
  if (!mismatch) throw new ProblemError(409, "no_open_loss", "The audit log reports no loss to explain.");
  const event = await recordAudit(env, { actor: actor.id, ip: actor.ip, action: RESTORED_ACTION, detail: { note, explains: mismatch.id } });
  if (!event) throw new ProblemError(503, "audit_unavailable", "The audit log could not be written. Nothing was recorded; try again.");
  return event;
}

/**
 * Every audit event about a person (as actor or subject), oldest first, for their data download
 * (data protection). Capped at `limit` events; the caller pages by the last id if it needs more.
 */
export async function listAuditEventsAbout(db: D1Database, userId: string, limit = 1000): Promise<AuditEvent[]> {
  const { results } = await db
    .prepare(
      "SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash FROM audit_events WHERE actor = ?1 OR subject = ?1 ORDER BY id LIMIT ?2",
    )
    .bind(userId, limit)
    .all<AuditRow>();
  return results.map(toAuditEvent);
}
