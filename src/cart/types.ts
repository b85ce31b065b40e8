// The cart's stored state, in a leaf module: the CartObject keeps it and pricing.ts prices it,
// and the object imports pricing, so the types live below both (no import cycle).

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
