// What a cart's lines may hold and how they change, as plain functions over the state: the
// CartObject applies them inside its one synchronous step (read, change, write).
import type { CartLine, CartRefusal, CartSnapshot, CartState } from "./types";

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

/** Adds to the product's line (clamped at 99), or opens a line unless the cart has 50 already. */
export function addToLine(cart: CartState, productId: string, quantity: number): CartRefusal | null {
  const line = cart.lines.find((l) => l.productId === productId);
  if (line) {
    line.quantity = Math.min(MAX_QUANTITY, line.quantity + quantity);
    return null;
  }
  if (cart.lines.length >= MAX_LINES) return "cart_full";
  cart.lines.push({ productId, quantity });
  return null;
}

export function emptyCart(): CartState {
  return { lines: [], couponCode: null, version: 0, state: { status: "open" } };
}

/**
 * Adds a guest cart's lines (sign-in merge): quantities add up and clamp at 99, lines beyond 50
 * are dropped, invalid lines are ignored; the guest's coupon is kept only when the cart has none.
 */
export function mergeLines(cart: CartState, lines: CartLine[], couponCode: string | null): void {
  for (const incoming of lines) {
    if (!isProductId(incoming.productId) || !isQuantity(incoming.quantity)) continue;
    const line = cart.lines.find((l) => l.productId === incoming.productId);
    if (line) line.quantity = Math.min(MAX_QUANTITY, line.quantity + incoming.quantity);
    else if (cart.lines.length < MAX_LINES) cart.lines.push({ productId: incoming.productId, quantity: incoming.quantity });
  }
  if (cart.couponCode === null && couponCode) cart.couponCode = couponCode;
}

/** What a paid checkout bought leaves the cart (items added since stay), and the coupon it used. */
export function removeBought(cart: CartState, snapshot: CartSnapshot): void {
  for (const bought of snapshot.lines) {
    const line = cart.lines.find((l) => l.productId === bought.productId);
    if (line) line.quantity -= bought.quantity;
  }
  cart.lines = cart.lines.filter((l) => l.quantity > 0);
  if (cart.couponCode === snapshot.couponCode) cart.couponCode = null;
}
