import { loginGuard } from "../accounts/login-guard";
import { clientAddressKey } from "../platform/client-address";
import type { Context } from "hono";
import { findProductsByIds } from "../catalog/queries";
import { checkCoupon, normaliseCouponCode } from "../coupons/coupons";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { emptyCart, priceCartDetailed, resolveCart, type Cart, type CartRef } from "./cart";
import type { CartMutation, CartState } from "./cart-object";

// The cart's use cases, shared by the JSON API (routes.ts) and the no-JS forms (pages.tsx).
// Each one finds the cart from the session (P12), changes it through the object's RPC, and
// answers with a cart priced from D1 (P11). Refusals are ProblemErrors with API.md codes.

/** Prices a state and drops lines whose product was hidden or deleted since it was added. */
async function priced(c: Context<AppEnv>, ref: CartRef, state: CartState): Promise<Cart> {
  const { cart, goneProductIds } = await priceCartDetailed(getDb(c.env.DB), state);
  if (goneProductIds.length > 0) {
    const result = await ref.stub.removeItems(goneProductIds);
    if (result.ok) cart.version = result.cart.version;
  }
  return cart;
}

/** Turns a refused mutation into the API's problem. */
function unwrap(result: CartMutation): CartState {
  if (result.ok) return result.cart;
  switch (result.code) {
    case "cart_full":
      throw new ProblemError(409, "cart_full", "A cart holds at most 50 different products.");
    case "cart_item_not_found":
      throw new ProblemError(404, "cart_item_not_found", "This product is not in your cart.");
    case "invalid_product":
      throw new ProblemError(404, "product_not_found", "No product has this id.");
    case "invalid_quantity":
      throw new ProblemError(422, "validation_failed", "Quantities are whole numbers from 1 to 99.", {
        errors: [{ path: "quantity", message: "must be an integer from 1 to 99" }],
      });
  }
}

/** The caller's cart, priced. A guest without a cart cookie sees an empty cart (nothing is created). */
export async function readCart(c: Context<AppEnv>): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) return emptyCart();
  return priced(c, ref, await ref.stub.getState());
}

/**
 * Adds a visible, in-stock product (the sum clamps at 99). Only the id and quantity are read:
 * the price is D1's (P11).
 */
export async function addToCart(c: Context<AppEnv>, input: { productId: string; quantity: number }): Promise<Cart> {
  const db = getDb(c.env.DB);
  // One D1 query for the product and the cart's current lines (their currency), instead of
  // pricing the whole cart twice: this is the hot path of the shop (docs/benchmarks.md).
  const existing = await resolveCart(c, { create: false });
  const lines = existing ? (await existing.stub.getState()).lines : [];
  const rows = await findProductsByIds(db, [input.productId, ...lines.map((l) => l.productId).filter((id) => id !== input.productId)]);
  const product = rows.find((r) => r.id === input.productId);
  if (!product) throw new ProblemError(404, "product_not_found", "No product has this id.");
  if (product.stock <= 0) throw new ProblemError(422, "out_of_stock", "This product is out of stock.");
  const cartCurrency = lines.map((l) => rows.find((r) => r.id === l.productId)?.currency).find((cur) => cur !== undefined);
  if (cartCurrency !== undefined && cartCurrency !== product.currency) {
    throw new ProblemError(422, "currency_mismatch", "This product is priced in another currency than your cart.");
  }
  const ref = existing ?? (await resolveCart(c, { create: true }))!;
  return priced(c, ref, unwrap(await ref.stub.addItem(input.productId, input.quantity)));
}

/** Sets the quantity of a line already in the cart. */
export async function setCartQuantity(c: Context<AppEnv>, productId: string, quantity: number): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) throw new ProblemError(404, "cart_item_not_found", "This product is not in your cart.");
  return priced(c, ref, unwrap(await ref.stub.setQuantity(productId, quantity)));
}

/** Removes a line (absent lines are fine). */
export async function removeFromCart(c: Context<AppEnv>, productId: string): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) return emptyCart();
  return priced(c, ref, unwrap(await ref.stub.removeItem(productId)));
}

/** Coupon applications per client address (IPv6 /64): 20 per 15 minutes. */
export const COUPON_ATTEMPTS = { window: 15 * 60, max: 20 } as const;

/**
 * Applies a coupon (one per cart: it replaces any other). Checked first (M-012, M-013): exists,
 * active, within its window by the server's clock, in the cart's currency, and the ledger's
 * limits for this customer, reservations included. A guest is checked against the total limit
 * only; checkout checks and reserves again for the signed-in customer.
 */
export async function applyCartCoupon(c: Context<AppEnv>, rawCode: string): Promise<Cart> {
  // Codes are secrets of a kind (a staff-only 100 % code): guessing is limited per address.
  const limit = await loginGuard(c.env, `coupon:${clientAddressKey(c)}`).rateLimitConsume(COUPON_ATTEMPTS);
  if (!limit.allowed) {
    throw new ProblemError(429, "too_many_coupon_attempts", "Too many coupon attempts. Try again later.", { headers: { "retry-after": String(limit.retryAfter ?? COUPON_ATTEMPTS.window) } });
  }
  const code = normaliseCouponCode(rawCode);
  if (!code) throw new ProblemError(422, "coupon_invalid", "This coupon code is not valid.");
  const ref = (await resolveCart(c, { create: true }))!;
  const current = await priced(c, ref, await ref.stub.getState());
  const verdict = await checkCoupon(c.env, getDb(c.env.DB), {
    code,
    userId: ref.userId,
    currency: current.items.length > 0 ? current.currency : null,
  });
  if (!verdict.ok) throw new ProblemError(422, verdict.code, COUPON_MESSAGES[verdict.code]);
  return priced(c, ref, unwrap(await ref.stub.applyCoupon(verdict.coupon.code)));
}

/** Removes the cart's coupon. */
export async function removeCartCoupon(c: Context<AppEnv>): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) return emptyCart();
  return priced(c, ref, unwrap(await ref.stub.removeCoupon()));
}

/** Shopper-facing explanations of coupon refusals (fixed text; nothing from the request). */
export const COUPON_MESSAGES = {
  coupon_invalid: "This coupon code is not valid.",
  coupon_expired: "This coupon has expired.",
  coupon_exhausted: "This coupon has been used up.",
  coupon_already_used: "You have already used this coupon.",
} as const;
