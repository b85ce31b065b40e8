import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { MAX_BULK_SHIPMENTS, shipMany } from "./bulk-shipping";
import { Printable } from "./fulfilment-routes";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";

/**
 * One order to ship. No `disputeOverrideReason`: a disputed order is shipped from its own
 * endpoint, with a reason, never in bulk (an unknown key is 422).
 */
const BulkShipmentItem = z
  .object({
    orderId: z.string().min(1).max(100),
    carrier: Printable(60),
    trackingNumber: Printable(100),
  })
  .strict()
  .openapi("AdminBulkShipment");

export const BulkShipBody = z
  .array(BulkShipmentItem)
  .min(1)
  .max(MAX_BULK_SHIPMENTS)
  .superRefine((items, ctx) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.orderId)) ctx.addIssue({ code: "custom", path: [i, "orderId"], message: "each order once" });
      seen.add(item.orderId);
    });
  })
  .openapi({ description: `1 to ${MAX_BULK_SHIPMENTS} orders, each once` });

const BulkShipResultSchema = z
  .object({
    orderId: z.string(),
    shipped: z.boolean(),
    code: z
      .enum(["order_not_found", "order_not_shippable", "order_disputed"])
      .optional()
      .openapi({ description: "Why this order was not shipped (absent when it was)" }),
  })
  .openapi("AdminBulkShipResult");

const bulkShipRoute = createRoute({
  method: "post",
  path: "/admin/orders/bulk-ship",
  operationId: "adminBulkShipOrders",
  tags: ["Staff"],
  summary: "Mark several paid orders shipped, each with its carrier and tracking number (admin); each shopper is mailed",
  description:
    "The same step as adminShipOrder, order by order (each audited as `order.shipped`, the action once more as `order.bulk_shipped`). " +
    "One refusal does not stop the others: the answer lists every order's result, in the order given. A disputed order is refused " +
    "(`order_disputed`): ship it with adminShipOrder and a reason.",
  request: { body: { required: true, content: { "application/json": { schema: BulkShipBody } } } },
  responses: {
    200: {
      description: "Every order's result",
      content: {
        "application/json": { schema: z.object({ shipped: z.number().int(), results: z.array(BulkShipResultSchema) }).openapi("AdminBulkShipAnswer") },
      },
    },
    401: problemResponseSpec("Not signed in"),
    403: problemResponseSpec("Not allowed for this role, or second factor missing"),
    422: problemResponseSpec(
      "`validation_failed`: not an array of 1–50 shipments, an unknown field, a carrier or tracking number not accepted, an order twice",
    ),
  },
});

/** Staff API: bulk shipping, through the page's own function (src/admin/bulk-shipping.ts). */
export const bulkShipApi = createApiApp();
bulkShipApi.use("/admin/orders/bulk-ship", staffGuard);
bulkShipApi.openapi(bulkShipRoute, async (c) => {
  const results = await shipMany(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, c.req.valid("json"));
  return c.json(
    {
      shipped: results.filter((r) => r.shipped).length,
      results: results.map((r) => (r.shipped ? r : { ...r, code: r.code as "order_not_found" | "order_not_shippable" | "order_disputed" })),
    },
    200,
  );
});
describeStaffAccess(bulkShipApi);
