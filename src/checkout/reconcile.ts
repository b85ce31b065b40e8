import { and, eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { pinCouponHold } from "../coupons/coupon-hold";
import { getDb, type Database, sqlNowIso } from "../db/client";
import type { PaymentState } from "../payments/payment-state";
import type { PaymentProvider } from "../payments/provider";
import { reconcileCharge, type Reconciler } from "./charge-books";
import { afterOrderClosed, afterOrderPaid, couponHoldOf } from "./effects";
import { afterShopEvents, shopEventStatements } from "../integrations/events";
import { orderPaidEvent } from "./order-events";
import { closeStatements } from "./lifecycle";
import { addressJson, allowedCountries, paymentMismatch, stripeTail, taxOf } from "./payment-checks";
import { orders, type OrderRow } from "./schema";
import { keepStrayPayment } from "./stray-payments";

/**
 * The one owner of an order's money state (issue 29). Events, the sweeper and staff actions never
 * move an order's money themselves: they ask the provider what is true now (`readPayment`) and
 * call `bringOrderToPayment`, which makes the order agree with it. Every write is conditional on
 * the state it was decided from; a write that lost a race reads again and decides again, so the
 * result does not depend on event order, duplicates or timing.
 */

/** What reconciling did to the order's payment phase (the charge's books are kept beside it). */
export type ReconcileKind = "paid" | "processing" | "closed" | "refused" | "stray" | "unchanged";

export interface Reconciled {
  kind: ReconcileKind;
  order: OrderRow;
}

export type { Reconciler } from "./charge-books";

/** Up to this many decide-and-write rounds when a concurrent writer keeps changing the order. */
const ROUNDS = 4;

async function readOrder(db: Database, id: string): Promise<OrderRow | null> {
  const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1);
  return row ?? null;
}

/** Did the payment bring money (or complete a 0 total) for good? */
function received(state: PaymentState): boolean {
  const s = state.session;
  if (s.status !== "complete") return false;
  if (s.payment_status === "no_payment_required") return true;
  return s.payment_status === "paid" && (state.intent === null || state.intent.status === "succeeded");
}

/** A delayed method failed: the session completed, the money never came. */
function failed(state: PaymentState): boolean {
  return (
    state.session.status === "complete" &&
    state.session.payment_status === "unpaid" &&
    (state.intent?.status === "requires_payment_method" || state.intent?.status === "canceled")
  );
}

/** Brings the order to the provider's state. `state` is what `readPayment` answered for the order's session. */
export async function bringOrderToPayment(env: Env, order: OrderRow, state: PaymentState, by: Reconciler): Promise<Reconciled> {
  const db = getDb(env.DB);
  let current = order;
  let kind: ReconcileKind = "unchanged";
  for (let round = 0; round < ROUNDS; round++) {
    const step = await decideAndWrite(env, db, current, state, by);
    if (step.kind !== "raced") {
      kind = step.kind;
      current = step.order;
      break;
    }
    const again = await readOrder(db, current.id);
    if (!again) return { kind: "unchanged", order: current };
    current = again;
  }
  if (current.status === "paid" || current.status === "refunded") current = await reconcileCharge(env, db, current, state, by);
  return { kind, order: current };
}

type Step = { kind: ReconcileKind; order: OrderRow } | { kind: "raced" };

async function decideAndWrite(env: Env, db: Database, order: OrderRow, state: PaymentState, by: Reconciler): Promise<Step> {
  const session = state.session;
  if (session.id !== order.paymentSessionId) return { kind: "unchanged", order };
  if (order.status === "expired" || order.status === "cancelled") {
    if (!received(state) || (session.amount_total ?? 0) <= 0) return { kind: "unchanged", order };
    // Money for an order the shop closed: kept once per payment, for staff to refund.
    await keepStrayPayment(env, db, { order, state, reason: `order_${order.status}`, by });
    return { kind: "stray", order };
  }
  if (order.status !== "pending") return { kind: "unchanged", order };
  if (received(state)) {
    const mismatch = paymentMismatch(order, session, allowedCountries(env, order));
    if (mismatch) return refuse(env, db, order, state, mismatch, by);
    return pay(env, db, order, state, by);
  }
  if (failed(state)) return close(env, db, order, "cancelled", by);
  if (session.status === "expired") return close(env, db, order, "expired", by);
  if (session.status === "complete" && session.payment_status === "unpaid") return markInFlight(env, db, order, by);
  return { kind: "unchanged", order };
}

