import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const nowIso = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/**
 * Outbound webhook endpoints admins register (docs/decisions/023-outbound-webhooks.md). The
 * signing secret is stored only encrypted (AES-GCM under WEBHOOK_SECRETS_KEY, the row id as
 * associated data); during a rotation the previous secret signs too until `previousSecretExpiresAt`.
 */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    url: text("url").notNull(),
    /** JSON array of event types (SHOP_EVENT_TYPES) this endpoint receives. */
    events: text("events").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    secretCiphertext: text("secret_ciphertext").notNull(),
    previousSecretCiphertext: text("previous_secret_ciphertext"),
    previousSecretExpiresAt: text("previous_secret_expires_at"),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull().default(nowIso),
    updatedAt: text("updated_at").notNull().default(nowIso),
  },
  (t) => [check("webhook_endpoints_events_json", sql`json_valid(${t.events}) AND json_type(${t.events}) = 'array'`)],
);

/**
 * The outbox: one row per shop event, written in the same D1 batch as the change that caused it,
 * so an event exists exactly when its change does. `key` makes an event once-only (the same
 * change reconciled twice records one event); `relayedAt` is set once its deliveries exist.
 */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    /** The Standard Webhooks `webhook-id` (`msg_…`): the same on every attempt and redelivery. */
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    key: text("key").notNull(),
    /** The event's `data`, as JSON. */
    data: text("data").notNull(),
    createdAt: text("created_at").notNull().default(nowIso),
    relayedAt: text("relayed_at"),
  },
  (t) => [uniqueIndex("webhook_events_key_unique").on(t.key), index("webhook_events_unrelayed_idx").on(t.relayedAt, t.createdAt)],
);

export const DELIVERY_STATUSES = ["pending", "retrying", "delivered", "dead", "refused", "skipped"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One event to one endpoint. The queue carries only the delivery's id; the row says how it went:
 * attempts, the last response code, a short excerpt of the last answer (never more) and when the
 * queue tries again. `queuedAt` is set when a message is on the queue for it.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    responseExcerpt: text("response_excerpt"),
    nextAttemptAt: text("next_attempt_at"),
    lastAttemptAt: text("last_attempt_at"),
    queuedAt: text("queued_at"),
    createdAt: text("created_at").notNull().default(nowIso),
    updatedAt: text("updated_at").notNull().default(nowIso),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_endpoint_unique").on(t.eventId, t.endpointId),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.createdAt),
    index("webhook_deliveries_unqueued_idx").on(t.status, t.queuedAt),
  ],
);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
