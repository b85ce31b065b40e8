// A cart's price, from D1's rows only (P11): the rows it depends on, read in at most one round
// trip, and the pure function that prices the cart's lines and coupon from them. The CartObject
// prices itself with these, and cart.ts re-exports them for the other domains.
import { pricingProductsQuery, type PricingProduct } from "../catalog/queries";
import { rememberPricingRows, sharedPricingRows } from "../catalog/shared-pricing";
import {
  computeDiscountCents,
  couponByCodeQuery,
  couponDefinitionRefusal,
  findNormalisedCoupon,
  normaliseCouponCode,
  type CouponRefusal,
} from "../coupons/coupons";
import type { CouponRow } from "../coupons/schema";
import type { Database } from "../db/client";
import type { CartLine, CartState } from "./types";

/** The currency of an empty cart (the shop's catalog is priced in one currency by default). */
export const DEFAULT_CURRENCY = "USD";

/** One priced cart line (API.md `Cart.items`). */
export interface CartItem {
  productId: string;
  slug: string;
  name: string;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
  /** The product's image, for the cart's thumbnails. */
  imageUrl: string | null;
}

/**
 * The API.md `Cart`, priced from D1 only (P11). Extensions: `version` (the cart's version) and
 * `couponNotice`, which says why a coupon the cart holds gives no discount any more.
 */
export interface Cart {
  items: CartItem[];
  coupon: { code: string; discountCents: number } | null;
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
  currency: string;
  version: number;
  couponNotice: CouponRefusal | null;
}

/** The D1 rows a cart's price depends on: its lines' visible products and its coupon's definition. */
export interface PricingRows {
  products: PricingProduct[];
  coupon: CouponRow | null;
}

/**
 * The rows `priceFromRows` needs, in at most one D1 round trip (a batch of two selects when the
 * cart holds a coupon). `productIds` may hold ids that are not in the cart yet (an add). Visible
 * products' rows this isolate read less than 5 s ago are reused (decision 009: every D1 read here
 * used to be most of a cart add's cost); the rest, and the coupon's definition, are read now.
 */
export async function loadPricingRows(db: Database, productIds: string[], couponCode: string | null, now: number = Date.now()): Promise<PricingRows> {
  const { rows: shared, missing, generation } = sharedPricingRows(db.$client, [...new Set(productIds)], now);
  const code = couponCode ? normaliseCouponCode(couponCode) : null;
  let read: PricingProduct[] = [];
  let coupon: CouponRow | null = null;
  if (missing.length > 0 && code) {
    const [rows, couponRows] = await db.batch([pricingProductsQuery(db, missing), couponByCodeQuery(db, code)]);
    read = rows;
    coupon = couponRows[0] ?? null;
  } else if (missing.length > 0) {
    read = await pricingProductsQuery(db, missing);
  } else if (code) {
    coupon = await findNormalisedCoupon(db, code);
  }
  rememberPricingRows(db.$client, read, generation, now);
  return { products: [...shared, ...read], coupon };
}

/** A cart's currency: its first line whose product is still visible (null when there is none). */
export function cartCurrency(lines: CartLine[], products: Map<string, PricingProduct>): string | null {
  for (const line of lines) {
    const product = products.get(line.productId);
    if (product) return product.currency;
  }
  return null;
}

/**
 * Prices a cart from D1's rows only (P11), as `loadPricingRows` read them (pure: no I/O): unit
 * prices are the products' current `priceCents`, lines whose product is hidden or gone are left
 * out (and listed in `goneProductIds`), the discount comes from the coupon's D1 definition at
 * `now` (the server's clock). Integers throughout; `total = max(0, subtotal − discount)`. The
 * cart's currency is its first priced line's; a line in another currency is left out.
 */
export function priceFromRows(
  state: Pick<CartState, "lines" | "couponCode" | "version">,
  rows: PricingRows,
  now: Date,
): { cart: Cart; goneProductIds: string[] } {
  const byId = new Map(rows.products.map((r) => [r.id, r]));
  const items: CartItem[] = [];
  const goneProductIds: string[] = [];
  const currency = cartCurrency(state.lines, byId);
  for (const line of state.lines) {
    const product = byId.get(line.productId);
    if (!product) {
      goneProductIds.push(line.productId);
      continue;
    }
    if (product.currency !== currency) continue;
    items.push({
      productId: product.id,
      slug: product.slug,
      name: product.name,
      quantity: line.quantity,
      unitPriceCents: product.priceCents,
      lineTotalCents: product.priceCents * line.quantity,
      imageUrl: product.imageUrl,
    });
  }
  const subtotalCents = items.reduce((sum, item) => sum + item.lineTotalCents, 0);
  let coupon: Cart["coupon"] = null;
  let couponNotice: CouponRefusal | null = null;
  if (state.couponCode) {
    const definition = rows.coupon;
    const refusal = definition ? couponDefinitionRefusal(definition, now, currency) : "coupon_invalid";
    if (definition && !refusal) coupon = { code: definition.code, discountCents: computeDiscountCents(definition, subtotalCents, currency) };
    else couponNotice = refusal;
  }
  const discountCents = coupon?.discountCents ?? 0;
  const cart: Cart = {
    items,
    coupon,
    subtotalCents,
    discountCents,
    totalCents: Math.max(0, subtotalCents - discountCents),
    currency: currency ?? DEFAULT_CURRENCY,
    version: state.version,
    couponNotice,
  };
  return { cart, goneProductIds };
}

/** The empty cart, priced (a guest who has none yet). */
export function emptyCart(): Cart {
  return { items: [], coupon: null, subtotalCents: 0, discountCents: 0, totalCents: 0, currency: DEFAULT_CURRENCY, version: 0, couponNotice: null };
}
