import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { orderLines, orders, type OrderRow } from "../../src/checkout/schema";
import { getDb } from "../../src/db/client";
import { signUpAndSignIn } from "./accounts";
import { makeProduct, unique } from "./factories";
import { deliverEvent, sessionEvent, stripeChanges } from "./stripe";
import { makeCoupon, ledger } from "./coupons";
import { cartStubForUser } from "../../src/cart/cart";
import { COUPON_HOLD_MARGIN_SECONDS, SESSION_LIFETIME_SECONDS } from "../../src/checkout/lifecycle";
import { createSimulatorSession } from "../../src/payments/simulator-store";

/** A pending order straight in D1, with one line whose product exists (stock already taken). */
export async function makePendingOrder(
  overrides: Partial<typeof orders.$inferInsert> & { quantity?: number; stockLeft?: number } = {},
): Promise<{ order: OrderRow; productId: string }> {
  const quantity = overrides.quantity ?? 2;
  const product = await makeProduct({ priceCents: 1250, stock: overrides.stockLeft ?? 5 });
  const id = overrides.id ?? unique("ord");
  const total = overrides.totalCents ?? product.priceCents * quantity;
  const db = getDb(env.DB);
  await db.insert(orders).values({
    id,
    userId: overrides.userId ?? unique("usr"),
    status: overrides.status ?? "pending",
    currency: overrides.currency ?? "USD",
    subtotalCents: overrides.subtotalCents ?? total,
    discountCents: overrides.discountCents ?? 0,
    totalCents: total,
    couponCode: overrides.couponCode ?? null,
    provider: "simulator",
    paymentSessionId: overrides.paymentSessionId === undefined ? `cs_test_${unique("s").replaceAll("-", "")}` : overrides.paymentSessionId,
    paymentIntentId: overrides.paymentIntentId ?? null,
  });
  await db
    .insert(orderLines)
    .values({ orderId: id, productId: product.id, variantId: product.variantId, name: product.name, unitPriceCents: product.priceCents, quantity });
  const order = (await orderRow(id))!;
  // A paid order's payment exists at "Stripe" too (the shop reads it back on every event).
  if (order.status === "paid" || order.status === "refunded") {
    await stripeChanges(
      sessionEvent({
        type: "checkout.session.completed",
        sessionId: order.paymentSessionId!,
        orderId: id,
        amountTotal: total,
        currency: order.currency,
        paymentStatus: "paid",
        paymentIntentId: order.paymentIntentId ?? null,
      }),
    );
  }
  return { order, productId: product.id };
}

/**
 * `count` paid orders of one user straight in D1 (one product, one line each), written in one
 * batch of small statements: enough orders to push any per-user list past D1's 100 parameters.
 */
export async function makeManyOrders(userId: string, count: number): Promise<string[]> {
  const product = await makeProduct({ priceCents: 700, stock: 0 });
  const db = getDb(env.DB);
  const ids = Array.from({ length: count }, (_, i) => `${unique("ord")}-${String(i).padStart(3, "0")}`);
  const statements = ids.flatMap((id) => [
    db.insert(orders).values({ id, userId, status: "paid", currency: "USD", subtotalCents: 700, discountCents: 0, totalCents: 700, provider: "simulator" }),
    db.insert(orderLines).values({ orderId: id, productId: product.id, variantId: product.variantId, name: product.name, unitPriceCents: 700, quantity: 1 }),
  ]);
  await db.batch(statements as unknown as Parameters<typeof db.batch>[0]);
  return ids;
}

/** The order row as D1 has it now. */
export async function orderRow(id: string): Promise<OrderRow | null> {
  const [row] = await getDb(env.DB).select().from(orders).where(eq(orders.id, id));
  return row ?? null;
}

/** Stock of a product now. */
export async function stockOf(productId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT stock FROM products WHERE id = ?").bind(productId).first<{ stock: number }>();
  return row?.stock ?? -1;
}

/** How many times an event id was recorded (0 or 1). */
export async function processedCount(eventId?: string): Promise<number> {
  const row = eventId
    ? await env.DB.prepare("SELECT count(*) AS n FROM processed_webhook_events WHERE event_id = ?").bind(eventId).first<{ n: number }>()
    : await env.DB.prepare("SELECT count(*) AS n FROM processed_webhook_events").first<{ n: number }>();
  return row?.n ?? 0;
}

/** payment_events rows of an order, as kinds, oldest first. */
export async function timelineKinds(orderId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT kind FROM payment_events WHERE order_id = ? ORDER BY created_at, id").bind(orderId).all<{ kind: string }>();
  return results.map((r) => r.kind);
}

/** The state one order of the lifecycle table starts in (docs/decisions/013-order-lifecycle.md). */
export interface HeldOrder {
  order: OrderRow;
  productId: string;
  variantId: string;
  couponCode: string;
  userId: string;
  sessionId: string;
  /** The payment intent the order's events use. */
  paymentIntentId: string;
}

/**
 * An order exactly as checkout leaves it, built straight in the stores: 2 units taken from a
 * product that had 5 (3 left), a single-use coupon reserved for it until its session's expiry plus
 * the margin, a real simulator session with `expires_at` 31 minutes ahead, and the user's cart
 * locked by it. `free`: a 100 % coupon, total 0.
 */
