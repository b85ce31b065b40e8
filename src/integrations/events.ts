// Shop events for outbound webhooks (docs/decisions/023-outbound-webhooks.md): the outbox side.
// Layer: beside audit and db (it imports only platform and db), so any domain may emit an event.
import { is, SQL, sql } from "drizzle-orm";
import { type Database, sqlNowIso } from "../db/client";
import { relayStatements, sendClaimedDeliveries } from "./relay";
import { webhookEvents } from "./schema";

/** Every event an endpoint may subscribe to. One list: a new event type is one more entry here. */
export const SHOP_EVENT_TYPES = ["order.paid", "order.refunded", "order.shipped", "order.returned", "product.updated", "inventory.low"] as const;
export type ShopEventType = (typeof SHOP_EVENT_TYPES)[number];

/** What each event means, for the staff page and the API description. */
export const SHOP_EVENT_DESCRIPTIONS: Record<ShopEventType, string> = {
  "order.paid": "An order was paid (the provider confirmed the money).",
  "order.refunded": "Money was refunded on an order, in part or in full (data.refundedCents is the new total).",
  "order.shipped": "An order left with a carrier and tracking number.",
  "order.returned": "Goods of an order came back (a return was received).",
  "product.updated": "Staff changed a product (data.changed names the fields).",
  "inventory.low": "A product or variant's sellable stock fell to its low-stock threshold.",
};

/**
 * One event to record. `key` makes it once-only: the same change seen twice (a webhook retried, a
 * reconciliation run again) records one event. `data` is a JSON object, or an SQL expression that
 * yields one (read in the same batch, so it is the state the change just wrote). `onlyIf` is an
 * SQL condition checked in the same batch: when it is false the change did not happen (a
 * conditional write lost its race) and no event is recorded.
 */
export interface ShopEvent {
  type: ShopEventType;
  key: string;
  data: Record<string, unknown> | SQL;
  onlyIf?: SQL;
}

/** A new event id in the Standard Webhooks spelling (`msg_` and 26 characters). */
export function newEventId(): string {
  return `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 26)}`;
}

/**
 * The outbox statements: put them in the same `db.batch` as the change that causes the event (after
 * it), so the event is recorded exactly when the change is; the relay's statements ride along, so
 * recording and fanning out cost no extra round trip. Then pass the batch's answers to `afterShopEvents`.
 */
export function shopEventStatements(db: Database, event: ShopEvent) {
  const data = is(event.data, SQL) ? sql`json(${event.data})` : sql`${JSON.stringify(event.data)}`;
  const condition = event.onlyIf ?? sql`1`;
  // Every column in table order (drizzle's INSERT … SELECT names them all); the WHERE also keeps
  // SQLite's parser from reading ON CONFLICT as a join constraint.
  const record = db
    .insert(webhookEvents)
    .select(sql`SELECT ${newEventId()}, ${event.type}, ${event.key}, ${data}, ${sqlNowIso}, NULL WHERE ${condition} AND ${data} IS NOT NULL`)
    .onConflictDoNothing({ target: webhookEvents.key });
  return [record, ...relayStatements(db)] as const;
}

/**
 * After the batch: queues the deliveries its relay statements claimed (the last answer of the
 * batch). Never throws: the change is committed, and the outbox keeps what could not be queued.
 */
export async function afterShopEvents(env: Env, batchAnswers: readonly unknown[]): Promise<void> {
  const claimed = batchAnswers[batchAnswers.length - 1] as { id: string }[] | undefined;
  await sendClaimedDeliveries(env, Array.isArray(claimed) ? claimed : []);
}

/**
 * Records one event in a batch of its own. This is not the outbox pattern (the event is not in
 * the change's batch): use it only for a fact with no write of its own to join, and prefer
 * `shopEventStatements` in the change's batch everywhere else.
 */
export async function emitShopEvent(env: Env, db: Database, event: ShopEvent): Promise<void> {
  await afterShopEvents(env, await db.batch(shopEventStatements(db, event)));
}

/** `inventory.low`: a product (or one of its variants) reached its low-stock threshold. Put it in the batch that changed the stock. */
export function inventoryLowEvent(input: {
  productId: string;
  variantId?: string | null;
  sku?: string | null;
  sellable: number;
  threshold: number;
  /** What brought the stock down (an order id, a stock edit's timestamp): the same cause seen twice is one event. */
  cause: string;
  onlyIf?: SQL;
}): ShopEvent {
  const subject = input.variantId ? `${input.productId}:${input.variantId}` : input.productId;
  return {
    type: "inventory.low",
    key: `inventory.low:${subject}:${input.cause}`,
    data: { productId: input.productId, variantId: input.variantId ?? null, sku: input.sku ?? null, sellable: input.sellable, threshold: input.threshold },
    ...(input.onlyIf ? { onlyIf: input.onlyIf } : {}),
  };
}
