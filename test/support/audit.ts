import { env } from "cloudflare:workers";
import type { AuditRow } from "../../src/audit/chain";

/** Every audit row, oldest first, to assert on exact contents or prove nothing changed. */
export async function auditRows(): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id FROM audit_events ORDER BY id",
  ).all<AuditRow>();
  return results;
}

/** Rows after a given id (events a test caused). */
export async function auditRowsAfter(id: number): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id FROM audit_events WHERE id > ? ORDER BY id",
  )
    .bind(id)
    .all<AuditRow>();
  return results;
}

/** The id of the newest audit row (0 when empty). */
export async function lastAuditId(): Promise<number> {
  const row = await env.DB.prepare("SELECT coalesce(max(id), 0) AS id FROM audit_events").first<{ id: number }>();
  return row?.id ?? 0;
}

/**
 * Runs raw SQL against audit_events with the append-only triggers lifted, as an attacker with
 * direct database access would; the triggers are put back afterwards.
 */
export async function tamperWithAudit(sql: string, ...params: unknown[]): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("DROP TRIGGER IF EXISTS audit_events_no_update"),
    env.DB.prepare("DROP TRIGGER IF EXISTS audit_events_no_delete"),
    env.DB.prepare(sql).bind(...params),
    env.DB.prepare("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"),
    env.DB.prepare("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"),
  ]);
}
