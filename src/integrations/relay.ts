// The outbox relay: events recorded with their changes become deliveries (one per subscribed,
// enabled endpoint) and queue messages. Run right after a change (`afterShopEvents`) and by the
// cron every 5 minutes, so an event whose relay failed (isolate gone, queue down) still goes out.
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { getDb, inList, sqlNowIso, type Database } from "../db/client";
import { webhookDeliveries, webhookEndpoints, webhookEvents } from "./schema";

/** What a delivery message on the queue carries: only the row's id (the row holds the rest). */
export interface DeliveryMessage {
  deliveryId: string;
}

/** Events and deliveries handled per relay run: the cron picks up the rest. */
const RELAY_PAGE = 50;

/** Fans unrelayed events out into deliveries, then queues every pending delivery not yet on the queue. */
export async function relayShopEvents(env: Env): Promise<{ events: number; queued: number }> {
  const db = getDb(env.DB);
  const events = await db
    .select({ id: webhookEvents.id, type: webhookEvents.type })
    .from(webhookEvents)
    .where(isNull(webhookEvents.relayedAt))
    .orderBy(asc(webhookEvents.createdAt))
    .limit(RELAY_PAGE);
  for (const event of events) {
    // Deliveries for every enabled endpoint subscribed now, and the event marked relayed, at once.
    await db.batch([
      db.run(sql`INSERT INTO ${webhookDeliveries} (id, event_id, endpoint_id)
        SELECT 'whd_' || lower(hex(randomblob(12))), ${event.id}, e.id FROM ${webhookEndpoints} e
        WHERE e.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(e.events) WHERE value = ${event.type})
        ON CONFLICT(event_id, endpoint_id) DO NOTHING`),
      db
        .update(webhookEvents)
        .set({ relayedAt: sqlNowIso })
        .where(and(eq(webhookEvents.id, event.id), isNull(webhookEvents.relayedAt))),
    ]);
  }
  return { events: events.length, queued: await queuePendingDeliveries(env, db) };
}

/**
 * Claims pending deliveries that have no message yet (conditional update, so two relays never
 * both send one) and sends one message each; a send that fails gives the claim back.
 */
async function queuePendingDeliveries(env: Env, db: Database): Promise<number> {
  const waiting = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, "pending"), isNull(webhookDeliveries.queuedAt)))
    .limit(RELAY_PAGE);
  if (waiting.length === 0) return 0;
  const claimed = await db
    .update(webhookDeliveries)
    .set({ queuedAt: sqlNowIso, updatedAt: sqlNowIso })
    .where(
      and(
        inList(
          webhookDeliveries.id,
          waiting.map((w) => w.id),
        ),
        isNull(webhookDeliveries.queuedAt),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  if (claimed.length === 0) return 0;
  try {
    await env.WEBHOOK_QUEUE.sendBatch(claimed.map((c) => ({ body: { deliveryId: c.id } satisfies DeliveryMessage, contentType: "json" as const })));
  } catch (error) {
    await db
      .update(webhookDeliveries)
      .set({ queuedAt: null })
      .where(
        inList(
          webhookDeliveries.id,
          claimed.map((c) => c.id),
        ),
      );
    throw error;
  }
  return claimed.length;
}

/** Puts one delivery on the queue again (redeliver): it must be claimed by the caller's write. */
export async function queueDelivery(env: Env, deliveryId: string): Promise<void> {
  await env.WEBHOOK_QUEUE.send({ deliveryId } satisfies DeliveryMessage, { contentType: "json" });
}

/** The relay after a change: never fails the request (the outbox keeps the events for the cron). */
export async function relayShopEventsSafely(env: Env): Promise<void> {
  try {
    await relayShopEvents(env);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "webhook_relay_failed", error: String(error) }));
  }
}
