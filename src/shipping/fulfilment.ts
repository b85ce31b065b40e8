import { and, eq, notInArray, sql } from "drizzle-orm";
import { shopSettingsFor } from "../settings/shop-settings";
import { requireAudit } from "../audit/audit";
import { orderShippedEvent } from "../checkout/order-events";
import { orderRecipient } from "../checkout/order-mail";
import { afterShopEvents, shopEventStatements } from "../integrations/events";
import { orders, type OrderRow } from "../checkout/schema";
import type { Database } from "../db/client";
import { enqueueMailSafely } from "../mail/mail";
import { isOpenDispute, OPEN_DISPUTE_STATUSES } from "../payments/payment-state";
import { ProblemError } from "../platform/problem";
import { orderNumberLabel } from "../web/format";

// Fulfilment: the goods leaving, beside the money's lifecycle (checkout/lifecycle.ts):
// unfulfilled → shipped → delivered, forward only, for paid orders only. Each step is one
// conditional UPDATE, so two staff at once (or a double click) make one step, and an audit event
// is on the record before it (fail closed). (checkout/payment-events.ts is the other meaning of the
// word: a paid checkout session fulfilled into a paid order.)
// Layer: this file acts on paid orders, so it sits above checkout (it imports checkout's orders
// table and order mail); nothing in checkout, cart or the rest of shipping imports it.

export interface ShipmentInput {
  carrier: string;
  trackingNumber: string;
  /** Ship although the payment is disputed: only with a reason, which is audited. */
  disputeOverrideReason?: string | undefined;
}

export interface StaffActor {
  id: string;
  ip: string | null;
}

const nowIso = (): string => new Date().toISOString();

async function orderOr404(db: Database, orderId: string): Promise<OrderRow> {
  const [order] = await db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
  if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
  return order;
}

/**
 * Marks a paid, unshipped order shipped with its carrier and tracking number, and queues the
 * shipping notice. 409 `order_not_shippable` for any other order (unpaid, refunded, shipped already).
 */
export async function markShipped(env: Env, db: Database, actor: StaffActor, orderId: string, shipment: ShipmentInput): Promise<OrderRow> {
  const order = await orderOr404(db, orderId);
  if (order.status !== "paid" || order.fulfilment !== "unfulfilled") {
    throw new ProblemError(
      409,
      "order_not_shippable",
      `Only a paid order that has not shipped can be shipped; this one is ${order.status}, ${order.fulfilment}.`,
    );
  }
  // A disputed payment may be taken back: goods wait until the dispute closes, unless staff say why not.
  const disputed = isOpenDispute(order.disputeStatus);
  const override = shipment.disputeOverrideReason?.trim();
  if (disputed && !override) {
    throw new ProblemError(
      409,
      "order_disputed",
      `The payment of this order is disputed (${order.disputeStatus}): shipping waits until the dispute closes, or give a reason to ship anyway.`,
    );
  }
  if (disputed) {
    await requireAudit(env, {
      actor: actor.id,
      ip: actor.ip,
      action: "order.ship_dispute_override",
      subject: order.id,
      detail: { reason: override, disputeStatus: order.disputeStatus },
    });
  }
  await requireAudit(env, {
    actor: actor.id,
    ip: actor.ip,
    action: "order.shipped",
    subject: order.id,
    detail: { carrier: shipment.carrier, trackingNumber: shipment.trackingNumber },
  });
  // `order.shipped` for integrations in the same batch, only if this write took (decision 023).
  const answers = await db.batch([
    db
      .update(orders)
      .set({ fulfilment: "shipped", carrier: shipment.carrier, trackingNumber: shipment.trackingNumber, shippedAt: nowIso(), updatedAt: nowIso() })
      .where(
        and(
          eq(orders.id, order.id),
          eq(orders.status, "paid"),
          eq(orders.fulfilment, "unfulfilled"),
          // A dispute opened since the read blocks it too (the override named the status it saw).
          disputed
            ? sql`${orders.disputeStatus} IS ${order.disputeStatus}`
            : notInArray(sql`coalesce(${orders.disputeStatus}, '')`, [...OPEN_DISPUTE_STATUSES]),
        ),
      )
      .returning(),
    ...shopEventStatements(db, orderShippedEvent(order.id)),
  ]);
  const [after] = answers[0];
  // Someone else shipped it between the read and the write: theirs stands, and one notice goes out.
  if (!after) throw new ProblemError(409, "order_not_shippable", "This order was shipped a moment ago.");
  await afterShopEvents(env, answers);
  await queueShippingNotice(env, after);
  return after;
}

/** Marks a shipped order delivered. 409 `order_not_delivered` unless it is shipped. */
export async function markDelivered(env: Env, db: Database, actor: StaffActor, orderId: string): Promise<OrderRow> {
  const order = await orderOr404(db, orderId);
  if (order.fulfilment !== "shipped")
    throw new ProblemError(409, "order_not_deliverable", `Only a shipped order can be delivered; this one is ${order.fulfilment}.`);
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: "order.delivered", subject: order.id, detail: {} });
  const [after] = await db
    .update(orders)
    .set({ fulfilment: "delivered", deliveredAt: nowIso(), updatedAt: nowIso() })
    .where(and(eq(orders.id, order.id), eq(orders.fulfilment, "shipped")))
    .returning();
  if (!after) throw new ProblemError(409, "order_not_deliverable", "This order was marked delivered a moment ago.");
  return after;
}

async function queueShippingNotice(env: Env, order: OrderRow): Promise<void> {
  const to = await orderRecipient(env, order);
  if (!to) return;
  const { shopName } = await shopSettingsFor(env.DB);
  const text = [
    `Good news: your order ${orderNumberLabel(order)} is on its way.`,
    `Carrier: ${order.carrier}\nTracking number: ${order.trackingNumber}`,
    `Your order: ${to.orderUrl}`,
    ...(to.linkNote ? [to.linkNote] : []),
    `— ${shopName}`,
  ].join("\n\n");
  await enqueueMailSafely(env, { to: to.to, subject: `Your ${shopName} order ${orderNumberLabel(order)} has shipped`, text, key: `order.shipped:${order.id}` });
}
