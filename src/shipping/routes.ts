import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { access, createApiApp } from "../platform/openapi";
import { offeredRates } from "./checkout-pricing";

const OfferedRateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    amountCents: z.number().int().openapi({ description: "What this rate costs for `goodsCents` (0 when free above the threshold)." }),
    currency: z.string(),
    minDays: z.number().int().nullable(),
    maxDays: z.number().int().nullable(),
    freeAboveCents: z.number().int().nullable(),
  })
  .openapi("ShippingRate");

const listRoute = createRoute({
  method: "get",
  path: "/shipping-rates",
  operationId: "listShippingRates",
  ...access.public,
  tags: ["Checkout"],
  summary: "The shipping rates a cart in `currency` can choose at checkout",
  description: "Priced for goods worth `goodsCents` (after discount). The amount charged is always recomputed from the shop's data at checkout.",
  request: {
    query: z.object({
      currency: z.string().regex(/^[A-Za-z]{3}$/),
      goodsCents: z.coerce.number().int().min(0).max(100_000_000_000).default(0),
    }),
  },
  responses: {
    200: { description: "Rates, in the shop's order", content: { "application/json": { schema: z.object({ items: z.array(OfferedRateSchema) }) } } },
  },
});

/** Public: which shipping rates exist (prices from D1 only). */
export const shippingPublicApi = createApiApp().openapi(listRoute, async (c) => {
  const { currency, goodsCents } = c.req.valid("query");
  return c.json({ items: await offeredRates(getDb(c.env.DB), currency, goodsCents) }, 200);
});
