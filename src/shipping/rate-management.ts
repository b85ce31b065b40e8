// Rate management: the shipping rates staff create, edit and retire (each change audited before
// it is made). What a rate costs a cart is checkout-pricing.ts; shipping an order, fulfilment.ts.
import { z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { requireAudit } from "../audit/audit";
import { getDb, type Database, sqlNowIso } from "../db/client";
import type { Config } from "../platform/config";
import { assertAmountChargeable } from "../payments/currency";
import { ProblemError } from "../platform/problem";
import { shippingRates, type ShippingRateRow } from "./schema";

/** Who made a change, for its audit event. */
export interface RateManager {
  id: string;
  ip: string | null;
}

/** Every field of a rate with its bounds (amounts in the currency's minor units), none defaulted: a patch is any part of it. */
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

// Partial of the defaults-free fields: an omitted field is left as it is, never reset to a default.
export const ShippingRatePatch = ShippingRateFields.partial();
export type ShippingRatePatch = z.infer<typeof ShippingRatePatch>;

/** One rate by id, active or not, or null. */
export async function findShippingRate(db: Database, id: string): Promise<ShippingRateRow | null> {
  const [row] = await db.select().from(shippingRates).where(eq(shippingRates.id, id)).limit(1);
  return row ?? null;
}

/** Every rate, for staff. */
export function listShippingRates(db: Database): Promise<ShippingRateRow[]> {
  return db.select().from(shippingRates).orderBy(asc(shippingRates.currency), asc(shippingRates.sortOrder), asc(shippingRates.id));
}

/** A single-currency shop refuses rates in other currencies; the days must make a range. */
function checkRate(
  config: Pick<Config, "SHOP_CURRENCY">,
  rate: Pick<ShippingRateRow, "currency" | "amountCents" | "minDays" | "maxDays">,
  amountSet: boolean,
): void {
  if (config.SHOP_CURRENCY && rate.currency !== config.SHOP_CURRENCY) {
    throw new ProblemError(422, "currency_not_accepted", `This shop sells in ${config.SHOP_CURRENCY} only.`);
  }
  // The amount must be one the provider can charge in the rate's currency (checked when it is set:
  // retiring an old rate is always allowed).
  if (amountSet) assertAmountChargeable(rate.currency, rate.amountCents);
  if (rate.minDays !== null && rate.maxDays !== null && rate.maxDays < rate.minDays) {
    throw new ProblemError(422, "delivery_days", "The latest delivery day cannot come before the earliest.");
  }
}

/** Creates a rate: checked, audited first (no change without its record), then written. */
export async function createShippingRateAudited(env: Env, config: Config, actor: RateManager, input: ShippingRateInput): Promise<ShippingRateRow> {
  checkRate(config, input, true);
  const id = `shr_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: "shipping_rate.created", subject: id, detail: { ...input } });
  const [row] = await getDb(env.DB)
    .insert(shippingRates)
    .values({ id, ...input })
    .returning();
  return row!;
}

/** Edits or retires a rate; orders already made keep the name and amount they were made with. */
export async function updateShippingRateAudited(env: Env, config: Config, actor: RateManager, id: string, patch: ShippingRatePatch): Promise<ShippingRateRow> {
  const db = getDb(env.DB);
  const before = await findShippingRate(db, id);
  if (!before) throw new ProblemError(404, "shipping_rate_not_found", "No such shipping rate.");
  checkRate(config, { ...before, ...patch }, patch.amountCents !== undefined || patch.currency !== undefined);
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: "shipping_rate.updated", subject: id, detail: { ...patch } });
  const [row] = await db
    .update(shippingRates)
    .set({ ...patch, updatedAt: sqlNowIso })
    .where(eq(shippingRates.id, id))
    .returning();
  return row!;
}
