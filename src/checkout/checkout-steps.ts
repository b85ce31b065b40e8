import { eq, sql } from "drizzle-orm";
import type { BeginCheckoutResult, CartObject } from "../cart/cart-object";
import { productVariants } from "../catalog/schema";
import { releaseCouponHold, reserveCouponHold } from "../coupons/coupon-hold";
import { computeDiscountCents } from "../coupons/coupons";
import { couponCustomerKey, normaliseEmail } from "../coupons/customer";
import { provenCartMailbox } from "../cart/promotion-identity";
import type { Database } from "../db/client";
import { assertChargeable } from "../payments/currency";
import { ProblemError } from "../platform/problem";
import { checkoutTotalCents, shippingAmountFor } from "../shipping/checkout-pricing";
import { giveBackTaken, takeOrderUnits } from "../stock-gate/gate";
import { type CheckoutAttempt, left } from "./checkout-attempt";
import { beginCartCheckout, cancelCartCheckout } from "./effects";
import { heldUnitsBoundOf, heldUnitsRefusal } from "./held-units";
import { promotionsForOrder } from "./order-promotions";
import { closePendingOrder, COUPON_HOLD_MARGIN_SECONDS, insertOrderLines, SETUP_WINDOW_MS } from "./lifecycle";
import { priceFrozenCart } from "./order-pricing";
import { replay, ReplayFound } from "./replay";
import { orders } from "./schema";

// The steps of one checkout and the actions that undo them (the list is in checkout.ts). Each step
// reads what earlier steps left on the attempt and adds its own part.

function isConstraint(error: unknown, name: string): boolean {
  const text = String(error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : error);
  return text.includes(name);
}

/**
 * Freezes the cart for the order (M-014). A cart still held by an earlier order is freed when that
 * order can no longer be paid (closed in D1, or never written and older than the setup window): the
 * hold lasts as long as its order, with no clock of its own (docs/decisions/013).
 */
export async function freezeCart(a: CheckoutAttempt): Promise<void> {
  const begun = await beginCheckoutFreeingClosed(a.db, a.cart, a.orderId);
  if (!begun.ok) {
    // Two requests with one key race: the loser finds the winner's answer here.
    const key = a.options.idempotencyKey;
    const earlier = key && begun.code === "checkout_in_progress" ? await replay(a.env, a.config.PUBLIC_ORIGIN, a.db, a.ownerId, key) : null;
    if (earlier) throw new ReplayFound(earlier);
    throw new ProblemError(409, begun.code, begun.code === "cart_empty" ? "Your cart is empty." : "A checkout for this cart is already in progress.");
  }
  a.frozen = begun.snapshot;
}

async function beginCheckoutFreeingClosed(db: Database, cart: DurableObjectStub<CartObject>, orderId: string): Promise<BeginCheckoutResult> {
  const begun = await beginCartCheckout(cart, orderId);
  if (begun.ok || begun.code !== "checkout_in_progress") return begun;
  const [holder] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, begun.heldBy)).limit(1);
  if (holder?.status === "paid" || holder?.status === "refunded") await cart.completeCheckout(begun.heldBy);
  else if (holder?.status === "expired" || holder?.status === "cancelled") await cart.cancelCheckout(begun.heldBy);
  else if (!holder && Date.now() - begun.startedAt > SETUP_WINDOW_MS) await cart.cancelCheckout(begun.heldBy);
  else return begun;
  return beginCartCheckout(cart, orderId);
}

/** Undoes `freezeCart`: the cart opens again. Idempotent; a cart held by another order is left alone. */
export async function unfreezeCart(a: CheckoutAttempt): Promise<void> {
  await cancelCartCheckout(a.cart, a.orderId);
}

/**
 * Prices the frozen cart from D1 (P04) and works out who the coupon ledger counts: only a proven
 * customer (issue 33). An address typed at checkout never stands for anyone: without a proof, the
 * order is counted for a key of nobody, and a per-customer coupon is refused before any ledger is
 * asked, so the answer is the same whoever the address belongs to.
 */
export async function priceCart(a: CheckoutAttempt): Promise<void> {
  // The proof is read beside the prices (one round trip's wait, not two).
  const [priced, proven] = await Promise.all([priceFrozenCart(a.db, a.config, a.frozen, a.options.shippingRateId), provenBuyerKey(a)]);
  a.priced = priced;
  a.couponCustomerProven = proven !== null;
  a.couponCustomer = proven ?? `anon_${a.orderId}`;
}

