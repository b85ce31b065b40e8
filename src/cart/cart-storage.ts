import { migratedDefaultVariantId } from "../catalog/variants";
import { CART_LAYOUT, type CartCheckoutState, type CartLine, type CartState } from "./types";

// The cart object's stored state across layouts (decision 025). Layout 1 (before variants) kept
// lines as `{ productId, quantity }`; its products' only variant is the default variant migration
// "variants" (0019) made, whose id is `var_` + the product id. A line whose variant is gone by now is priced
// like any line of a gone product: dropped at the next priced read.

/** A stored line of either layout, as far as it can be trusted. */
function upgradeLine(raw: unknown): CartLine | null {
  if (!raw || typeof raw !== "object") return null;
  const line = raw as { productId?: unknown; variantId?: unknown; quantity?: unknown };
  if (typeof line.productId !== "string" || typeof line.quantity !== "number") return null;
  const variantId = typeof line.variantId === "string" ? line.variantId : migratedDefaultVariantId(line.productId);
  return { productId: line.productId, variantId, quantity: line.quantity };
}

function upgradeLines(raw: unknown): CartLine[] {
  return Array.isArray(raw) ? raw.map(upgradeLine).filter((l): l is CartLine => l !== null) : [];
}

/** An empty open cart in the current layout. */
export function emptyState(): CartState {
  return { layout: CART_LAYOUT, lines: [], couponCode: null, version: 0, state: { status: "open" } };
}

/**
 * The stored state in the current layout: layout 2 as it is, layout 1 with every line (and the
 * lines of a snapshot a checkout holds) given its default variant. Nothing stored: an empty cart.
 */
export function upgradeCartState(stored: unknown): CartState {
  if (!stored || typeof stored !== "object") return emptyState();
  const raw = stored as Partial<Omit<CartState, "layout">> & { layout?: unknown };
  if (raw.layout === CART_LAYOUT) return stored as CartState;
  let state: CartCheckoutState = { status: "open" };
  if (raw.state?.status === "checking_out") {
    const held = raw.state;
    state = { ...held, snapshot: { ...held.snapshot, lines: upgradeLines(held.snapshot?.lines) } };
  }
  return {
    layout: CART_LAYOUT,
    lines: upgradeLines(raw.lines),
    couponCode: typeof raw.couponCode === "string" ? raw.couponCode : null,
    version: typeof raw.version === "number" ? raw.version : 0,
    state,
  };
}
