import { createRoute, z } from "@hono/zod-openapi";
import { requireFreshSession } from "../accounts/session";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { actorOf, staffUser } from "./guard";
import { guarded, jsonContent } from "./staff-api";
import { refundStrayPaymentById, strayPaymentDesk } from "./stray-payments";

const StrayPaymentSchema = z
  .object({
    id: z.string().openapi({ description: "The payment intent id (or the Checkout Session id of a payment without one)" }),
    orderId: z.string().nullable().openapi({ description: "The closed order it paid for, or null: no order matches it" }),
    sessionId: z.string().nullable(),
    paymentIntentId: z.string().nullable(),
    amountCents: z.number().int(),
    currency: z.string(),
    reason: z
      .string()
      .openapi({ description: "Why the shop kept no order for it: order_expired, order_cancelled, amount_total, shipping_address, unknown_order…" }),
    refundState: z.enum(["none", "requested", "refunded"]),
    refundId: z.string().nullable(),
    receivedAt: z.string(),
  })
  .openapi("StrayPayment");

const listRoute = createRoute({
  method: "get",
  path: "/admin/stray-payments",
  operationId: "adminListStrayPayments",
  tags: ["Staff"],
  summary: "Payments the shop received but will not fulfil, newest first (admin)",
  description:
    "Money without a home: its order closed first, it failed the shop's checks, or no order matches it. `state=open` lists only those not refunded yet.",
  request: { query: z.object({ state: z.enum(["open", "all"]).default("open") }) },
  responses: { 200: { description: "At most 200 payments", content: jsonContent(z.object({ items: z.array(StrayPaymentSchema) })) }, ...guarded },
});

const refundRoute = createRoute({
  method: "post",
  path: "/admin/stray-payments/{id}/refund",
  operationId: "adminRefundStrayPayment",
  tags: ["Staff"],
  summary: "Refund one stray payment in full, once (admin, sign-in within 10 minutes)",
  request: { params: z.object({ id: z.string().min(1).max(200) }) },
  responses: {
    200: { description: "Refunded", content: jsonContent(StrayPaymentSchema) },
    404: problemResponseSpec("`payment_not_found`"),
    409: problemResponseSpec("`order_not_refundable`: refunded already or being refunded"),
    502: problemResponseSpec("`payment_unavailable`: the provider did not accept the refund; the payment stays refundable"),
    ...guarded,
  },
});

/** Staff API for stray payments (admin only, src/admin/guard.ts). */
export const strayPaymentApi = createApiApp();

strayPaymentApi
  .openapi(listRoute, async (c) => c.json({ items: await strayPaymentDesk(getDb(c.env.DB), { open: c.req.valid("query").state === "open" }) }, 200))
  .openapi(refundRoute, async (c) => {
    requireFreshSession(staffUser(c));
    return c.json(await refundStrayPaymentById(c.env, c.var.config, getDb(c.env.DB), actorOf(c), c.req.valid("param").id), 200);
  });
