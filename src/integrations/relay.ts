// The outbox relay: events recorded with their changes become deliveries (one per subscribed,
// enabled endpoint) and queue messages. Run right after a change (`afterShopEvents`) and by the
// cron every 5 minutes, so an event whose relay failed (isolate gone, queue down) still goes out.
import { isNull, sql } from "drizzle-orm";
import { getDb, inList, sqlNowIso, type Database } from "../db/client";
import { webhookDeliveries, webhookEndpoints, webhookEvents } from "./schema";

/** What a delivery message on the queue carries: only the row's id (the row holds the rest). */
export interface DeliveryMessage {
  deliveryId: string;
}

/** Deliveries put on the queue per relay: the next relay (or the cron) takes the rest. */
const RELAY_PAGE = 50;

/**
 * The relay as three statements, to run in the same D1 batch as the change that recorded events
 * (no extra round trip) or on their own (cron): every unrelayed event becomes one delivery per
 * enabled endpoint subscribed to its type, the events are marked relayed, and pending deliveries
 * without a message are claimed (conditional, so two relays never both send one). The last
 * statement answers the claimed ids: hand them to `sendClaimedDeliveries`.
 */
export function relayStatements(db: Database) {
  return [
    db
      .insert(webhookDeliveries)
      // Every column in table order (drizzle's INSERT … SELECT names them all).
      .select(
        sql`SELECT 'whd_' || lower(hex(randomblob(12))), ev.id, e.id, 'pending', 0, NULL, NULL, NULL, NULL, NULL, NULL, ${sqlNowIso}, ${sqlNowIso}
          FROM ${webhookEvents} ev JOIN ${webhookEndpoints} e ON e.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(e.events) WHERE value = ev.type)
          WHERE ev.relayed_at IS NULL`,
      )
      .onConflictDoNothing({ target: [webhookDeliveries.eventId, webhookDeliveries.endpointId] }),
    db.update(webhookEvents).set({ relayedAt: sqlNowIso }).where(isNull(webhookEvents.relayedAt)),
    db
      .update(webhookDeliveries)
      .set({ queuedAt: sqlNowIso, updatedAt: sqlNowIso })
      .where(
        sql`${webhookDeliveries.id} IN (SELECT id FROM ${webhookDeliveries} WHERE status = 'pending' AND queued_at IS NULL ORDER BY created_at LIMIT ${RELAY_PAGE})`,
      )
      .returning({ id: webhookDeliveries.id }),
  ] as const;
}

/** Sends one message per claimed delivery; when the queue refuses, the claims are given back for the cron. */
export async function sendClaimedDeliveries(env: Env, claimed: readonly { id: string }[]): Promise<void> {
  if (claimed.length === 0) return;
  try {
    await env.WEBHOOK_QUEUE.sendBatch(claimed.map((c) => ({ body: { deliveryId: c.id } satisfies DeliveryMessage, contentType: "json" as const })));
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "webhook_enqueue_failed", deliveries: claimed.length, error: String(error) }));
    await getDb(env.DB)
      .update(webhookDeliveries)
      .set({ queuedAt: null })
      .where(
        inList(
          webhookDeliveries.id,
          claimed.map((c) => c.id),
        ),
      )
      .catch(() => {});
  }
}

/** The relay on its own (the cron, every 5 minutes): events whose change's relay did not send them. */
export async function relayShopEvents(env: Env): Promise<number> {
  const db = getDb(env.DB);
  const [, , claimed] = await db.batch(relayStatements(db));
  await sendClaimedDeliveries(env, claimed);
  return claimed.length;
}

/** Puts one delivery on the queue again (redeliver): it must be claimed by the caller's write. */
export async function queueDelivery(env: Env, deliveryId: string): Promise<void> {
  await env.WEBHOOK_QUEUE.send({ deliveryId } satisfies DeliveryMessage, { contentType: "json" });
}
