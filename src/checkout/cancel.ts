import { and, eq, sql } from "drizzle-orm";
import type { SessionUser } from "../accounts/session";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { paymentProvider } from "../payments/provider";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import { afterOrderClosed } from "./effects";
import { orders, type OrderRow } from "./schema";
import { restockPendingOrder } from "./stock";

/**
 * The shopper left the payment page and cancels: the provider session is expired first (so it can
 * no longer be paid), then the order is cancelled and everything it held is given back — stock
 * (in the same batch as the status change), the coupon reservation and the cart's checkout lock.
 * If the shopper paid meanwhile, nothing is cancelled (409 `order_already_paid`): the webhook
 * marks it paid. Returns the order as it now is.
 */
export async function cancelPendingOrderForUser(env: Env, config: Config, user: SessionUser, orderId: string): Promise<OrderRow> {
  const db = getDb(env.DB);
  const [order] = await db.select().from(orders).where(and(eq(orders.id, orderId), eq(orders.userId, user.id))).limit(1);
  if (!order) throw new ProblemError(404, "not_found", "We could not find that order.");
  if (order.status !== "pending") throw new ProblemError(409, "order_not_pending", "Only an unpaid order can be cancelled.");
  if (order.paymentSessionId) {
    const expired = await paymentProvider(config, db).expireSession(order.paymentSessionId);
    if (!expired) throw new ProblemError(409, "order_already_paid", "This order was paid meanwhile; it will show as paid in a moment.");
  }
  const [, closed] = await db.batch([
    restockPendingOrder(db, order.id),
    db
      .update(orders)
      .set({ status: "cancelled", updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))` })
      .where(and(eq(orders.id, order.id), eq(orders.status, "pending")))
      .returning(),
  ]);
  const now = closed[0];
  if (!now) {
    const [current] = await db.select().from(orders).where(eq(orders.id, order.id)).limit(1);
    return current ?? order;
  }
  await afterOrderClosed(env, now);
  await recordAudit(env, { actor: user.id, action: "order.cancelled", subject: order.id, detail: { by: "shopper" } });
  return now;
}
