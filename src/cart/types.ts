// The cart's stored state and what its object answers, in a leaf module: the CartObject keeps it
// and pricing.ts prices it, and the object imports pricing, so the types live below both (no cycle).

/** One line of a cart: which variant of which product and how many. Never a price (P11): prices come from D1. */
export interface CartLine {
  productId: string;
  variantId: string;
  quantity: number;
}

/** What checkout copies (M-014, M-015): the lines and coupon at one version. */
export interface CartSnapshot {
  lines: CartLine[];
  couponCode: string | null;
  version: number;
}

/** Open, or held by a checkout for `orderId` since `startedAt` (epoch ms). */
export type CartCheckoutState = { status: "open" } | { status: "checking_out"; orderId: string; startedAt: number; snapshot: CartSnapshot };

/**
 * The layout of the stored state: 2 since variants (lines carry `variantId`). A state without
 * `layout` is the first layout (lines `{ productId, quantity }`), upgraded on read (cart-storage.ts).
 */
export const CART_LAYOUT = 2;

/** The whole state of one cart. `version` goes up on every change. */
export interface CartState {
  layout: typeof CART_LAYOUT;
  lines: CartLine[];
  couponCode: string | null;
  version: number;
  state: CartCheckoutState;
}

/** Refusals of a cart mutation. */
export type CartRefusal = "cart_full" | "invalid_quantity" | "invalid_product" | "cart_item_not_found" | "variant_required";

/** Result of a cart mutation: the new state, or why nothing changed. */
export type CartMutation = { ok: true; cart: CartState } | { ok: false; code: CartRefusal };

/** Result of `beginCheckout`. */
export type BeginCheckoutResult =
  | { ok: true; snapshot: CartSnapshot }
  | { ok: false; code: "cart_empty" }
  /** Held by `heldBy` since `startedAt` (epoch ms): checkout asks D1 whether that order still can be paid. */
  | { ok: false; code: "checkout_in_progress"; heldBy: string; startedAt: number };

/** Result of `completeCheckout` / `cancelCheckout`. */
export type EndCheckoutResult = { ok: true; cart: CartState } | { ok: false; code: "not_checking_out" };
