import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client";
import { ProblemError } from "../platform/problem";
import { guestOrderPath } from "./guest-access";
import { orders, paymentEvents } from "./schema";

/** What POST /api/checkout answers (API.md); a guest also gets the link that opens the order. */
export interface CheckoutStarted {
  orderId: string;
  checkoutUrl: string;
  orderUrl?: string;
}

/** An Idempotency-Key as clients send it: opaque, printable, bounded. */
export const IdempotencyKey = z.string().regex(/^[\x21-\x7e]{1,200}$/, "1–200 printable ASCII characters");

/** Kind of the payment_events row that remembers a session's URL, for idempotent replays. */
export const SESSION_CREATED = "checkout.session_created";

/**
 * The answer already given for this user's key, or null; a key whose session is not made yet is a
 * 409. Only an order that can still be paid hands its URL out again: a closed order, one whose
 * session expired or whose payment is in flight answers 409 and never a payment page.
 */
export async function replay(env: Env, origin: string, db: Database, userId: string, key: string): Promise<CheckoutStarted | null> {
  const [order] = await db
    .select({
      id: orders.id,
      status: orders.status,
      inFlight: orders.paymentInFlight,
      expiresAt: orders.paymentExpiresAt,
      userId: orders.userId,
      guestKeyVersion: orders.guestKeyVersion,
    })
    .from(orders)
    .where(and(eq(orders.userId, userId), eq(orders.idempotencyKey, key)))
    .limit(1);
  if (!order) return null;
  if (order.status !== "pending" || (order.expiresAt !== null && order.expiresAt * 1000 <= Date.now())) {
    throw new ProblemError(
      409,
      "checkout_closed",
      `The order made with this key is ${order.status === "pending" ? "past its payment time" : order.status}; start a new checkout with a new key.`,
    );
  }
  if (order.inFlight) throw new ProblemError(409, "payment_processing", "The payment for the order made with this key is being processed.");
  const [created] = await db
    .select({ detail: paymentEvents.detail })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.orderId, order.id), eq(paymentEvents.kind, SESSION_CREATED)))
    .limit(1);
  if (!created?.detail) throw new ProblemError(409, "checkout_in_progress", "A checkout with this key is still being set up.");
  const { url } = JSON.parse(created.detail) as { url: string };
  const guestPath = await guestOrderPath(env, order);
  return guestPath ? { orderId: order.id, checkoutUrl: url, orderUrl: `${origin}${guestPath}` } : { orderId: order.id, checkoutUrl: url };
}

/** Internal: a concurrent request with the same key won; its answer is ours. */
export class ReplayFound extends Error {
  constructor(readonly result: CheckoutStarted) {
    super("replay");
  }
}
