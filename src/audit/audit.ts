import { ProblemError } from "../platform/problem";
import { canonicalJson, RESTORED_ACTION, type AuditRow } from "./chain";
import { encodeLogField, LIMITS, sanitizeDetail } from "./event-fields";
import { auditLogStub } from "./stub";
import type { AppendedEvent, AppendMode, AppendResult, AuditInput } from "./types";
import { openHeadMismatch } from "./verify";

export { auditLogStub } from "./stub";
export { auditReadiness, openHeadMismatch, verifyAuditChain, verifyAuditLog } from "./verify";
export type { AuditInput } from "./types";

function cleanEvent(event: AuditInput): AuditInput {
  return {
    actor: encodeLogField(String(event.actor ?? "anonymous"), LIMITS.actor),
    action: encodeLogField(String(event.action ?? "unknown"), LIMITS.action),
    subject: event.subject == null ? null : encodeLogField(String(event.subject), LIMITS.subject),
    detail: (sanitizeDetail(event.detail ?? {}) ?? {}) as Record<string, unknown>,
    ip: event.ip == null ? null : encodeLogField(String(event.ip), LIMITS.ip),
  };
}

async function appendClean(env: Env, clean: AuditInput, mode: AppendMode): Promise<AppendResult> {
  try {
    return await auditLogStub(env).append(clean, mode);
  } catch (error) {
    return { written: false, queued: false, reason: String(error) };
  }
}

/**
 * Appends an event to the tamper-evident audit log (keyed chain in D1, written by the AuditLog
 * object). Secrets are dropped and fields encoded before anything leaves the caller.
 *
 * Decision (docs/decisions/006-audit-log.md): this never throws. An audit outage must not turn a
 * shopper's checkout or a webhook into a 500 (a webhook would be retried and could repeat side
 * effects). When D1 does not take the row, the object keeps the event in its durable outbox and
 * retries it; either way one `level: "error"` line is logged (`audit_write_deferred` when the
 * outbox holds it, `audit_write_failed` with the sanitised event when nothing does), which
 * Workers Logs keeps and alerts match. Returns the stored id and hash, or null when D1 does not
 * hold the event yet. Security-relevant actions use `requireAudit` instead.
 */
export async function recordAudit(env: Env, event: AuditInput): Promise<AppendedEvent | null> {
  const clean = cleanEvent(event);
  const result = await appendClean(env, clean, "deferrable");
  if (result.written) return { id: result.id, hash: result.hash };
  const msg = result.queued ? "audit_write_deferred" : "audit_write_failed";
  console.error(JSON.stringify({ level: "error", msg, error: result.reason, event: JSON.parse(canonicalJson(clean)) }));
  return null;
}

/**
 * Fail-closed append for security-relevant actions (money movement, role change, refund): returns
 * once D1 holds the event, or throws 503 `audit_unavailable` and nothing is queued, so the caller
 * must not go on with the action. Call it before the action takes effect.
 */
export async function requireAudit(env: Env, event: AuditInput): Promise<AppendedEvent> {
  const clean = cleanEvent(event);
  const result = await appendClean(env, clean, "required");
  if (result.written) return { id: result.id, hash: result.hash };
  console.error(JSON.stringify({ level: "error", msg: "audit_required_write_failed", error: result.reason, event: JSON.parse(canonicalJson(clean)) }));
  throw new ProblemError(503, "audit_unavailable", "The audit log could not be written, so nothing was done. Try again shortly.");
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
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    ip: row.ip,
    action: row.action,
    subject: row.subject,
    detail,
    hash: row.hash,
    prevHash: row.prev_hash,
  };
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
 * An admin explains the newest loss of audit events the log reported and nobody explained yet
 * (`audit.head_mismatch`, typically after a Time Travel restore): records `audit.restored` with
 * their note and the mismatch's id, which closes that report. 409 `no_open_loss` when there is
 * nothing to explain. Unlike `recordAudit`, a failed write is the caller's error: the explanation
 * must be on record.
 */
export async function recordAuditRestored(env: Env, actor: { id: string; ip: string | null }, note: string): Promise<AppendedEvent> {
  const mismatch = await openHeadMismatch(env.DB);
  if (!mismatch) throw new ProblemError(409, "no_open_loss", "The audit log reports no loss to explain.");
  return requireAudit(env, { actor: actor.id, ip: actor.ip, action: RESTORED_ACTION, detail: { note, explains: mismatch.id } });
}

/**
 * Every audit event about a person (as actor or subject), oldest first, for their data download
 * (data protection). Capped at `limit` events; the caller pages by the last id if it needs more.
 */
export async function listAuditEventsAbout(db: D1Database, userId: string, limit = 1000): Promise<AuditEvent[]> {
  const { results } = await db
    .prepare("SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash FROM audit_events WHERE actor = ?1 OR subject = ?1 ORDER BY id LIMIT ?2")
    .bind(userId, limit)
    .all<AuditRow>();
  return results.map(toAuditEvent);
}
