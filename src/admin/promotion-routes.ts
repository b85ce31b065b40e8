import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { actorOf } from "./guard";
import { promotionUsage } from "./promotion-usage";
import {
  createPromotionAudited,
  findPromotion,
  listPromotions,
  PROMOTION_KINDS,
  PromotionCreateBody,
  PromotionPatchBody,
  updatePromotionAudited,
  type AdminPromotion,
} from "./promotions";
import { guarded, jsonContent } from "./staff-api";

// Staff API for automatic promotions (issue 33, decision 030): admin only (the guard's default
// for a path it does not list), strict bodies, every change audited.

const AdminPromotionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(PROMOTION_KINDS),
    currency: z.string(),
    percentOff: z.number().int().nullable(),
    amountOffCents: z.number().int().nullable().openapi({ description: "Minor units of `currency`" }),
    minSubtotalCents: z.number().int().nullable().openapi({ description: "On the goods after a code's discount, minor units of `currency`" }),
    category: z.string().nullable(),
    productIds: z.array(z.string()).nullable(),
    startsAt: z.string().nullable(),
    endsAt: z.string().nullable(),
    firstOrderOnly: z.boolean(),
    active: z.boolean(),
    createdAt: z.string(),
    uses: z.number().int().openapi({ description: "Paid (or since refunded) orders that got it" }),
    discountGivenCents: z.number().int().openapi({ description: "What those orders were given, minor units of `currency`" }),
  })
  .openapi("AdminPromotion");
const IdParam = z.object({ id: z.string().min(1).max(100) });
const refusals =
  "Invalid or unknown field, or a kind without its value (`validation_failed`); an amount the provider cannot take (`currency_not_chargeable`, `amount_not_chargeable`, `amount_above_maximum`)";

const listRoute = createRoute({
  method: "get",
  path: "/admin/promotions",
  operationId: "adminListPromotions",
  tags: ["Staff"],
  summary: "Automatic promotions with their uses and discount given (admin)",
  responses: { 200: { description: "Every promotion", content: jsonContent(z.object({ items: z.array(AdminPromotionSchema) })) }, ...guarded },
});
const getRoute = createRoute({
  method: "get",
  path: "/admin/promotions/{id}",
  operationId: "adminGetPromotion",
  tags: ["Staff"],
  summary: "One automatic promotion (admin)",
  request: { params: IdParam },
  responses: {
    200: { description: "The promotion", content: jsonContent(AdminPromotionSchema) },
    404: problemResponseSpec("`promotion_not_found`"),
    ...guarded,
  },
});
const createRouteDef = createRoute({
  method: "post",
  path: "/admin/promotions",
  operationId: "adminCreatePromotion",
  tags: ["Staff"],
  summary: "Create an automatic promotion (admin)",
  request: { body: { content: jsonContent(PromotionCreateBody), required: true } },
  responses: { 201: { description: "Created", content: jsonContent(AdminPromotionSchema) }, 422: problemResponseSpec(refusals), ...guarded },
});
const patchRoute = createRoute({
  method: "patch",
  path: "/admin/promotions/{id}",
  operationId: "adminUpdatePromotion",
  tags: ["Staff"],
  summary: "Edit or deactivate (`active: false`) an automatic promotion (admin)",
  request: { params: IdParam, body: { content: jsonContent(PromotionPatchBody), required: true } },
  responses: {
    200: { description: "Updated", content: jsonContent(AdminPromotionSchema) },
    404: problemResponseSpec("`promotion_not_found`"),
    422: problemResponseSpec(refusals),
    ...guarded,
  },
});

/** A promotion with its usage (0 when no paid order got it). */
export async function withUsage(d1: D1Database, items: AdminPromotion[]): Promise<(AdminPromotion & { uses: number; discountGivenCents: number })[]> {
  const usage = new Map((await promotionUsage(d1)).filter((u) => u.kind === "automatic").map((u) => [u.id, u]));
  return items.map((p) => ({ ...p, uses: usage.get(p.id)?.uses ?? 0, discountGivenCents: usage.get(p.id)?.discountGivenCents ?? 0 }));
}

async function oneWithUsage(d1: D1Database, p: AdminPromotion) {
  return (await withUsage(d1, [p]))[0]!;
}

export const promotionApi = createApiApp();

promotionApi
  .openapi(listRoute, async (c) => c.json({ items: await withUsage(c.env.DB, await listPromotions(getDb(c.env.DB))) }, 200))
  .openapi(getRoute, async (c) => {
    const found = await findPromotion(getDb(c.env.DB), c.req.valid("param").id);
    if (!found) throw new ProblemError(404, "promotion_not_found", "No promotion has this id.");
    return c.json(await oneWithUsage(c.env.DB, found), 200);
  })
  .openapi(createRouteDef, async (c) => {
    const created = await createPromotionAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("json"));
    return c.json(await oneWithUsage(c.env.DB, created), 201);
  })
  .openapi(patchRoute, async (c) => {
    const updated = await updatePromotionAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json(await oneWithUsage(c.env.DB, updated), 200);
  });
