import { and, eq, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb, type Database } from "../db/client";
import { ChargeObject, CheckoutSessionObject, shippingDetailsOf, type StripeEventEnvelope } from "../payments/events";
import { afterOrderClosed, afterOrderPaid, pinCouponHold } from "./effects";
import { closeStatements } from "./lifecycle";
import { addressJson, bringsMoney, intentId, paymentMismatch, stripeTail, taxOf } from "./payment-checks";
import { orders, paymentEvents, processedWebhookEvents, type OrderRow } from "./schema";
import { queueRefundNotice } from "./order-mail";

/** What a verified event did; the webhook answers 200 for all of them. */
export type FulfilmentResult =
  | { kind: "duplicate"; orderId: string | null }
  | { kind: "ignored"; reason: string }
  | { kind: "paid"; orderId: string }
  /** Completed `unpaid` (a delayed method): pending with its holds pinned until the async outcome. */
  | { kind: "processing"; orderId: string }
  | { kind: "closed"; orderId: string; status: "expired" | "cancelled" }
  | { kind: "refunded"; orderId: string }
  | { kind: "rejected"; orderId: string; reason: string }
  | { kind: "unchanged"; orderId: string }
  /** The order is still being written (no session id stored yet): nothing recorded, Stripe retries. */
  | { kind: "not_ready"; orderId: string };

const nowIso = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** Kind of the payment_events row that remembers money received for a closed order (refundable by staff). */
export const AFTER_CLOSE_KIND = "payment.after_close";

/** D1 reports a duplicate primary key of processed_webhook_events like this. */
function isDuplicateEvent(error: unknown): boolean {
  const text = String(error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : error);
  return /UNIQUE constraint failed: processed_webhook_events\.event_id/.test(text);
}

async function findOrder(db: Database, id: string): Promise<OrderRow | null> {
  const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1);
  return row ?? null;
}

/** The order a session event is about: by our reference first, then by the session id. */
async function orderForSession(db: Database, session: CheckoutSessionObject): Promise<OrderRow | null> {
  const ref = session.client_reference_id ?? session.metadata?.orderId ?? null;
  if (ref) {
    const byRef = await findOrder(db, ref);
    if (byRef) return byRef;
  }
  const [bySession] = await db.select().from(orders).where(eq(orders.paymentSessionId, session.id)).limit(1);
  return bySession ?? null;
}

/** The dedup row and a timeline row: every applied event starts its batch with these. */
function eventRows(db: Database, event: StripeEventEnvelope, orderId: string | null, note: string) {
  const rows = [db.insert(processedWebhookEvents).values({ eventId: event.id, type: event.type, orderId })] as const;
  if (!orderId) return rows;
  return [...rows, db.insert(paymentEvents).values({ id: `pev_${event.id}`, orderId, kind: event.type, detail: note })] as const;
}

/**
 * Records an event that changes nothing (a mismatch, an out-of-order event) so a retry is a
 * duplicate. Returns false when the event id had already been recorded.
 */
async function recordOnly(db: Database, event: StripeEventEnvelope, orderId: string | null, note: string): Promise<boolean> {
  try {
    const [first, ...rest] = eventRows(db, event, orderId, note);
    await db.batch([first, ...rest]);
    return true;
  } catch (error) {
    if (isDuplicateEvent(error)) return false;
    throw error;
  }
}

/** Re-runs the idempotent follow-ups for an order's current status (retries of failed follow-ups). */
async function followUps(env: Env, db: Database, orderId: string | null): Promise<void> {
  if (!orderId) return;
  const order = await findOrder(db, orderId);
  if (order?.status === "paid") await afterOrderPaid(env, order);
  else if (order?.status === "expired" || order?.status === "cancelled") await afterOrderClosed(env, order);
}

/**
 * One D1 batch: the event's dedup row, its timeline row and the order change, so an event is
 * applied exactly once. The change's row count, or a replay's answer when the event was seen.
 */