export async function makeHeldOrder(opts: { userId?: string; free?: boolean; provider?: "simulator" | "stripe" } = {}): Promise<HeldOrder> {
  const userId = opts.userId ?? unique("usr");
  const product = await makeProduct({ priceCents: 1250, stock: 3 });
  const coupon = await makeCoupon({ percentOff: opts.free ? 100 : 10, maxRedemptions: 1 });
  const id = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
  const subtotal = 2500;
  const discount = opts.free ? 2500 : 250;
  const expiresAt = Math.floor(Date.now() / 1000) + SESSION_LIFETIME_SECONDS;
  const reserved = await ledger(coupon.code).reserve({
    orderId: id,
    userId,
    definition: { maxRedemptions: 1, perCustomerLimit: null },
    ttlMs: (SESSION_LIFETIME_SECONDS + COUPON_HOLD_MARGIN_SECONDS) * 1000,
  });
  if (!reserved.ok) throw new Error("reserve failed");
  const db = getDb(env.DB);
  const sessionId = await createSimulatorSession(db, {
    orderId: id,
    amountTotal: subtotal - discount,
    currency: "usd",
    successUrl: `http://localhost:8787/orders/${id}?status=success`,
    cancelUrl: `http://localhost:8787/orders/${id}?status=cancelled`,
    expiresAt,
    idempotencyKey: `checkout:${id}`,
  });
  await db.insert(orders).values({
    id,
    userId,
    currency: "USD",
    subtotalCents: subtotal,
    discountCents: discount,
    totalCents: subtotal - discount,
    couponCode: coupon.code,
    provider: opts.provider ?? "simulator",
    paymentSessionId: sessionId,
    paymentExpiresAt: expiresAt,
  });
  await db
    .insert(orderLines)
    .values({ orderId: id, productId: product.id, variantId: product.variantId, name: product.name, unitPriceCents: product.priceCents, quantity: 2 });
  const cart = cartStubForUser(env, userId);
  await cart.addItem(product.id, 2);
  const begun = await cart.beginCheckout(id);
  if (!begun.ok) throw new Error("cart lock failed");
  return {
    order: (await orderRow(id))!,
    productId: product.id,
    variantId: product.variantId,
    couponCode: coupon.code,
    userId,
    sessionId,
    paymentIntentId: `pi_test_${id.slice(4, 28)}`,
  };
}

/** Audit actions about one subject written after `afterId`, oldest first. */
export async function auditActionsFor(subject: string, afterId: number): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT action FROM audit_events WHERE id > ? AND subject = ? ORDER BY id")
    .bind(afterId, subject)
    .all<{ action: string }>();
  return results.map((r) => r.action);
}

/** The `checkout.session.completed` (paid, in full) event Stripe would send for a held order. */
export function paidEventFor(held: HeldOrder): Record<string, unknown> {
  return sessionEvent({
    type: "checkout.session.completed",
    sessionId: held.sessionId,
    orderId: held.order.id,
    amountTotal: held.order.totalCents,
    currency: "usd",
    paymentStatus: "paid",
    paymentIntentId: held.paymentIntentId,
  });
}

/** The `checkout.session.expired` event Stripe would send for a held order. */
export function expiredEventFor(held: HeldOrder): Record<string, unknown> {
  return sessionEvent({
    type: "checkout.session.expired",
    sessionId: held.sessionId,
    orderId: held.order.id,
    amountTotal: held.order.totalCents,
    currency: "usd",
    paymentStatus: "unpaid",
  });
}

/**
 * A paid order (22.50 USD) of a real, signed-up shopper, so its mail has an address: built by
 * makeHeldOrder, then paid by a signed `checkout.session.completed` webhook. `paidEvent` is that
 * event, for a test that delivers it again.
 */
export async function makePaidOrder(): Promise<{ held: HeldOrder; orderId: string; email: string; cookie: string; paidEvent: Record<string, unknown> }> {
  const shopper = await signUpAndSignIn();
  const held = await makeHeldOrder({ userId: shopper.user.id });
  const paidEvent = paidEventFor(held);
  const res = await deliverEvent(paidEvent);
  if (res.status !== 200) throw new Error(`paying the order failed: ${res.status} ${await res.text()}`);
  return { held, orderId: held.order.id, email: shopper.email, cookie: shopper.cookie, paidEvent };
}

/** Stripe's `checkout.session.completed` for an order as the shop made it, with what Checkout collected. */
export async function completedEventFor(orderId: string, overrides: Partial<Parameters<typeof sessionEvent>[0]> = {}) {
  const order = (await orderRow(orderId))!;
  return sessionEvent({
    type: "checkout.session.completed",
    sessionId: order.paymentSessionId!,
    orderId,
    amountTotal: order.totalCents,
    currency: order.currency.toLowerCase(),
    paymentStatus: "paid",
    amountShipping: order.shippingCents,
    amountDiscount: order.discountCents,
    shippingRateId: order.shippingRateId ? "shr_test_1" : null,
    customerEmail: order.customerEmail,
    shippingDetails: order.shippingRateId
      ? { name: "Ada Lovelace", address: { line1: "12 Analytical Row", city: "London", postal_code: "N1 9GU", country: "US" } }
      : null,
    ...overrides,
  });
}
