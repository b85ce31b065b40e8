// What a cart's lines may hold and how they change, as plain functions over the state: the
// CartObject applies them inside its one synchronous step (read, change, write).
import { CART_LAYOUT, type CartLine, type CartRefusal, type CartSnapshot, type CartState } from "./types";

/** Quantities per line are integers 1–99 (API.md). */
export const MAX_QUANTITY = 99;
/** A cart holds at most 50 lines (API.md). */
export const MAX_LINES = 50;

export function isQuantity(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_QUANTITY;
}

export function isProductId(id: unknown): id is string {
  return typeof id === "string" && id.length >= 1 && id.length <= 100;
}

/** Adds to the variant's line (clamped at 99), or opens a line unless the cart has 50 already. */
export function addToLine(cart: CartState, productId: string, variantId: string, quantity: number): CartRefusal | null {
  const line = cart.lines.find((l) => l.variantId === variantId);
  if (line) {
    line.quantity = Math.min(MAX_QUANTITY, line.quantity + quantity);
    return null;
  }
  if (cart.lines.length >= MAX_LINES) return "cart_full";
  cart.lines.push({ productId, variantId, quantity });
  return null;
}

/**
 * The line a path names: its variant id, or a product id with exactly one line in the cart (API.md's
 * `/api/cart/items/{productId}` from before variants keeps working for such products).
 */
export function findLine(cart: CartState, id: string): CartLine | CartRefusal {
  const byVariant = cart.lines.find((l) => l.variantId === id);
  if (byVariant) return byVariant;
  const byProduct = cart.lines.filter((l) => l.productId === id);
  if (byProduct.length === 1) return byProduct[0]!;
  return byProduct.length === 0 ? "cart_item_not_found" : "variant_required";
}

export function emptyCart(): CartState {
  return { layout: CART_LAYOUT, lines: [], couponCode: null, version: 0, state: { status: "open" } };
}

/**
 * Adds a guest cart's lines (sign-in merge): quantities add up and clamp at 99, lines beyond 50
 * are dropped, invalid lines are ignored; the guest's coupon is kept only when the cart has none.
 */
export function mergeLines(cart: CartState, lines: CartLine[], couponCode: string | null): void {
  for (const incoming of lines) {
    if (!isProductId(incoming.productId) || !isProductId(incoming.variantId) || !isQuantity(incoming.quantity)) continue;
    const line = cart.lines.find((l) => l.variantId === incoming.variantId);
    if (line) line.quantity = Math.min(MAX_QUANTITY, line.quantity + incoming.quantity);
    else if (cart.lines.length < MAX_LINES) cart.lines.push({ productId: incoming.productId, variantId: incoming.variantId, quantity: incoming.quantity });
  }
  if (cart.couponCode === null && couponCode) cart.couponCode = couponCode;
}

/** What a paid checkout bought leaves the cart (items added since stay), and the coupon it used. */
export function removeBought(cart: CartState, snapshot: CartSnapshot): void {
  for (const bought of snapshot.lines) {
    const line = cart.lines.find((l) => l.variantId === bought.variantId);
    if (line) line.quantity -= bought.quantity;
  }
  cart.lines = cart.lines.filter((l) => l.quantity > 0);
  if (cart.couponCode === snapshot.couponCode) cart.couponCode = null;
}