async function provenBuyerKey(a: CheckoutAttempt): Promise<string | null> {
  if (a.buyer.kind === "account") {
    if (a.buyer.user.emailVerified) return couponCustomerKey(a.buyer.user.email);
    return (await provenCartMailbox(a.env, a.cartObjectId, a.buyer.user.email))?.key ?? null;
  }
  const proof = await provenCartMailbox(a.env, a.cartObjectId, null);
  // The proof covers the address it proved: the receipt must go there for the order to count it.
  return proof && normaliseEmail(proof.email) === normaliseEmail(a.email) ? proof.key : null;
}

/**
 * Takes the order's units at the stock gate (decision 028), before the coupon and the D1 write: a
 * sold-out line is refused here in milliseconds, with no D1 write, and only shoppers holding
 * units go on to queue for D1. D1's CHECK still guards the write.
 */
export async function takeGateUnits(a: CheckoutAttempt): Promise<void> {
  const { lines, gateShards } = left(a.priced, "the price");
  const gate = await takeOrderUnits(
    a.env,
    a.orderId,
    lines.map((l) => ({ variantId: l.variantId, shards: gateShards[l.variantId] ?? 1, quantity: l.quantity })),
  );
  if (!gate.ok) throw new ProblemError(422, "out_of_stock", "An item in your cart does not have enough stock.");
  a.gateTaken = gate.taken;
}

/** Undoes `takeGateUnits`: the units go back to their shards. Idempotent (per order and shard). */
export async function returnGateUnits(a: CheckoutAttempt): Promise<void> {
  await giveBackTaken(a.env, a.orderId, a.gateTaken);
}

/** Reserves one redemption of the cart's coupon for the order (M-012, M-013); a refusal is a 422. */
export async function reserveCoupon(a: CheckoutAttempt): Promise<void> {
  const priced = left(a.priced, "the price");
  if (!priced.snapshot.couponCode) return;
  const held = await reserveCouponHold(a.env, {
    code: priced.snapshot.couponCode,
    orderId: a.orderId,
    userId: left(a.couponCustomer, "the coupon customer"),
    proven: a.couponCustomerProven,
    currency: priced.currency,
    definition: priced.couponDefinition,
    holdUntil: (a.expiresAt + COUPON_HOLD_MARGIN_SECONDS) * 1000,
  });
  if (!held.ok) throw new ProblemError(422, held.code, "This coupon cannot be used.");
  // Priced with the coupon domain's own rule, so the order's discount equals what the cart showed.
  a.couponHeld = { code: held.coupon.code, discountCents: computeDiscountCents(held.coupon, priced.subtotalCents, priced.currency) };
}

/** Undoes `reserveCoupon`: the redemption goes back to the coupon. Idempotent. */
export async function releaseCoupon(a: CheckoutAttempt): Promise<void> {
  if (a.couponHeld) await releaseCouponHold(a.env, { code: a.couponHeld.code, orderId: a.orderId, userId: left(a.couponCustomer, "the coupon customer") });
}

/**
 * The order's amounts: discount, shipping for the goods after it, total. 0 is a no-cost order
 * (completed with no_payment_required); below the minimum, above the maximum or off the currency's
 * step Stripe would refuse the session: a 422 now, never a 502.
 */
export async function totalOrder(a: CheckoutAttempt): Promise<void> {
  const { currency, subtotalCents, rate, lines, promotions, pricedAt } = left(a.priced, "the price");
  const couponDiscountCents = a.couponHeld?.discountCents ?? 0;
  // Automatic promotions combine with the one code (issue 33, decision 030): their minimums and
  // base are the goods after the code; one discount (the best) and one free shipping at most.
  const customer = a.couponCustomerProven ? { key: left(a.couponCustomer, "the coupon customer"), email: a.email } : null;
  const verdict = await promotionsForOrder(a.env.DB, {
    rows: promotions,
    now: pricedAt,
    currency,
    lines,
    goodsCents: subtotalCents - couponDiscountCents,
    customer,
  });
  a.discountPromotion = verdict.discount;
  const discountCents = couponDiscountCents + (verdict.discount?.discountCents ?? 0);
  const goodsCents = Math.max(0, subtotalCents - discountCents);
  const shipping = rate
    ? { rateId: rate.id, name: rate.name, amountCents: shippingAmountFor(rate, goodsCents), minDays: rate.minDays, maxDays: rate.maxDays }
    : null;
  if (shipping && verdict.freeShipping) {
    a.promotion = { ...verdict.freeShipping, discountCents: shipping.amountCents };
    shipping.amountCents = 0;
  }
  a.order = {
    id: a.orderId,
    userId: a.ownerId,
    currency,
    subtotalCents,
    discountCents,
    shippingCents: shipping?.amountCents ?? 0,
    totalCents: checkoutTotalCents(goodsCents, shipping?.amountCents ?? 0),
    couponCode: a.couponHeld?.code ?? null,
    discountPromotionName: verdict.discount?.name ?? null,
    customerEmail: a.email,
    shipping,
    taxMode: a.config.STRIPE_TAX,
    shipToCountries: a.config.SHIP_TO_COUNTRIES,
  };
  assertChargeable(currency, a.order.totalCents);
}

