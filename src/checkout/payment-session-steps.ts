import { and, eq, isNull, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { paymentProvider } from "../payments/provider";
import { ProblemError } from "../platform/problem";
import { type CheckoutAttempt, left } from "./checkout-attempt";
import { guestOrderPath } from "./guest-access";
import { SESSION_CREATED } from "./replay";
import { orders, paymentEvents } from "./schema";

// The last two steps of a checkout: the provider's payment page, then storing it on the order,
// the point after which nothing is given back.

/**
 * Makes the provider's payment session from the order's own amounts. A guest comes back through
 * the order's own link (Stripe already holds everything the order holds); new orders start at key
 * version 1 (the column's default) and the link carries its own expiry.
 */
export async function makePaymentSession(a: CheckoutAttempt): Promise<void> {
  const order = left(a.order, "the order");
  const { orderId } = a;
  a.guestPath = await guestOrderPath(a.env, { id: orderId, userId: a.ownerId, guestKeyVersion: 1 });
  const back = `${a.config.PUBLIC_ORIGIN}${orderPathOf(a)}`;
  try {
    a.session = await paymentProvider(a.config, a.db).createCheckoutSession({
      order,
      lines: left(a.priced, "the price").lines,
      // From config, never from the Host header: a forged Host cannot redirect shoppers (P03).
      successUrl: `${back}status=success`,
      cancelUrl: `${back}status=cancelled`,
      idempotencyKey: `checkout:${orderId}`,
      expiresAt: a.expiresAt,
    });
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "payment_session_failed", orderId, error: String(error) }));
    throw new ProblemError(502, "payment_unavailable", "The payment provider could not be reached. Nothing was charged; please try again.");
  }
}

/** The order's page as a path ready for one more query parameter (`…?` or `…&`). */
export function orderPathOf(a: CheckoutAttempt): string {
  return a.guestPath ? `${a.guestPath}&` : `/orders/${a.orderId}?`;
}

/**
 * Stores the session on the order, only while it is still pending with no session: a cancel (or
 * the sweeper) that closed it meanwhile wins, the session is expired at the provider and never
 * becomes payable (issue 20 §2), and the shopper gets 409 `order_cancelled`. The replay row is
 * written only when the session was stored (INSERT … SELECT over the order row).
 */
export async function storeSession(a: CheckoutAttempt): Promise<void> {
  const { db, orderId } = a;
  const session = left(a.session, "the session");
  const detail = JSON.stringify({ sessionId: session.sessionId, url: session.url });
  const [stored] = await db.batch([
    db
      .update(orders)
      .set({ paymentSessionId: session.sessionId })
      .where(and(eq(orders.id, orderId), eq(orders.status, "pending"), isNull(orders.paymentSessionId))),
    db.insert(paymentEvents).select(
      db
        .select({
          id: sql<string>`${`pev_session_${orderId}`}`.as("id"),
          orderId: orders.id,
          kind: sql<string>`${SESSION_CREATED}`.as("kind"),
          detail: sql<string>`${detail}`.as("detail"),
          createdAt: sql<string>`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`.as("created_at"),
        })
        .from(orders)
        .where(and(eq(orders.id, orderId), eq(orders.paymentSessionId, session.sessionId))),
    ),
  ]);
  if ((stored.meta.changes ?? 0) === 0) {
    await fenceSession(a, session.sessionId);
    throw new ProblemError(409, "order_cancelled", "This order was cancelled while its payment page was being prepared. Nothing can be paid for it.");
  }
}

/**
 * The order closed while its session was being made: expire that session at the provider (it was
 * never handed out) and record why. A provider that cannot be reached leaves it to expire on its own
 * at `expires_at`; a payment to it would arrive as `payment.after_close`, for staff to refund.
 */
async function fenceSession(a: CheckoutAttempt, sessionId: string): Promise<void> {
  let expired: boolean | "unreachable";
  try {
    expired = await paymentProvider(a.config, a.db).expireSession(sessionId);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "fenced_session_expire_failed", orderId: a.orderId, error: String(error) }));
    expired = "unreachable";
  }
  await recordAudit(a.env, {
    actor: a.ownerId,
    action: "checkout.session_fenced",
    subject: a.orderId,
    detail: { session: `…${sessionId.slice(-4)}`, expired },
  });
}
