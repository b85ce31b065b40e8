import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The append-only audit log (T10, M-009). Rows are written only by the AuditLog Durable Object;
 * `id` is the chain's sequence (1, 2, 3… assigned by the object, so a deletion leaves a gap) and
 * `hash = HMAC-SHA-256(key[key_id], prev_hash + canonical event)` (src/audit/chain.ts). `prev_hash` is unique, so
 * two writers can never fork the chain even by mistake: the second insert fails.
 */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey(),
    at: text("at").notNull(),
    actor: text("actor").notNull(),
    ip: text("ip"),
    action: text("action").notNull(),
    subject: text("subject"),
    detail: text("detail").notNull().default("{}"),
    prevHash: text("prev_hash").notNull().unique(),
    hash: text("hash").notNull().unique(),
    /** The audit key the HMAC is under (null: an event from before the chain was keyed). */
    keyId: text("key_id"),
  },
  (t) => [
    index("audit_events_subject_idx").on(t.subject, t.id),
    index("audit_events_actor_idx").on(t.actor, t.id),
    // Verification looks up `audit.head_mismatch` / `audit.restored` events without a scan.
    index("audit_events_action_idx").on(t.action, t.id),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