/**
 * Writes the order and its lines and takes the stock in ONE batch: the variants' CHECK stock >= 0
 * aborts the whole batch when any line lacks stock, and a replay key already used by this owner
 * makes the loser of a race answer with the winner's checkout.
 */
export async function writeOrderTakingStock(a: CheckoutAttempt): Promise<void> {
  const { db, config, orderId } = a;
  const { lines, snapshot } = left(a.priced, "the price");
  const order = left(a.order, "the order");
  const { idempotencyKey } = a.options;
  try {
    const insertOrder = db.insert(orders).values({
      id: order.id,
      userId: order.userId,
      currency: order.currency,
      subtotalCents: order.subtotalCents,
      discountCents: order.discountCents,
      totalCents: order.totalCents,
      couponCode: order.couponCode,
      customerEmail: a.email,
      couponCustomer: a.couponHeld ? a.couponCustomer : null,
      cartObjectId: a.cartObjectId,
      holderMailbox: await couponCustomerKey(a.email),
      promotionId: a.promotion?.id ?? null,
      promotionName: a.promotion?.name ?? null,
      promotionDiscountCents: a.promotion?.discountCents ?? 0,
      discountPromotionId: a.discountPromotion?.id ?? null,
      discountPromotionName: a.discountPromotion?.name ?? null,
      discountPromotionCents: a.discountPromotion?.discountCents ?? 0,
      openedFrom: a.options.clientAddressKey ?? null,
      shippingRateId: order.shipping?.rateId ?? null,
      shippingRateName: order.shipping?.name ?? null,
      shippingCents: order.shippingCents,
      taxMode: config.STRIPE_TAX,
      // What the session allows is what its payment is checked against later, whatever the config says then.
      shipToCountries: order.shipping ? JSON.stringify(config.SHIP_TO_COUNTRIES) : null,
      cartVersion: snapshot.version,
      provider: config.PAYMENTS_PROVIDER,
      idempotencyKey,
      paymentExpiresAt: a.expiresAt,
    });
    // Lines in chunks: D1 binds at most 100 parameters per statement (a 50-line cart is 250).
    const insertLines = insertOrderLines(
      db,
      lines.map((l) => ({
        orderId,
        productId: l.productId,
        variantId: l.variantId,
        name: l.name,
        sku: l.sku,
        optionValues: JSON.stringify(l.options),
        unitPriceCents: l.unitPriceCents,
        quantity: l.quantity,
      })),
    );
    // Per variant; its CHECK stock >= 0 aborts the whole batch (no oversell), its trigger writes the ledger row (decision 025).
    const takeStock = lines.map((l) =>
      db
        .update(productVariants)
        .set({ stock: sql`${productVariants.stock} - ${l.quantity}`, stockReason: "sale", stockActor: order.userId, stockRef: orderId })
        .where(eq(productVariants.id, l.variantId)),
    );
    const results = await db.batch([insertOrder, ...insertLines, ...takeStock]);
    a.everyLineTookStock = results.slice(1 + insertLines.length).every((r) => (r as D1Result).meta.changes !== 0);
  } catch (error) {
    const bound = heldUnitsBoundOf(error);
    if (bound) {
      const value = bound === "mailbox" ? await couponCustomerKey(a.email) : bound === "cart" ? a.cartObjectId : (a.options.clientAddressKey ?? "");
      throw await heldUnitsRefusal(a.env.DB, bound, value);
    }
    if (isConstraint(error, "product_variants_stock_nonnegative")) {
      throw new ProblemError(422, "out_of_stock", "An item in your cart does not have enough stock.");
    }
    if (idempotencyKey && isConstraint(error, "orders.idempotency_key")) {
      const earlier = await replay(a.env, config.PUBLIC_ORIGIN, db, a.ownerId, idempotencyKey);
      if (earlier) throw new ReplayFound(earlier);
    }
    throw error;
  }
}

/** Undoes `writeOrderTakingStock`: the order closes cancelled and its stock comes back, fenced on "no session stored". */
export async function cancelWrittenOrder(a: CheckoutAttempt): Promise<void> {
  await closePendingOrder(a.db, { orderId: a.orderId, status: "cancelled", session: null });
}

/** A variant deleted after pricing had no stock to take: the order cannot be sold. */
export async function checkStockTaken(a: CheckoutAttempt): Promise<void> {
  if (!a.everyLineTookStock) throw new ProblemError(422, "out_of_stock", "An item in your cart is no longer available.");
}
