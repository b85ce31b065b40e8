// Checkout pricing of shipping: which rates a cart in a currency may choose and what each costs
// for its goods (free above a threshold). The cart page, GET /api/shipping-rates and checkout
// price shipping here, from the rates table only (never from the client).
import { and, asc, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { shippingRates, type ShippingRateRow } from "./schema";

/** A rate as shoppers and the API see it, priced for a cart whose goods cost `goodsCents`. */
export interface OfferedRate {
  id: string;
  name: string;
  amountCents: number;
  currency: string;
  minDays: number | null;
  maxDays: number | null;
  freeAboveCents: number | null;
}

/** The amount a rate costs for goods worth `goodsCents` (after discount): 0 at or above its free threshold. */
export function shippingAmountFor(rate: Pick<ShippingRateRow, "amountCents" | "freeAboveCents">, goodsCents: number): number {
  return rate.freeAboveCents !== null && goodsCents >= rate.freeAboveCents ? 0 : rate.amountCents;
}

/**
 * What a checkout charges before tax: the goods (after discount) plus the chosen rate's shipping.
 * Checkout writes it on the order and the cart page shows it, so the two never disagree.
 */
export function checkoutTotalCents(goodsCents: number, shippingCents: number): number {
  return goodsCents + shippingCents;
}

/** Rates a cart in `currency` can choose, in staff's order, each priced for `goodsCents`. */
export async function offeredRates(db: Database, currency: string, goodsCents: number): Promise<OfferedRate[]> {
  const rows = await db
    .select()
    .from(shippingRates)
    .where(and(eq(shippingRates.active, true), eq(shippingRates.currency, currency.toUpperCase())))
    .orderBy(asc(shippingRates.sortOrder), asc(shippingRates.amountCents), asc(shippingRates.id));
  return rows.map((r) => toOffered(r, goodsCents));
}

export function toOffered(row: ShippingRateRow, goodsCents: number): OfferedRate {
  return {
    id: row.id,
    name: row.name,
    amountCents: shippingAmountFor(row, goodsCents),
    currency: row.currency,
    minDays: row.minDays,
    maxDays: row.maxDays,
    freeAboveCents: row.freeAboveCents,
  };
}

/** A human label for a rate's delivery estimate ("3–5 business days"), or null. */
export function deliveryEstimate(rate: Pick<OfferedRate, "minDays" | "maxDays">): string | null {
  const { minDays, maxDays } = rate;
  if (minDays === null && maxDays === null) return null;
  if (minDays !== null && maxDays !== null && minDays !== maxDays) return `${minDays}–${maxDays} business days`;
  const days = maxDays ?? minDays!;
  return `${days} business day${days === 1 ? "" : "s"}`;
}