async function pay(env: Env, db: Database, order: OrderRow, state: PaymentState, by: Reconciler): Promise<Step> {
  const session = state.session;
  const tax = taxOf(session);
  // `order.paid` for integrations is recorded in the same batch, only if this write took (decision 023).
  const answers = await db.batch([
    db
      .update(orders)
      .set({
        status: "paid",
        paidAt: sqlNowIso,
        updatedAt: sqlNowIso,
        paymentIntentId: state.intent?.id ?? null,
        paymentInFlight: false,
        taxCents: tax,
        totalCents: session.amount_total ?? order.totalCents,
        shippingAddress: addressJson(session),
      })
      .where(and(eq(orders.id, order.id), eq(orders.status, "pending"), eq(orders.paymentSessionId, session.id), eq(orders.totalCents, order.totalCents)))
      .returning(),
    ...shopEventStatements(db, orderPaidEvent(order.id)),
  ]);
  const [now] = answers[0];
  if (!now) return { kind: "raced" };
  await afterShopEvents(env, answers);
  await recordAudit(env, {
    actor: by,
    action: "order.paid",
    subject: order.id,
    detail: {
      session: stripeTail(session.id),
      paymentIntent: stripeTail(state.intent?.id),
      amountTotal: session.amount_total,
      currency: session.currency,
      paymentStatus: session.payment_status,
    },
  });
  await afterOrderPaid(env, now);
  return { kind: "paid", order: now };
}

async function markInFlight(env: Env, db: Database, order: OrderRow, by: Reconciler): Promise<Step> {
  if (order.paymentInFlight) return { kind: "unchanged", order };
  const [now] = await db
    .update(orders)
    .set({ paymentInFlight: true, updatedAt: sqlNowIso })
    .where(and(eq(orders.id, order.id), eq(orders.status, "pending"), eq(orders.paymentInFlight, false)))
    .returning();
  if (!now) return { kind: "raced" };
  const hold = couponHoldOf(now);
  if (hold) await pinCouponHold(env, hold);
  await recordAudit(env, {
    actor: by,
    // The webhook reports a delayed method starting; the sweeper finds a completed session nobody told us of.
    action: by === "sweeper" ? "order.payment_in_flight" : "order.payment_processing",
    subject: order.id,
    detail: by === "sweeper" ? { reason: "session_completed_without_webhook" } : { session: stripeTail(order.paymentSessionId) },
  });
  return { kind: "processing", order: now };
}

/** Closes a pending order unpaid, stock back in the same batch; coupon and cart follow. */
async function close(env: Env, db: Database, order: OrderRow, status: "expired" | "cancelled", by: Reconciler): Promise<Step> {
  // The provider says the session is over, so a payment marked in flight has ended too.
  const [restock, update] = closeStatements(db, { orderId: order.id, status, session: order.paymentSessionId, inFlight: true });
  const [, closed] = await db.batch([restock, update]);
  const now = closed[0];
  if (!now) return { kind: "raced" };
  await recordAudit(env, { actor: by, action: `order.${status}`, subject: order.id, detail: { session: stripeTail(order.paymentSessionId), by } });
  await afterOrderClosed(env, now);
  return { kind: "closed", order: now };
}

/**
 * A payment that does not agree with its order (amount, shipping, tax, country, currency): the
 * order is not paid. It can never be paid by this session any more (the session completed), so it
 * closes and gives its holds back, and the money is kept as a stray payment for staff to refund.
 */
async function refuse(
  env: Env,
  db: Database,
  order: OrderRow,
  state: PaymentState,
  mismatch: { action: string; reason: string },
  by: Reconciler,
): Promise<Step> {
  const [restock, update] = closeStatements(db, { orderId: order.id, status: "cancelled", session: order.paymentSessionId, inFlight: true });
  const [, closed] = await db.batch([restock, update]);
  const now = closed[0];
  if (!now) return { kind: "raced" };
  const session = state.session;
  await recordAudit(env, {
    actor: by,
    action: mismatch.action,
    subject: order.id,
    detail: {
      reason: mismatch.reason,
      expected: { amountTotal: order.totalCents, amountShipping: order.shippingCents, taxMode: order.taxMode, currency: order.currency.toLowerCase() },
      received: {
        amountTotal: session.amount_total,
        amountShipping: session.total_details?.amount_shipping ?? 0,
        amountTax: taxOf(session),
        currency: session.currency,
        paymentStatus: session.payment_status,
      },
    },
  });
  await afterOrderClosed(env, now);
  if (session.payment_status === "paid" && (session.amount_total ?? 0) > 0) await keepStrayPayment(env, db, { order: now, state, reason: mismatch.reason, by });
  return { kind: "refused", order: now };
}

/**
 * Reads the order's payment at the provider and brings the order to it. Null when the order has
 * no session yet (checkout is still writing it) or the provider knows no such session.
 */
export async function reconcileOrder(env: Env, provider: PaymentProvider, order: OrderRow, by: Reconciler): Promise<Reconciled | null> {
  if (!order.paymentSessionId) return null;
  const state = await provider.readPayment(order.paymentSessionId);
  if (!state) return null;
  return bringOrderToPayment(env, order, state, by);
}