async function withEventRows(
  env: Env,
  db: Database,
  event: StripeEventEnvelope,
  orderId: string,
  note: string,
  change: Parameters<Database["batch"]>[0][number],
): Promise<{ changed: number; after: OrderRow | null } | { duplicate: FulfilmentResult }> {
  try {
    const [dedup, timeline] = eventRows(db, event, orderId, note);
    // The order as the change left it, read in the same round trip (the follow-ups need it).
    const after = db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
    const results = await db.batch([dedup, timeline!, change, after]);
    return { changed: (results[2] as D1Result).meta.changes ?? 0, after: (results[3] as OrderRow[])[0] ?? null };
  } catch (error) {
    if (isDuplicateEvent(error)) return { duplicate: await duplicate(env, db, event.id) };
    throw error;
  }
}

async function duplicate(env: Env, db: Database, eventId: string): Promise<FulfilmentResult> {
  const [seen] = await db.select().from(processedWebhookEvents).where(eq(processedWebhookEvents.eventId, eventId)).limit(1);
  const orderId = seen?.orderId ?? null;
  await followUps(env, db, orderId);
  return { kind: "duplicate", orderId };
}

async function applySessionPaid(env: Env, db: Database, event: StripeEventEnvelope, session: CheckoutSessionObject): Promise<FulfilmentResult> {
  const order = await orderForSession(db, session);
  if (!order) {
    return (await recordOnly(db, event, null, "")) ? { kind: "ignored", reason: "unknown_order" } : duplicate(env, db, event.id);
  }
  // Checkout writes the order, then creates the Stripe session, then stores its id: an event in
  // that window must not be recorded (its retry would count as a duplicate and the payment would
  // be lost). Answer "not ready" so Stripe redelivers; the retry finds the session id stored.
  if (order.paymentSessionId === null && order.status === "pending") return { kind: "not_ready", orderId: order.id };
  const mismatch = paymentMismatch(env, order, session, event.type);
  if (mismatch) {
    const note = JSON.stringify({ refused: mismatch.reason });
    if (!(await recordOnly(db, event, order.id, note))) return duplicate(env, db, event.id);
    await recordAudit(env, {
      actor: "stripe",
      action: mismatch.action,
      subject: order.id,
      detail: {
        eventId: event.id,
        reason: mismatch.reason,
        expected: {
          sessionId: order.paymentSessionId,
          amountTotal: order.totalCents,
          amountShipping: order.shippingCents,
          taxMode: order.taxMode,
          currency: order.currency.toLowerCase(),
        },
        received: {
          sessionId: session.id,
          amountTotal: session.amount_total,
          amountShipping: session.total_details?.amount_shipping ?? 0,
          amountTax: taxOf(session),
          shippingCountry: shippingDetailsOf(session)?.address.country ?? null,
          currency: session.currency,
          paymentStatus: session.payment_status,
        },
      },
    });
    return { kind: "rejected", orderId: order.id, reason: mismatch.reason };
  }
  const pi = intentId(session.payment_intent);
  if (order.status !== "pending") {
    const stray = order.status !== "paid" && order.status !== "refunded" && bringsMoney(session);
    try {
      const [dedup, timeline] = eventRows(db, event, order.id, JSON.stringify({ ignored: `order_${order.status}` }));
      // Money for a closed order is remembered with what staff need to refund it (admin/orders.ts).
      const strayRow = db.insert(paymentEvents).values({
        id: `pev_after_close_${event.id}`,
        orderId: order.id,
        kind: AFTER_CLOSE_KIND,
        detail: JSON.stringify({
          paymentIntent: pi,
          sessionId: session.id,
          amountCents: session.amount_total,
          currency: (session.currency ?? order.currency).toLowerCase(),
          eventId: event.id,
        }),
      });
      await (stray ? db.batch([dedup, timeline!, strayRow]) : db.batch([dedup, timeline!]));
    } catch (error) {
      if (isDuplicateEvent(error)) return duplicate(env, db, event.id);
      throw error;
    }
    if (stray) {
      // Money arrived for an order we already closed: staff must refund it.
      await recordAudit(env, {
        actor: "stripe",
        action: "payment.after_close",
        subject: order.id,
        detail: { eventId: event.id, status: order.status, amountTotal: session.amount_total, currency: session.currency, paymentIntent: stripeTail(pi) },
      });
    }
    return { kind: "unchanged", orderId: order.id };
  }
  if (session.payment_status === "unpaid") return applyPaymentStarted(env, db, event, order, session);
  // The status change repeats every check in SQL, so an order changed since we read it stays as it is.
  // Tax and the address become part of the order now: the total is what Stripe charged.
  const tax = taxOf(session);
  const markPaid = db
    .update(orders)
    .set({
      status: "paid",
      paidAt: nowIso,
      updatedAt: nowIso,
      paymentIntentId: pi,
      paymentInFlight: false,
      taxCents: tax,
      totalCents: session.amount_total ?? order.totalCents,
      shippingAddress: addressJson(session),
    })
    .where(
      and(
        eq(orders.id, order.id),
        eq(orders.status, "pending"),
        eq(orders.paymentSessionId, session.id),
        eq(orders.totalCents, (session.amount_total ?? -1) - tax),
        eq(orders.shippingCents, session.total_details?.amount_shipping ?? 0),
        sql`lower(${orders.currency}) = ${(session.currency ?? "").toLowerCase()}`,
      ),
    );
  const step = await withEventRows(env, db, event, order.id, JSON.stringify({ paymentIntent: pi }), markPaid);
  if ("duplicate" in step) return step.duplicate;
  const now = step.after;
  if (step.changed === 0 || !now) return { kind: "unchanged", orderId: order.id };
  await recordAudit(env, {
    actor: "stripe",
    action: "order.paid",
    subject: order.id,
    detail: {
      eventId: stripeTail(event.id),
      session: stripeTail(session.id),
      paymentIntent: stripeTail(pi),
      amountTotal: session.amount_total,
      currency: session.currency,
      paymentStatus: session.payment_status,
    },
  });
  await afterOrderPaid(env, now);
  return { kind: "paid", orderId: order.id };
}

