import { and, eq } from "drizzle-orm";
import type { SessionUser } from "../accounts/session";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { paymentProvider } from "../payments/provider";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import { afterOrderClosed } from "./effects";
import { closePendingOrder } from "./lifecycle";
import { orders, type OrderRow } from "./schema";

/**
 * The shopper left the payment page and cancels: the provider session is expired first (so it can
 * no longer be paid), then the order is cancelled and everything it held is given back — stock
 * (in the same batch as the status change), the coupon reservation and the cart's checkout lock.
 *
 * The close is conditional on the session seen: with none stored yet (checkout is still creating
 * it) the cancel wins and fences the checkout, which then finds no pending order to store its
 * session on and expires it at the provider. When checkout stored a session meanwhile, the close
 * does nothing and the loop goes round once more to expire that session first. If the shopper paid
 * meanwhile, nothing is cancelled (409 `order_already_paid`); a delayed payment in flight is 409
 * `payment_processing`. Returns the order as it now is.
 */
export async function cancelPendingOrderForUser(env: Env, config: Config, user: Pick<SessionUser, "id">, orderId: string): Promise<OrderRow> {
  const db = getDb(env.DB);
  for (let attempt = 0; attempt < 3; attempt++) {
    const [order] = await db
      .select()
      .from(orders)
      .where(and(eq(orders.id, orderId), eq(orders.userId, user.id)))
      .limit(1);
    if (!order) throw new ProblemError(404, "not_found", "We could not find that order.");
    if (order.status !== "pending") {
      if (attempt > 0) return order; // closed by someone else while we were at it (webhook, sweeper)
      throw new ProblemError(409, "order_not_pending", "Only an unpaid order can be cancelled.");
    }
    if (order.paymentInFlight)
      throw new ProblemError(409, "payment_processing", "The payment for this order is being processed and cannot be stopped from here.");
    if (order.paymentSessionId) {
      const expired = await paymentProvider(config, db).expireSession(order.paymentSessionId);
      if (!expired) throw new ProblemError(409, "order_already_paid", "This order was paid meanwhile; it will show as paid in a moment.");
    }
    const closed = await closePendingOrder(db, { orderId: order.id, status: "cancelled", session: order.paymentSessionId });
    if (!closed) continue;
    await afterOrderClosed(env, closed);
    await recordAudit(env, {
      actor: user.id,
      action: "order.cancelled",
      subject: order.id,
      detail: { by: "shopper", fencedCheckout: order.paymentSessionId === null },
    });
    return closed;
  }
  throw new ProblemError(409, "order_busy", "This order changed while it was being cancelled. Please try again.");
}
