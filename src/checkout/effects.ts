import { and, eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { cartStubById, cartStubForUser } from "../cart/cart";
import { giveBackClosedOrder } from "../stock-gate/gate";
import type { BeginCheckoutResult } from "../cart/cart-object";
import { confirmCouponHold, releaseCouponHold, type CouponHold } from "../coupons/coupon-hold";
import { getDb } from "../db/client";
import { queueOrderConfirmation } from "./order-mail";
import { orders, type OrderRow } from "./schema";

export type { BeginCheckoutResult, CartSnapshot } from "../cart/cart-object";

/** The cart an order froze: by its stored object id (guests, and every order since migration 0012), else the user's. */
export function cartOfOrder(env: Env, order: Pick<OrderRow, "cartObjectId" | "userId">) {
  return order.cartObjectId ? cartStubById(env, order.cartObjectId) : cartStubForUser(env, order.userId);
}

/**
 * The coupon hold of an order, or null when it used none. The ledger counts its stored customer key,
 * or (older orders) its user id.
 */
export function couponHoldOf(order: Pick<OrderRow, "couponCode" | "couponCustomer" | "id" | "userId">): CouponHold | null {
  return order.couponCode ? { code: order.couponCode, orderId: order.id, userId: order.couponCustomer ?? order.userId } : null;
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
 * Follow-ups once an order is paid: the coupon redemption becomes final and the bought lines
 * leave the cart. Idempotent per order; a failure throws so the webhook answers 500 and Stripe
 * retries (the retry is a duplicate event id, which runs this again for the order's status).
 * A redemption that found no hold and no room left is recorded (the money is real) and the order
 * is flagged `coupon_over_redeemed` and audited once, for staff to resolve (docs/decisions/013).
 */
export async function afterOrderPaid(env: Env, order: OrderRow): Promise<void> {
  const hold = couponHoldOf(order);
  if (hold) {
    // The code's own part: an automatic promotion's discount (decision 030) is not the code's.
    const couponDiscountCents = order.discountCents - order.discountPromotionCents;
    const committed = await confirmCouponHold(env, { ...hold, discountCents: couponDiscountCents });
    if (committed.ok && committed.overLimit) {
      const flagged = await getDb(env.DB)
        .update(orders)
        .set({ couponOverRedeemed: true })
        .where(and(eq(orders.id, order.id), eq(orders.couponOverRedeemed, false)));
      if ((flagged.meta.changes ?? 0) > 0) {
        await recordAudit(env, {
          actor: "system",
          action: "coupon.over_redeemed",
          subject: order.id,
          detail: { code: order.couponCode, discountCents: couponDiscountCents },
        });
      }
    }
  }
  await cartOfOrder(env, order).completeCheckout(order.id);
  await queueOrderConfirmation(env, order);
}

/**
 * Follow-ups once an order is closed unpaid (expired, cancelled): the coupon reservation is
 * released, the cart unlocked, and the units go back to the stock gate (decision 028). Stock came
 * back in D1 in the same batch as the status change.
 */
export async function afterOrderClosed(env: Env, order: OrderRow): Promise<void> {
  await giveBackClosedOrder(env, order.id);
  const hold = couponHoldOf(order);
  if (hold) await releaseCouponHold(env, hold);
  await cancelCartCheckout(cartOfOrder(env, order), order.id);
}
