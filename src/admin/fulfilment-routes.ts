import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { markDelivered, markShipped } from "../shipping/fulfilment";
import { findAdminOrder } from "./orders";
import { AdminOrderSchema } from "./order-routes";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";

const OrderIdParam = z.object({ id: z.string().min(1).max(100) });

/** A carrier's name and tracking number: printable text, no control characters or markup. */
export const Printable = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[\p{L}\p{N} .,'&()/#+-]+$/u, "letters, digits, spaces and . , ' & ( ) / # + -");

export const ShipmentBody = z
  .object({
    carrier: Printable(60),
    trackingNumber: Printable(100),
    disputeOverrideReason: Printable(300)
      .optional()
      .openapi({ description: "Ship although the payment is disputed: why (audited). Without it a disputed order is 409 `order_disputed`." }),
  })
  .strict()
  .openapi("AdminShipment");

const json = (schema: z.ZodType) => ({ "application/json": { schema } });
const staffRefusals = {
  401: problemResponseSpec("Not signed in"),
  403: problemResponseSpec("Not allowed for this role, or second factor missing"),
  404: problemResponseSpec("`order_not_found`"),
  422: problemResponseSpec("Invalid or unknown field"),
};

const shipRoute = createRoute({
  method: "post",
  path: "/admin/orders/{id}/ship",
  operationId: "adminShipOrder",
  tags: ["Staff"],
  summary: "Mark a paid order shipped with its carrier and tracking number (admin); the shopper is mailed",
  request: { params: OrderIdParam, body: { required: true, content: { "application/json": { schema: ShipmentBody } } } },
  responses: {
    200: { description: "Shipped", content: json(AdminOrderSchema) },
    409: problemResponseSpec(
      "`order_not_shippable`: not paid, refunded, or shipped already; `order_disputed`: the payment is disputed (give `disputeOverrideReason`)",
    ),
    ...staffRefusals,
  },
});

const deliverRoute = createRoute({
  method: "post",
  path: "/admin/orders/{id}/deliver",
  operationId: "adminDeliverOrder",
  tags: ["Staff"],
  summary: "Mark a shipped order delivered (admin)",
  request: { params: OrderIdParam },
  responses: {
    200: { description: "Delivered", content: json(AdminOrderSchema) },
    409: problemResponseSpec("`order_not_deliverable`: not shipped"),
    ...staffRefusals,
  },
});

/** Staff API: the goods' steps of an order (src/shipping/fulfilment.ts owns them), audited. */
export const fulfilmentApi = createApiApp();
fulfilmentApi.use("/admin/orders/*", staffGuard);
fulfilmentApi
  .openapi(shipRoute, async (c) => {
    const db = getDb(c.env.DB);
    const { id } = c.req.valid("param");
    await markShipped(c.env, db, { id: staffUser(c).id, ip: clientIp(c) }, id, c.req.valid("json"));
    return c.json((await findAdminOrder(db, id))!, 200);
  })
  .openapi(deliverRoute, async (c) => {
    const db = getDb(c.env.DB);
    const { id } = c.req.valid("param");
    await markDelivered(c.env, db, { id: staffUser(c).id, ip: clientIp(c) }, id);
    return c.json((await findAdminOrder(db, id))!, 200);
  });
describeStaffAccess(fulfilmentApi);
