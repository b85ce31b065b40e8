// A cart's price, from D1's rows only (P11): the rows it depends on, read in at most one round
// trip, and the pure function that prices the cart's lines and coupon from them. The CartObject
// prices itself with these, and cart.ts re-exports them for the other domains.
import { pricingVariantsOfProductsQuery, pricingVariantsQuery, type PricingVariant } from "../catalog/pricing-queries";
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
import { parseStringArray } from "../catalog/variants";
import type { Database } from "../db/client";
import type { CartLine, CartState } from "./types";

/** The currency of an empty cart (the shop's catalog is priced in one currency by default). */
export const DEFAULT_CURRENCY = "USD";

/** One priced cart line (API.md `Cart.items`), one per variant. */
export interface CartItem {
  productId: string;
  variantId: string;
  slug: string;
  name: string;
  sku: string | null;
  /** Option name → value of the variant (`{}` for a product without options). */
  options: Record<string, string>;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
  /** The variant's image, else its product's: the cart's thumbnail. */
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
  /**
   * The automatic discount (decision 030), already in `discountCents` and `totalCents`; absent when
   * the answer did not evaluate promotions (a mutation's, which keeps its one round trip).
   */
  promotion?: { name: string; discountCents: number } | null;
}

/** The D1 rows a cart's price depends on: its lines' variants of active products and its coupon's definition. */
export interface PricingRows {
  variants: PricingVariant[];
  coupon: CouponRow | null;
}

/** A pricing row's option values by name (`{ Color: "Green" }`). */
export function pricingOptions(row: PricingVariant): Record<string, string> {
  const names = parseStringArray(row.optionNames);
  const values = [row.option1, row.option2, row.option3];
  const record: Record<string, string> = {};
  names.forEach((name, i) => {
    if (values[i]) record[name] = values[i]!;
  });
  return record;
}

/** Whether a pricing row's product has options (a shopper must name the variant). */
export function hasOptions(row: PricingVariant): boolean {
  return parseStringArray(row.optionNames).length > 0;
}

/**
 * The rows `priceFromRows` needs, in at most one D1 round trip (a batch when there is more than
 * one select). `variantIds` may hold ids that are not in the cart yet (an add); `productIds` are
 * products an add names without a variant (all their variants are read, to find the default).
 * Variants' rows this isolate read less than 5 s ago are reused (decision 009: every D1 read
 * here used to be most of a cart add's cost); the rest, and the coupon's definition, are read now.
 */
export async function loadPricingRows(
  db: Database,
  variantIds: string[],
  couponCode: string | null,
  now: number = Date.now(),
  productIds: string[] = [],
): Promise<PricingRows> {
  const { rows: shared, missing, generation } = sharedPricingRows(db.$client, [...new Set(variantIds)], now);
  const code = couponCode ? normaliseCouponCode(couponCode) : null;
  const reads = [
    ...(missing.length > 0 ? [pricingVariantsQuery(db, missing)] : []),
    ...(productIds.length > 0 ? [pricingVariantsOfProductsQuery(db, productIds)] : []),
  ];
  let read: PricingVariant[] = [];
  let coupon: CouponRow | null = null;
  if (reads.length === 0 && code) {
    coupon = await findNormalisedCoupon(db, code);
  } else if (reads.length === 1 && !code) {
    read = await reads[0]!;
  } else if (reads.length > 0) {
    const results = (await db.batch([reads[0]!, ...reads.slice(1), ...(code ? [couponByCodeQuery(db, code)] : [])])) as unknown[][];
    read = results.slice(0, reads.length).flat() as PricingVariant[];
    coupon = code ? ((results[reads.length]![0] as CouponRow | undefined) ?? null) : null;
  }
  rememberPricingRows(db.$client, read, generation, now);
  const byId = new Map([...shared, ...read].map((r) => [r.variantId, r]));
  return { variants: [...byId.values()], coupon };
}

/** A cart's currency: its first line whose variant is still for sale (null when there is none). */
export function cartCurrency(lines: CartLine[], variants: Map<string, PricingVariant>): string | null {
  for (const line of lines) {
    const variant = variants.get(line.variantId);
    if (variant && variant.productId === line.productId) return variant.currency;
  }
  return null;
}

/**
 * Prices a cart from D1's rows only (P11), as `loadPricingRows` read them (pure: no I/O): unit
 * prices are the variants' current `priceCents`, lines whose variant is gone, or whose product
 * is not active, are left out (and listed in `goneVariantIds`), the discount comes from the
 * coupon's D1 definition at `now` (the server's clock). Integers throughout;
 * `total = max(0, subtotal − discount)`. The cart's currency is its first priced line's; a line
 * in another currency is left out.
 */
export function priceFromRows(
  state: Pick<CartState, "lines" | "couponCode" | "version">,
  rows: PricingRows,
  now: Date,
): { cart: Cart; goneVariantIds: string[] } {
  const byId = new Map(rows.variants.map((r) => [r.variantId, r]));
  const items: CartItem[] = [];
  const goneVariantIds: string[] = [];
  const currency = cartCurrency(state.lines, byId);
  for (const line of state.lines) {
    const variant = byId.get(line.variantId);
    // A variant of another product than the line says is no line of ours (P11: nothing the client says is trusted).
    if (!variant || variant.productId !== line.productId) {
      goneVariantIds.push(line.variantId);
      continue;
    }
    if (variant.currency !== currency) continue;
    items.push({
      productId: variant.productId,
      variantId: variant.variantId,
      slug: variant.slug,
      name: variant.name,
      sku: variant.sku,
      options: pricingOptions(variant),
      quantity: line.quantity,
      unitPriceCents: variant.priceCents,
      lineTotalCents: variant.priceCents * line.quantity,
      imageUrl: variant.imageUrl,
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
  return { cart, goneVariantIds };
}

/** The empty cart, priced (a guest who has none yet). */
export function emptyCart(): Cart {
  return { items: [], coupon: null, subtotalCents: 0, discountCents: 0, totalCents: 0, currency: DEFAULT_CURRENCY, version: 0, couponNotice: null };
}

/**
 * The cart with its automatic discount (decision 030) folded into its totals: the discount is
 * computed by the coupons domain on the goods after the code, so the total never goes below zero.
 */
export function withAutomaticDiscount(cart: Cart, discount: { name: string; discountCents: number } | null): Cart {
  const cents = discount ? Math.max(0, Math.min(discount.discountCents, cart.totalCents)) : 0;
  return {
    ...cart,
    discountCents: cart.discountCents + cents,
    totalCents: cart.totalCents - cents,
    promotion: discount && cents > 0 ? { name: discount.name, discountCents: cents } : null,
  };
}
