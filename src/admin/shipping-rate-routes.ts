import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { createShippingRateAudited, listShippingRates, ShippingRateInput, ShippingRatePatch, updateShippingRateAudited } from "../shipping/rate-management";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";

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
const PatchBody = ShippingRatePatch.strict().openapi("AdminShippingRatePatch");
const RateIdParam = z.object({ id: z.string().min(1).max(100) });

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const refusals = {
  401: problemResponseSpec("Not signed in"),
  403: problemResponseSpec("Not an admin, or second factor missing"),
  422: problemResponseSpec("Invalid or unknown field, `delivery_days` (max below min) or `currency_not_accepted`"),
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
  request: { params: RateIdParam, body: { required: true, content: { "application/json": { schema: PatchBody } } } },
  responses: {
    200: { description: "Updated", content: json(ShippingRateSchema) },
    404: problemResponseSpec("`shipping_rate_not_found`"),
    ...refusals,
  },
});

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
