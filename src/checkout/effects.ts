import { and, eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { cartStubById, cartStubForUser } from "../cart/cart";
import type { BeginCheckoutResult } from "../cart/cart-object";
import { commitCoupon, computeDiscountCents, extendCouponHold, releaseCoupon, reserveCoupon, type CouponRefusal } from "../coupons/coupons";
import type { CouponRow } from "../coupons/schema";
import { getDb } from "../db/client";
import { queueOrderConfirmation } from "./order-mail";
import { orders, type OrderRow } from "./schema";

export type { BeginCheckoutResult, CartSnapshot } from "../cart/cart-object";

/** A coupon held for an order: its normalised code and the discount on this subtotal. */
export type CouponHold = { ok: true; code: string; discountCents: number } | { ok: false; code: CouponRefusal };

/** The cart an order froze: by its stored object id (guests, and every order since migration 0012), else the user's. */
export function cartOfOrder(env: Env, order: Pick<OrderRow, "cartObjectId" | "userId">) {
  return order.cartObjectId ? cartStubById(env, order.cartObjectId) : cartStubForUser(env, order.userId);
}

/** Who the coupon ledger counts for an order: its stored customer key, or (older orders) its user id. */
export function couponCustomerOf(order: Pick<OrderRow, "couponCustomer" | "userId">): string {
  return order.couponCustomer ?? order.userId;
}

type CartStub = ReturnType<typeof cartOfOrder>;

/** Freezes a cart for `orderId` (M-014): a snapshot, or `cart_empty` / `checkout_in_progress`. */
export function beginCartCheckout(cart: CartStub, orderId: string): Promise<BeginCheckoutResult> {
  return cart.beginCheckout(orderId);
}

/** Unlocks the cart after a checkout that did not happen. Idempotent; a cart held by another order is left alone. */
export async function cancelCartCheckout(cart: CartStub, orderId: string): Promise<void> {
  await cart.cancelCheckout(orderId);
}

/**
 * Reserves one redemption of the coupon for `orderId` (M-012, M-013) and prices its discount with
 * the coupon domain's own rule, so the order's discount equals what the cart showed.
 */
export async function holdCoupon(
  env: Env,
  input: { code: string; orderId: string; userId: string; currency: string; subtotalCents: number; definition: CouponRow | null; holdUntil: number },
): Promise<CouponHold> {
  const reserved = await reserveCoupon(env, getDb(env.DB), {
    code: input.code,
    orderId: input.orderId,
    userId: input.userId,
    currency: input.currency,
    definition: input.definition,
    holdUntil: input.holdUntil,
  });
  if (!reserved.ok) return reserved;
  return { ok: true, code: reserved.coupon.code, discountCents: computeDiscountCents(reserved.coupon, input.subtotalCents, input.currency) };
}

/** Gives a held coupon back (checkout failed or the order closed unpaid). Idempotent. */
export async function releaseCouponHold(env: Env, input: { code: string; orderId: string; userId: string }): Promise<void> {
  await releaseCoupon(env, getDb(env.DB), input);
}

/** A payment is in flight (delayed method, or completed without its webhook yet): the coupon stays held until the order closes. */
export async function pinCouponHold(env: Env, order: OrderRow): Promise<void> {
  if (order.couponCode) await extendCouponHold(env, getDb(env.DB), { code: order.couponCode, orderId: order.id, userId: couponCustomerOf(order), until: null });
}

/**
 * Follow-ups once an order is paid: the coupon redemption becomes final and the bought lines
 * leave the cart. Idempotent per order; a failure throws so the webhook answers 500 and Stripe
 * retries (the retry is a duplicate event id, which runs this again for the order's status).
 * A redemption that found no hold and no room left is recorded (the money is real) and the order
 * is flagged `coupon_over_redeemed` and audited once, for staff to resolve (docs/decisions/013).
 */
export async function afterOrderPaid(env: Env, order: OrderRow): Promise<void> {
  if (order.couponCode) {
    const db = getDb(env.DB);
    const committed = await commitCoupon(env, db, {
      code: order.couponCode,
      orderId: order.id,
      userId: couponCustomerOf(order),
      discountCents: order.discountCents,
    });
    if (committed.ok && committed.overLimit) {
      const flagged = await db
        .update(orders)
        .set({ couponOverRedeemed: true })
        .where(and(eq(orders.id, order.id), eq(orders.couponOverRedeemed, false)));
      if ((flagged.meta.changes ?? 0) > 0) {
        await recordAudit(env, {
          actor: "system",
          action: "coupon.over_redeemed",
          subject: order.id,
          detail: { code: order.couponCode, discountCents: order.discountCents },
        });
      }
    }
  }
  await cartOfOrder(env, order).completeCheckout(order.id);
  await queueOrderConfirmation(env, order);
}

/**
 * Follow-ups once an order is closed unpaid (expired, cancelled): the coupon reservation is
 * released and the cart unlocked. Stock came back in D1 in the same batch as the status change.
 */
export async function afterOrderClosed(env: Env, order: OrderRow): Promise<void> {
  if (order.couponCode) await releaseCouponHold(env, { code: order.couponCode, orderId: order.id, userId: couponCustomerOf(order) });
  await cancelCartCheckout(cartOfOrder(env, order), order.id);
}
