import { eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb, type Database } from "../db/client";
import type { StripeEventEnvelope } from "../payments/events";
import { paymentProvider, type PaymentProvider } from "../payments/provider";
import type { Config } from "../platform/config";
import { afterOrderClosed, afterOrderPaid } from "./effects";
import { bringOrderToPayment, type ReconcileKind } from "./reconcile";
import { orders, paymentEvents, processedWebhookEvents, type OrderRow } from "./schema";
import { keepStrayPayment } from "./stray-payments";
import { stripeTail } from "./payment-checks";

/** What a verified event did; the webhook answers 200 for all of them but `not_ready`. */
export type FulfilmentResult =
  | { kind: "duplicate"; orderId: string | null }
  | { kind: "ignored"; reason: string }
  | { kind: ReconcileKind; orderId: string }
  /** The order is still being written (no session id stored yet): nothing recorded, Stripe retries. */
  | { kind: "not_ready"; orderId: string };

/** Event types that say something about a payment: each makes the shop read the payment again. */
const PAYMENT_EVENT =
  /^(checkout\.session\.(completed|expired|async_payment_succeeded|async_payment_failed)|charge\.(refunded|refund\.updated|dispute\.(created|updated|closed|funds_withdrawn|funds_reinstated)))$/;

function idOf(value: unknown): string | null {
  if (typeof value === "string" && value.length > 0 && value.length <= 255) return value;
  if (value && typeof value === "object" && typeof (value as { id?: unknown }).id === "string") return (value as { id: string }).id;
  return null;
}

async function orderWhere(db: Database, column: typeof orders.id | typeof orders.paymentSessionId | typeof orders.paymentIntentId, value: string) {
  const [row] = await db.select().from(orders).where(eq(column, value)).limit(1);
  return row ?? null;
}

/**
 * The session an event is about and the order it belongs to. A session event names both; a charge
 * or dispute names only the payment intent, which the shop may not know yet (a refund can arrive
 * before the payment it refunds): then the provider says which session the intent belongs to.
 */
async function subjectOf(db: Database, provider: PaymentProvider, event: StripeEventEnvelope): Promise<{ sessionId: string | null; order: OrderRow | null }> {
  const object = event.data.object;
  if (event.type.startsWith("checkout.session.")) {
    const sessionId = idOf(object.id);
    const metadata = object.metadata as Record<string, unknown> | null | undefined;
    const ref = idOf(object.client_reference_id) ?? idOf(metadata?.orderId);
    const order = (ref ? await orderWhere(db, orders.id, ref) : null) ?? (sessionId ? await orderWhere(db, orders.paymentSessionId, sessionId) : null);
    return { sessionId, order };
  }
  const pi = idOf(object.payment_intent);
  if (!pi) return { sessionId: null, order: null };
  const known = await orderWhere(db, orders.paymentIntentId, pi);
  if (known) return { sessionId: known.paymentSessionId, order: known };
  const sessionId = await provider.sessionForIntent(pi);
  return { sessionId, order: sessionId ? await orderWhere(db, orders.paymentSessionId, sessionId) : null };
}

/** The event's journal: its dedup row and (for an order) its timeline row. Safe to write twice. */
async function journal(db: Database, event: StripeEventEnvelope, orderId: string | null, note: string): Promise<void> {
  const dedup = db.insert(processedWebhookEvents).values({ eventId: event.id, type: event.type, orderId }).onConflictDoNothing();
  if (!orderId) {
    await dedup;
    return;
  }
  // One round trip for both rows.
  await db.batch([
    dedup,
    db
      .insert(paymentEvents)
      .values({ id: `pev_${event.id}`, orderId, kind: event.type, detail: note })
      .onConflictDoNothing(),
  ]);
}

/** A replayed event: nothing to read again, but the follow-ups of the order's status run again (a retry after a failed follow-up). */
async function duplicate(env: Env, db: Database, eventId: string): Promise<FulfilmentResult | null> {
  const [seen] = await db.select().from(processedWebhookEvents).where(eq(processedWebhookEvents.eventId, eventId)).limit(1);
  if (!seen) return null;
  const order = seen.orderId ? await orderWhere(db, orders.id, seen.orderId) : null;
  if (order?.status === "paid") await afterOrderPaid(env, order);
  else if (order?.status === "expired" || order?.status === "cancelled") await afterOrderClosed(env, order);
  return { kind: "duplicate", orderId: seen.orderId };
}

/**
 * Applies a verified Stripe event (M-008): the event is a notification, not the truth. The shop
 * finds the payment it is about, reads that payment from the provider and brings the order to it
 * (`bringOrderToPayment`, the one owner of an order's money). Only then is the event id recorded,
 * so a delivery that failed half-way is read again on Stripe's retry, and a replay of a recorded
 * id changes nothing. Safe to run twice, concurrently and in any order.
 */
export async function applyPaymentEvent(env: Env, config: Config, event: StripeEventEnvelope): Promise<FulfilmentResult> {
  const db = getDb(env.DB);
  if (!PAYMENT_EVENT.test(event.type)) return { kind: "ignored", reason: "event_type" };
  const replay = await duplicate(env, db, event.id);
  if (replay) return replay;
  const provider = paymentProvider(config, db);
  const { sessionId, order } = await subjectOf(db, provider, event);
  // Checkout writes the order, then creates the session, then stores its id: an event in that
  // window is not recorded (Stripe redelivers it and the retry finds the session stored).
  if (order && order.paymentSessionId === null && order.status === "pending") return { kind: "not_ready", orderId: order.id };
  const state = sessionId ? await provider.readPayment(sessionId) : null;
  if (!order || !state || state.session.id !== order.paymentSessionId) {
    const reason = order ? "session_id" : "unknown_order";
    // A payment nobody will fulfil (no order, or a session the order does not use) is kept for a refund.
    const paid = state?.session.status === "complete" && state.session.payment_status === "paid" && (state.session.amount_total ?? 0) > 0;
    if (state && paid) await keepStrayPayment(env, db, { order, state, reason, by: "stripe" });
    if (order && state) {
      await recordAudit(env, {
        actor: "stripe",
        action: "payment.session_mismatch",
        subject: order.id,
        detail: { eventId: event.id, expected: stripeTail(order.paymentSessionId), received: stripeTail(state.session.id) },
      });
    }
    await journal(db, event, order?.id ?? null, JSON.stringify({ refused: reason }));
    return order ? { kind: "refused", orderId: order.id } : { kind: "ignored", reason };
  }
  const result = await bringOrderToPayment(env, order, state, "stripe");
  await journal(db, event, order.id, JSON.stringify({ result: result.kind, paymentIntent: state.intent?.id ?? null }));
  return { kind: result.kind, orderId: order.id };
}