/**
 * `checkout.session.completed` with `payment_status: "unpaid"`: a delayed method (ACH, SEPA…) has
 * started. The order stays pending, marked in flight so neither the sweeper nor a shopper's cancel
 * closes it, and its coupon reservation is pinned until `async_payment_succeeded` / `_failed`
 * (stock and the cart's lock follow the order already).
 */
async function applyPaymentStarted(
  env: Env,
  db: Database,
  event: StripeEventEnvelope,
  order: OrderRow,
  session: CheckoutSessionObject,
): Promise<FulfilmentResult> {
  const mark = db
    .update(orders)
    .set({ paymentInFlight: true, updatedAt: nowIso })
    .where(and(eq(orders.id, order.id), eq(orders.status, "pending"), eq(orders.paymentSessionId, session.id), eq(orders.paymentInFlight, false)));
  const step = await withEventRows(env, db, event, order.id, JSON.stringify({ paymentStatus: "unpaid" }), mark);
  if ("duplicate" in step) return step.duplicate;
  const now = step.after;
  if (step.changed === 0 || !now) return { kind: "unchanged", orderId: order.id };
  await pinCouponHold(env, now);
  await recordAudit(env, {
    actor: "stripe",
    action: "order.payment_processing",
    subject: order.id,
    detail: { eventId: stripeTail(event.id), session: stripeTail(session.id) },
  });
  return { kind: "processing", orderId: order.id };
}

async function applySessionClosed(
  env: Env,
  db: Database,
  event: StripeEventEnvelope,
  session: CheckoutSessionObject,
  status: "expired" | "cancelled",
): Promise<FulfilmentResult> {
  const order = await orderForSession(db, session);
  if (!order) {
    return (await recordOnly(db, event, null, "")) ? { kind: "ignored", reason: "unknown_order" } : duplicate(env, db, event.id);
  }
  if (order.paymentSessionId === null && order.status === "pending") return { kind: "not_ready", orderId: order.id };
  if (session.id !== order.paymentSessionId) {
    if (!(await recordOnly(db, event, order.id, JSON.stringify({ refused: "session_id" })))) return duplicate(env, db, event.id);
    await recordAudit(env, {
      actor: "stripe",
      action: "payment.session_mismatch",
      subject: order.id,
      detail: { eventId: event.id, expected: order.paymentSessionId, received: session.id },
    });
    return { kind: "rejected", orderId: order.id, reason: "session_id" };
  }
  // Stock comes back only while the order is still pending, in the same batch that closes it; an
  // `expired` never closes an order whose payment is in flight, an async failure ends exactly that.
  const [restock, close] = closeStatements(db, {
    orderId: order.id,
    status,
    session: session.id,
    inFlight: event.type === "checkout.session.async_payment_failed",
  });
  let now: OrderRow | undefined;
  try {
    const [dedup, timeline] = eventRows(db, event, order.id, "");
    const results = await db.batch([dedup, timeline!, restock, close]);
    now = results[3][0];
  } catch (error) {
    if (isDuplicateEvent(error)) return duplicate(env, db, event.id);
    throw error;
  }
  if (!now) return { kind: "unchanged", orderId: order.id };
  await recordAudit(env, {
    actor: "stripe",
    action: `order.${status}`,
    subject: order.id,
    detail: { eventId: stripeTail(event.id), session: stripeTail(session.id) },
  });
  await afterOrderClosed(env, now);
  return { kind: "closed", orderId: order.id, status };
}

