import { createRoute, z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { requireAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { assertAmountChargeable } from "../payments/currency";
import { ProblemError } from "../platform/problem";
import { shippingRates, type ShippingRateRow } from "../shipping/schema";
import { findShippingRate, listShippingRates, ShippingRateFields, ShippingRateInput } from "../shipping/rates";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";
import type { StaffActor } from "./products";
import type { Config } from "../platform/config";

export const ShippingRateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    amountCents: z.number().int(),
    currency: z.string(),
    minDays: z.number().int().nullable(),
    maxDays: z.number().int().nullable(),
    freeAboveCents: z.number().int().nullable(),
    active: z.boolean(),
    sortOrder: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("AdminShippingRate");

const CreateBody = ShippingRateInput.strict().openapi("AdminShippingRateCreate");
// Partial of the defaults-free fields: an omitted field is left as it is, never reset to a default.
export const ShippingRatePatch = ShippingRateFields.partial().strict().openapi("AdminShippingRatePatch");
export type ShippingRatePatch = z.infer<typeof ShippingRatePatch>;
const RateIdParam = z.object({ id: z.string().min(1).max(100) });

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const refusals = {
  401: problemResponseSpec("Not signed in"),
  403: problemResponseSpec("Not an admin, or second factor missing"),
  422: problemResponseSpec(
    "Invalid or unknown field, `delivery_days` (max below min), `currency_not_accepted`, or an amount the payment provider cannot charge in the rate's currency (`currency_not_chargeable`, `amount_not_chargeable`, `amount_above_maximum`)",
  ),
};

const listRoute = createRoute({
  method: "get",
  path: "/admin/shipping-rates",
  operationId: "adminListShippingRates",
  tags: ["Staff"],
  summary: "Every shipping rate, active or not (admin)",
  responses: { 200: { description: "Rates", content: json(z.object({ items: z.array(ShippingRateSchema) })) }, ...refusals },
});
const createRateRoute = createRoute({
  method: "post",
  path: "/admin/shipping-rates",
  operationId: "adminCreateShippingRate",
  tags: ["Staff"],
  summary: "Create a shipping rate (admin); audited",
  description:
    "Amounts are minor units of the rate's currency. Once a currency has an active rate, every checkout in it must choose one. " +
    "`freeAboveCents`: the rate costs nothing when the goods (after discount) reach it.",
  request: { body: { required: true, content: { "application/json": { schema: CreateBody } } } },
  responses: { 201: { description: "Created", content: json(ShippingRateSchema) }, ...refusals },
});
const patchRateRoute = createRoute({
  method: "patch",
  path: "/admin/shipping-rates/{id}",
  operationId: "adminUpdateShippingRate",
  tags: ["Staff"],
  summary: "Edit or retire (`active: false`) a shipping rate (admin); audited",
  description: "Orders keep the name and amount they were made with; a pending order whose rate changed is still checked against its own amount.",
  request: { params: RateIdParam, body: { required: true, content: { "application/json": { schema: ShippingRatePatch } } } },
  responses: {
    200: { description: "Updated", content: json(ShippingRateSchema) },
    404: problemResponseSpec("`shipping_rate_not_found`"),
    ...refusals,
  },
});

/**
 * A single-currency shop refuses rates in other currencies; the amount must be one the provider
 * can charge in the rate's currency (checked when it is set: retiring an old rate is always
 * allowed); the days must make a range.
 */
function checkRate(
  config: Pick<Config, "SHOP_CURRENCY">,
  rate: Pick<ShippingRateRow, "currency" | "amountCents" | "minDays" | "maxDays">,
  amountSet: boolean,
): void {
  if (config.SHOP_CURRENCY && rate.currency !== config.SHOP_CURRENCY) {
    throw new ProblemError(422, "currency_not_accepted", `This shop sells in ${config.SHOP_CURRENCY} only.`);
  }
  if (amountSet) assertAmountChargeable(rate.currency, rate.amountCents);
  if (rate.minDays !== null && rate.maxDays !== null && rate.maxDays < rate.minDays) {
    throw new ProblemError(422, "delivery_days", "The latest delivery day cannot come before the earliest.");
  }
}

/** Creates a rate: checked, audited first (no change without its record), then written. */
export async function createShippingRateAudited(env: Env, config: Config, actor: StaffActor, input: ShippingRateInput): Promise<ShippingRateRow> {
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
export async function updateShippingRateAudited(env: Env, config: Config, actor: StaffActor, id: string, patch: ShippingRatePatch): Promise<ShippingRateRow> {
  const db = getDb(env.DB);
  const before = await findShippingRate(db, id);
  if (!before) throw new ProblemError(404, "shipping_rate_not_found", "No such shipping rate.");
  checkRate(config, { ...before, ...patch }, patch.amountCents !== undefined || patch.currency !== undefined);
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: "shipping_rate.updated", subject: id, detail: { ...patch } });
  const [row] = await db
    .update(shippingRates)
    .set({ ...patch, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))` })
    .where(eq(shippingRates.id, id))
    .returning();
  return row!;
}

/** Staff API: the shipping rates checkout offers (src/shipping owns them). Every change is audited before it is made. */
export const shippingRatesApi = createApiApp();
shippingRatesApi.use("/admin/shipping-rates", staffGuard);
shippingRatesApi.use("/admin/shipping-rates/*", staffGuard);
shippingRatesApi
  .openapi(listRoute, async (c) => c.json({ items: await listShippingRates(getDb(c.env.DB)) }, 200))
  .openapi(createRateRoute, async (c) => {
    const row = await createShippingRateAudited(c.env, c.var.config, { id: staffUser(c).id, ip: clientIp(c) }, c.req.valid("json"));
    return c.json(row, 201);
  })
  .openapi(patchRateRoute, async (c) => {
    const actor = { id: staffUser(c).id, ip: clientIp(c) };
    return c.json(await updateShippingRateAudited(c.env, c.var.config, actor, c.req.valid("param").id, c.req.valid("json")), 200);
  });
describeStaffAccess(shippingRatesApi);
