import { and, asc, eq, sql } from "drizzle-orm";
import { z } from "@hono/zod-openapi";
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

/** What staff send to create or replace a rate (amounts in the currency's minor units). */
/** Every field of a rate with its bounds, none defaulted: a patch is any part of it. */
export const ShippingRateFields = z.object({
  name: z.string().trim().min(1).max(80),
  amountCents: z.number().int().min(0).max(100_000_000),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, "an ISO 4217 code")
    .transform((v) => v.toUpperCase()),
  minDays: z.number().int().min(0).max(365).nullable(),
  maxDays: z.number().int().min(0).max(365).nullable(),
  freeAboveCents: z.number().int().min(0).max(100_000_000_000).nullable(),
  active: z.boolean(),
  sortOrder: z.number().int().min(0).max(1000),
});
const field = ShippingRateFields.shape;
/** A new rate: the fields, with what an omitted one means. */
export const ShippingRateInput = ShippingRateFields.extend({
  minDays: field.minDays.default(null),
  maxDays: field.maxDays.default(null),
  freeAboveCents: field.freeAboveCents.default(null),
  active: field.active.default(true),
  sortOrder: field.sortOrder.default(0),
});
export type ShippingRateInput = z.infer<typeof ShippingRateInput>;

/** The amount a rate costs for goods worth `goodsCents` (after discount): 0 at or above its free threshold. */
export function shippingAmountFor(rate: Pick<ShippingRateRow, "amountCents" | "freeAboveCents">, goodsCents: number): number {
  return rate.freeAboveCents !== null && goodsCents >= rate.freeAboveCents ? 0 : rate.amountCents;
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

/** Whether any active rate exists in `currency`: then every checkout in it must choose one. */
export function activeRateCountQuery(db: Database, currency: string) {
  return db
    .select({ n: sql<number>`count(*)` })
    .from(shippingRates)
    .where(and(eq(shippingRates.active, true), eq(shippingRates.currency, currency.toUpperCase())));
}

/** One rate by id, active or not, or null. */
export async function findShippingRate(db: Database, id: string): Promise<ShippingRateRow | null> {
  const [row] = await db.select().from(shippingRates).where(eq(shippingRates.id, id)).limit(1);
  return row ?? null;
}

/** Every rate, for staff. */
export function listShippingRates(db: Database): Promise<ShippingRateRow[]> {
  return db.select().from(shippingRates).orderBy(asc(shippingRates.currency), asc(shippingRates.sortOrder), asc(shippingRates.id));
}

/** A human label for a rate's delivery estimate ("3–5 business days"), or null. */
export function deliveryEstimate(rate: Pick<OfferedRate, "minDays" | "maxDays">): string | null {
  const { minDays, maxDays } = rate;
  if (minDays === null && maxDays === null) return null;
  if (minDays !== null && maxDays !== null && minDays !== maxDays) return `${minDays}–${maxDays} business days`;
  const days = maxDays ?? minDays!;
  return `${days} business day${days === 1 ? "" : "s"}`;
}
