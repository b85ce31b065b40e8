import { eq } from "drizzle-orm";
import { z } from "zod";
import { pricingVariantsQuery, type PricingVariant } from "../catalog/pricing-queries";
import { pricingOptions } from "../cart/pricing";
import { livePromotionsQuery, ofCurrency } from "../coupons/automatic-promotions";
import { couponByCodeQuery, normaliseCouponCode } from "../coupons/coupons";
import type { CouponRow, PromotionRow } from "../coupons/schema";
import type { Database } from "../db/client";
import type { CheckoutLine } from "../payments/provider";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import { shippingRates, type ShippingRateRow } from "../shipping/schema";
import type { CartSnapshot } from "./effects";

/** The snapshot as checkout trusts it: bounded like the cart API (≤ 50 lines, quantities 1–99). */
const Snapshot = z.object({
  lines: z.array(z.object({ productId: z.string().min(1).max(100), variantId: z.string().min(1).max(100), quantity: z.number().int().min(1).max(99) })).max(50),
  couponCode: z.string().min(1).max(64).nullable(),
  version: z.number().int(),
});

/** A frozen cart priced from D1: what the order will sell, in which currency, shipped how, before any discount. */
export interface PricedCart {
  snapshot: CartSnapshot;
  lines: CheckoutLine[];
  currency: string;
  subtotalCents: number;
  rate: ShippingRateRow | null;
  /** The coupon's row as D1 has it now, or null (no coupon, an unknown or malformed code). */
  couponDefinition: CouponRow | null;
  /** Each line's variant's stock-gate shard count (decision 028). */
  gateShards: Record<string, number>;
  /** The live automatic promotions of the cart's currency, read in the same batch (decision 030). */
  promotions: PromotionRow[];
  /** The server's clock the promotions were read and are judged at. */
  pricedAt: Date;
}

/** The chosen rate, checked against the rates staff made for this currency (never a client's price). */
function chooseShippingRate(activeRates: ShippingRateRow[], currency: string, chosen: string | null): ShippingRateRow | null {
  const forCurrency = activeRates.filter((r) => r.currency === currency);
  if (forCurrency.length === 0) {
    if (chosen) throw new ProblemError(422, "shipping_rate_invalid", "This shop does not offer that shipping rate.");
    return null;
  }
  if (!chosen) throw new ProblemError(422, "shipping_rate_required", "Choose how your order is shipped.");
  const rate = forCurrency.find((r) => r.id === chosen);
  if (!rate) throw new ProblemError(422, "shipping_rate_invalid", "This shop does not offer that shipping rate.");
  return rate;
}

/**
 * Prices the cart's frozen snapshot from D1 only (P04): the variants of active products, the coupon's
 * definition and the active shipping rates in one round trip; other variants are not sold. Refuses an
 * empty result, mixed or unaccepted currencies, a missing or foreign shipping rate and lines
 * without enough stock (the order write checks stock again, atomically).
 */
export async function priceFrozenCart(db: Database, config: Config, frozen: unknown, shippingRateId: string | null): Promise<PricedCart> {
  const snapshot: CartSnapshot = Snapshot.parse(frozen);
  const variantIds = snapshot.lines.map((l) => l.variantId);
  const couponCode = snapshot.couponCode ? normaliseCouponCode(snapshot.couponCode) : null;
  let rows: PricingVariant[];
  let couponDefinition: CouponRow | null = null;
  // The active shipping rates ride in the same batch (a small table; the cart's currency is not known yet).
  const ratesQuery = db.select().from(shippingRates).where(eq(shippingRates.active, true));
  let activeRates: ShippingRateRow[];
  // The live automatic promotions ride along too (a handful of rows): no round trip of their own.
  const pricedAt = new Date();
  const promotionsQuery = livePromotionsQuery(db, pricedAt);
  let livePromotions: PromotionRow[];
  if (couponCode) {
    const [productRows, couponRows, rateRows, promotionRows] = await db.batch([
      pricingVariantsQuery(db, variantIds),
      couponByCodeQuery(db, couponCode),
      ratesQuery,
      promotionsQuery,
    ]);
    rows = productRows;
    couponDefinition = couponRows[0] ?? null;
    activeRates = rateRows;
    livePromotions = promotionRows;
  } else {
    [rows, activeRates, livePromotions] = await db.batch([pricingVariantsQuery(db, variantIds), ratesQuery, promotionsQuery]);
  }
  const byId = new Map(rows.map((r) => [r.variantId, r]));
  // Prices, names, SKUs, option values and currency come from D1 only; a variant of a product that
  // is not active, deleted, or not of the line's product is not sold (P04, P11; decision 025).
  const lines: CheckoutLine[] = snapshot.lines.flatMap((l) => {
    const v = byId.get(l.variantId);
    if (!v || v.productId !== l.productId) return [];
    return [
      {
        productId: v.productId,
        variantId: v.variantId,
        name: v.name,
        sku: v.sku,
        options: pricingOptions(v),
        unitPriceCents: v.priceCents,
        quantity: l.quantity,
        taxCode: v.taxCode,
      },
    ];
  });
  if (lines.length === 0) throw new ProblemError(409, "cart_empty", "Your cart has nothing that can be bought.");
  const currencies = new Set(lines.map((l) => byId.get(l.variantId)!.currency));
  if (currencies.size !== 1) throw new ProblemError(422, "currency_mismatch", "Items in different currencies cannot be bought together.");
  const currency = [...currencies][0]!;
  if (config.SHOP_CURRENCY && currency !== config.SHOP_CURRENCY) {
    throw new ProblemError(422, "currency_not_accepted", `This shop sells in ${config.SHOP_CURRENCY} only.`);
  }
  const rate = chooseShippingRate(activeRates, currency, shippingRateId);
  for (const l of lines) {
    if (byId.get(l.variantId)!.stock < l.quantity) throw new ProblemError(422, "out_of_stock", `${l.name} does not have enough stock.`);
  }
  const subtotalCents = lines.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
  const gateShards = Object.fromEntries(lines.map((l) => [l.variantId, byId.get(l.variantId)!.gateShards]));
  return { snapshot, lines, currency, subtotalCents, rate, couponDefinition, gateShards, promotions: ofCurrency(livePromotions, currency), pricedAt };
}
