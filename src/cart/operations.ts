import { seenSoldOut } from "../stock-gate/gate";
import { consumeRateLimit } from "../accounts/rate-limits";
import { clientAddressKey } from "../platform/client-address";
import type { Context } from "hono";
import { normaliseCouponCode } from "../coupons/coupons";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { cartStubForGuest, emptyCart, newGuestCartId, resolveCart, setGuestCartCookie, type Cart } from "./cart";
import type { PricedCartResult } from "./cart-object";
import { promotionCustomer } from "./promotion-identity";

// The cart's use cases, shared by the JSON API (routes.ts) and the no-JS forms (pages.tsx).
// Each one finds the cart from the session (P12), changes it through the object's RPC, and
// answers with a cart priced from D1 (P11). Refusals are ProblemErrors with API.md codes.

/** Turns a refused priced operation into the API's problem. */
function unwrapPriced(result: PricedCartResult): Cart {
  if (result.ok) return result.cart;
  switch (result.code) {
    case "cart_full":
      throw new ProblemError(409, "cart_full", "A cart holds at most 50 different products.");
    case "cart_item_not_found":
      throw new ProblemError(404, "cart_item_not_found", "This product is not in your cart.");
    case "invalid_product":
    case "product_not_found":
      throw new ProblemError(404, "product_not_found", "No product has this id.");
    case "variant_not_found":
      throw new ProblemError(404, "variant_not_found", "This product has no variant with this id.");
    case "variant_required":
      throw new ProblemError(422, "variant_required", "Choose an option of this product: name its variant (variantId).");
    case "out_of_stock":
      throw new ProblemError(422, "out_of_stock", "This product is out of stock.");
    case "currency_mismatch":
      throw new ProblemError(422, "currency_mismatch", "This product is priced in another currency than your cart.");
    case "invalid_quantity":
      throw new ProblemError(422, "validation_failed", "Quantities are whole numbers from 1 to 99.", {
        errors: [{ path: "quantity", message: "must be an integer from 1 to 99" }],
      });
    case "coupon_invalid":
    case "coupon_expired":
    case "coupon_exhausted":
    case "coupon_already_used":
    case "coupon_needs_proof":
      throw new ProblemError(422, result.code, COUPON_MESSAGES[result.code]);
  }
}

/** The caller's cart, priced. A guest without a cart cookie sees an empty cart (nothing is created). */
export async function readCart(c: Context<AppEnv>): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) return emptyCart();
  return unwrapPriced(await ref.stub.getPriced());
}

/**
 * Adds a visible, in-stock product in the cart's currency. One call to the cart's object, which
 * reads the product and the lines' prices from D1 in the same round trip and answers priced:
 * this is the hot path of the shop (docs/benchmarks.md). A guest without a cart gets one (and
 * its cookie) only when the add succeeds.
 */
export async function addToCart(c: Context<AppEnv>, input: { productId: string; variantId?: string | undefined; quantity: number }): Promise<Cart> {
  // A variant this isolate just saw sold out at the stock gate is refused at once (decision 028).
  if (input.variantId && seenSoldOut(input.variantId)) throw new ProblemError(422, "out_of_stock", "This product is out of stock.");
  const existing = await resolveCart(c, { create: false });
  const freshGuestId = existing ? null : newGuestCartId();
  const stub = existing ? existing.stub : cartStubForGuest(c.env, freshGuestId!);
  const cart = unwrapPriced(await stub.addItemPriced(input.productId, input.quantity, input.variantId ?? null));
  if (freshGuestId) setGuestCartCookie(c, freshGuestId);
  return cart;
}

/** Sets the quantity of a line already in the cart: `lineId` is its variant id (or the product's id when it has one line). */
export async function setCartQuantity(c: Context<AppEnv>, lineId: string, quantity: number): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) throw new ProblemError(404, "cart_item_not_found", "This product is not in your cart.");
  return unwrapPriced(await ref.stub.setQuantityPriced(lineId, quantity));
}

/** Removes a line by its variant id, or a product's lines by its id (absent lines are fine). */
export async function removeFromCart(c: Context<AppEnv>, lineId: string): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) return emptyCart();
  return unwrapPriced(await ref.stub.removeItemPriced(lineId));
}

/** Coupon applications per client address (IPv6 /64): 20 per 15 minutes. */
export const COUPON_ATTEMPTS = { window: 15 * 60, max: 20 } as const;

/**
 * Applies a coupon (one per cart: it replaces any other). Checked first (M-012, M-013): exists,
 * active, within its window by the server's clock, in the cart's currency, and the ledger's
 * limits for the proven customer, reservations included. A per-customer coupon needs one
 * (`coupon_needs_proof` otherwise); checkout checks and reserves again.
 */
export async function applyCartCoupon(c: Context<AppEnv>, rawCode: string): Promise<Cart> {
  // Codes are secrets of a kind (a staff-only 100 % code): guessing is limited per address.
  const limit = await consumeRateLimit(c.env, "coupon-address", clientAddressKey(c), COUPON_ATTEMPTS);
  if (!limit.allowed) {
    throw new ProblemError(429, "too_many_coupon_attempts", "Too many coupon attempts. Try again later.", {
      headers: { "retry-after": String(limit.retryAfter ?? COUPON_ATTEMPTS.window) },
    });
  }
  const code = normaliseCouponCode(rawCode);
  if (!code) throw new ProblemError(422, "coupon_invalid", "This coupon code is not valid.");
  const ref = (await resolveCart(c, { create: true }))!;
  // The cart's object checks the definition (with its lines' currency) and the ledger, then holds it.
  // Only a proven customer is counted (issue 33): never an address anyone typed.
  const customer = await promotionCustomer(c, ref);
  return unwrapPriced(await ref.stub.applyCouponChecked(code, customer?.key ?? null));
}

/** Removes the cart's coupon. */
export async function removeCartCoupon(c: Context<AppEnv>): Promise<Cart> {
  const ref = await resolveCart(c, { create: false });
  if (!ref) return emptyCart();
  return unwrapPriced(await ref.stub.removeCouponPriced());
}

/** Shopper-facing explanations of coupon refusals (fixed text; nothing from the request). */
export const COUPON_MESSAGES = {
  coupon_invalid: "This coupon code is not valid.",
  coupon_expired: "This coupon has expired.",
  coupon_exhausted: "This coupon has been used up.",
  coupon_already_used: "You have already used this coupon.",
  coupon_needs_proof: "This promotion is once per customer: sign in with a verified address, or confirm your email address with the code we mail you.",
} as const;