async function applyRefund(env: Env, db: Database, event: StripeEventEnvelope, charge: ChargeObject): Promise<FulfilmentResult> {
  const pi = intentId(charge.payment_intent);
  const [order] = pi ? await db.select().from(orders).where(eq(orders.paymentIntentId, pi)).limit(1) : [];
  if (!order) {
    return (await recordOnly(db, event, null, "")) ? { kind: "ignored", reason: "unknown_order" } : duplicate(env, db, event.id);
  }
  const full = charge.refunded || charge.amount_refunded >= charge.amount;
  const note = JSON.stringify({ amountRefunded: charge.amount_refunded, full });
  // A partial refund keeps the order paid; only a full refund moves it on (forward only).
  const markRefunded = db
    .update(orders)
    .set({ status: "refunded", updatedAt: nowIso })
    .where(and(eq(orders.id, order.id), eq(orders.status, "paid"), eq(orders.paymentIntentId, pi!)));
  try {
    const [dedup, timeline] = eventRows(db, event, order.id, note);
    const notice = { amountRefundedCents: charge.amount_refunded, full, eventId: event.id };
    if (!full) {
      await db.batch([dedup, timeline!]);
      await queueRefundNotice(env, order, notice);
      return { kind: "unchanged", orderId: order.id };
    }
    const results = await db.batch([dedup, timeline!, markRefunded]);
    if ((results[2].meta.changes ?? 0) === 0) return { kind: "unchanged", orderId: order.id };
    await queueRefundNotice(env, order, notice);
    await recordAudit(env, {
      actor: "stripe",
      action: "order.refunded",
      subject: order.id,
      detail: { eventId: stripeTail(event.id), paymentIntent: stripeTail(pi), amountRefunded: charge.amount_refunded },
    });
    return { kind: "refunded", orderId: order.id };
  } catch (error) {
    if (isDuplicateEvent(error)) return duplicate(env, db, event.id);
    throw error;
  }
}

/**
 * Applies a verified Stripe event to orders, at most once per event id (M-008): the event id is
 * inserted in the same D1 batch as its effects, so a replay or a concurrent duplicate fails as a
 * whole, and each status change is conditional on the order's current status (forward only:
 * pending → paid → refunded, pending → expired | cancelled). Safe to run twice.
 */
export async function fulfilCheckoutSession(env: Env, event: StripeEventEnvelope): Promise<FulfilmentResult> {
  const db = getDb(env.DB);
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
    case "checkout.session.expired":
    case "checkout.session.async_payment_failed": {
      const session = CheckoutSessionObject.safeParse(event.data.object);
      if (!session.success) return { kind: "ignored", reason: "malformed_object" };
      if (event.type === "checkout.session.expired") return applySessionClosed(env, db, event, session.data, "expired");
      if (event.type === "checkout.session.async_payment_failed") return applySessionClosed(env, db, event, session.data, "cancelled");
      return applySessionPaid(env, db, event, session.data);
    }
    case "charge.refunded": {
      const charge = ChargeObject.safeParse(event.data.object);
      if (!charge.success) return { kind: "ignored", reason: "malformed_object" };
      return applyRefund(env, db, event, charge.data);
    }
    default:
      return { kind: "ignored", reason: "event_type" };
  }
}
