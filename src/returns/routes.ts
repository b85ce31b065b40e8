import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { readShopSettings } from "../settings/shop-settings";
import { MAX_RETURN_LINES, requestReturn, returnability, returnViews } from "./returns";
import { ReturnabilitySchema, ReturnSchema } from "./return-schemas";
import { shopperOrder } from "./shopper-access";

const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });
const params = z.object({ id: z.string().min(1).max(100) });
const headers = z.object({
  "x-order-key": z.string().min(1).max(100).optional().openapi({ description: "A guest's order link key (as GET /api/guest-orders/{id})" }),
});
const who = "A signed-in shopper's own order, or a guest's order with its link's key in `X-Order-Key`; anything else is 404 `order_not_found`.";

export const ReturnRequestBody = z
  .object({
    lines: z
      .array(z.object({ variantId: z.string().min(1).max(100), quantity: z.number().int().min(1).max(10_000) }).strict())
      .min(1)
      .max(MAX_RETURN_LINES),
    reason: z.string().max(1000).default("").openapi({ description: "Why the items go back (optional, shown to staff)" }),
  })
  .strict()
  .openapi("ReturnRequest");

const createReturnRoute = createRoute({
  method: "post",
  path: "/orders/{id}/returns",
  operationId: "requestReturn",
  ...access.signedIn,
  tags: ["Returns"],
  summary: "Ask to return units of a delivered order's lines, within the shop's return window",
  description: `${who} The order must be paid and delivered, within the shop's return window of its delivery, with no other return open; a line's units are at most what was bought less what is refunded.`,
  request: { params, headers, body: { required: true, content: json(ReturnRequestBody) } },
  responses: {
    201: { description: "The return, requested", content: json(ReturnSchema) },
    401: problemResponseSpec("Not signed in and no guest key (`unauthenticated`)"),
    404: problemResponseSpec("`order_not_found`"),
    409: problemResponseSpec(
      "`order_not_delivered`, `order_not_returnable`, `returns_disabled`, `return_window_closed`, `return_already_open` or `return_exceeds_quantity`",
    ),
    422: problemResponseSpec("`validation_failed`, `return_line_not_found` or `return_lines_required`"),
  },
});

const listReturnsRoute = createRoute({
  method: "get",
  path: "/orders/{id}/returns",
  operationId: "listMyReturns",
  ...access.signedIn,
  tags: ["Returns"],
  summary: "An order's returns and what may still be returned",
  description: who,
  request: { params, headers },
  responses: {
    200: { description: "Returns", content: json(z.object({ items: z.array(ReturnSchema), returnable: ReturnabilitySchema })) },
    401: problemResponseSpec("Not signed in and no guest key (`unauthenticated`)"),
    404: problemResponseSpec("`order_not_found`"),
  },
});

/** The shopper's returns API (P12: the order is the caller's own, or a guest's opened by its key). */
export const returnsApi = createApiApp()
  .openapi(createReturnRoute, async (c) => {
    const { order, actor } = await shopperOrder(c, c.req.valid("param").id);
    const db = getDb(c.env.DB);
    const settings = await readShopSettings(c.env.DB);
    c.header("cache-control", "private, no-store");
    return c.json(await requestReturn(c.env, db, order, actor, c.req.valid("json"), settings.returnWindowDays), 201);
  })
  .openapi(listReturnsRoute, async (c) => {
    const { order } = await shopperOrder(c, c.req.valid("param").id);
    const db = getDb(c.env.DB);
    const settings = await readShopSettings(c.env.DB);
    c.header("cache-control", "private, no-store");
    const [items, returnable] = await Promise.all([returnViews(db, { orderId: order.id }), returnability(db, order, settings.returnWindowDays)]);
    return c.json({ items, returnable }, 200);
  });
