import { createRoute, z } from "@hono/zod-openapi";
import { OrderSchema } from "../checkout/routes";
import { IdempotencyKey } from "../checkout/replay";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { actorOf } from "./guard";
import { requireStepUp } from "./refund-routes";
import { requestRefund } from "./order-refunds";
import { FULFILMENT_STATES, ORDER_STATUSES, OrderSearchQuery, PAYMENT_STATES, searchOrders } from "./order-search";
import { findAdminOrder } from "./orders";
import { guarded, jsonContent } from "./staff-api";

const AdminOrderSummarySchema = z
  .object({
    id: z.string(),
    number: z.number().int().nullable().openapi({ description: "The short order number people use (`#1042`)" }),
    status: z.enum(ORDER_STATUSES),
    paymentState: z.enum(PAYMENT_STATES),
    fulfilment: z.enum(FULFILMENT_STATES),
    userId: z.string(),
    customerEmail: z.string().nullable(),
    customerName: z.string().nullable(),
    totalCents: z.number().int(),
    refundedCents: z.number().int(),
    currency: z.string(),
    couponCode: z.string().nullable(),
    disputeStatus: z.string().nullable(),
    createdAt: z.string(),
    paidAt: z.string().nullable(),
  })
  .openapi("AdminOrderSummary");
export const AdminOrderSchema = OrderSchema.extend({
  userId: z.string(),
  customerEmail: z.string().nullable(),
  provider: z.string(),
  paymentSessionId: z.string().nullable(),
  paymentIntentId: z.string().nullable(),
  updatedAt: z.string(),
  timeline: z.array(z.object({ id: z.string(), kind: z.string(), detail: z.string().nullable(), createdAt: z.string() })),
  paymentInFlight: z.boolean().openapi({ description: "A delayed payment (bank transfer) is in flight: the order stays pending with its holds" }),
  couponOverRedeemed: z.boolean().openapi({ description: "Paid with a coupon that had no hold and no room left: resolve with the customer (decision 013)" }),
  paymentsAfterClose: z.array(
    z.object({
      id: z.string(),
      amountCents: z.number().int(),
      currency: z.string(),
      reason: z
        .string()
        .openapi({ description: "Why the shop kept no order for it: order_expired, order_cancelled, amount_total, shipping_address, session_id…" }),
      receivedAt: z.string(),
      refundId: z.string().nullable(),
    }),
  ),
  refundedCents: z.number().int().openapi({ description: "Everything refunded, as the payment provider's books say (staff and Dashboard refunds)" }),
  refunds: z.array(
    z.object({
      id: z.string(),
      amountCents: z.number().int(),
      source: z.enum(["staff", "provider"]).openapi({ description: "`provider`: made outside the shop (the Stripe Dashboard)" }),
      state: z.enum(["requested", "done"]),
      requestedBy: z.string(),
      createdAt: z.string(),
      lines: z.array(
        z.object({
          productId: z.string(),
          name: z.string(),
          quantity: z.number().int(),
          amountCents: z.number().int(),
          restock: z.boolean(),
          restocked: z.boolean(),
        }),
      ),
    }),
  ),
  disputeStatus: z.string().nullable().openapi({ description: "The headline dispute's status (Stripe's), or null: never disputed" }),
  disputes: z.array(
    z.object({
      id: z.string(),
      amountCents: z.number().int(),
      currency: z.string(),
      reason: z.string(),
      status: z.string(),
      evidenceDueBy: z.string().nullable(),
    }),
  ),
}).openapi("AdminOrder");
const OrderIdParam = z.object({ id: z.string().min(1).max(100) });

const listOrdersRoute = createRoute({
  method: "get",
  path: "/admin/orders",
  operationId: "adminListOrders",
  tags: ["Staff"],
  summary: "Orders, newest first, by status and customer (email or user id) (admin and support)",
  request: { query: OrderSearchQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AdminOrderSummarySchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const getOrderRoute = createRoute({
  method: "get",
  path: "/admin/orders/{id}",
  operationId: "adminGetOrder",
  tags: ["Staff"],
  summary: "One order with its customer and payment timeline (admin and support)",
  request: { params: OrderIdParam },
  responses: { 200: { description: "The order", content: jsonContent(AdminOrderSchema) }, 404: problemResponseSpec("No such order"), ...guarded },
});
const RefundBody = z
  .object({ amountCents: z.number().int().min(1).max(100_000_000).optional().openapi({ description: "Minor units; default: everything not refunded yet" }) })
  .strict()
  .openapi("AdminRefund");

const refundOrderRoute = createRoute({
  method: "post",
  path: "/admin/orders/{id}/refund",
  operationId: "adminRefundOrder",
  tags: ["Staff"],
  summary: "Deprecated: use POST /admin/orders/{id}/refunds. Refund a paid order, in full or in part (admin, step-up)",
  deprecated: true,
  description:
    "Deprecated (issue 32): an empty body refunds everything; POST /admin/orders/{id}/refunds asks for the amount explicitly and refunds lines. Kept working as documented for existing clients; a recent step-up (sign-in within 10 minutes, or POST /admin/step-up) is enough, otherwise 403 `reauth_required`. " +
    "Refunds `amountCents` (default: everything not refunded yet), never more than what is left: two refunds at once cannot add up to more than was paid. " +
    "Send an `Idempotency-Key`: a replay with the same key answers the same refund and moves no money again. " +
    "The order becomes `refunded` when the provider's `charge.refunded` webhook reports the whole charge refunded; a partial refund keeps it `paid`.",
  request: {
    params: OrderIdParam,
    headers: z.object({ "idempotency-key": IdempotencyKey.optional() }),
    body: { required: false, content: { "application/json": { schema: RefundBody } } },
  },
  responses: {
    202: {
      description: "Refund requested",
      content: jsonContent(
        z.object({
          orderId: z.string(),
          refundId: z.string(),
          amountCents: z.number().int(),
          currency: z.string(),
          status: z.enum(ORDER_STATUSES),
          refundedCents: z.number().int().optional(),
          remainingCents: z.number().int().optional(),
        }),
      ),
    },
    404: problemResponseSpec("No such order"),
    409: problemResponseSpec(
      "`order_not_refundable` (not paid, or refunded in full), `refund_exceeds_remaining` (also after a Dashboard refund), `charge_disputed` (the payment is disputed), `refund_withdrawn` (a replayed key whose lost refund was not made) or `refund_refused`",
    ),
    422: problemResponseSpec("`validation_failed`: an amount that is not a positive whole number of minor units, or an unknown field"),
    502: problemResponseSpec("`payment_unavailable`"),
    ...guarded,
  },
});

/** Staff API for orders: support and admin read them; refunds are admin only (src/admin/guard.ts). */
export const orderApi = createApiApp();

orderApi
  .openapi(listOrdersRoute, async (c) => c.json(await searchOrders(getDb(c.env.DB), c.req.valid("query")), 200))
  .openapi(getOrderRoute, async (c) => {
    const order = await findAdminOrder(getDb(c.env.DB), c.req.valid("param").id);
    if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
    return c.json(order, 200);
  })
  .openapi(refundOrderRoute, async (c) => {
    await requireStepUp(c, "reauth_required");
    const body = (c.req.valid("json") as { amountCents?: number } | undefined) ?? {};
    const input = { amountCents: body.amountCents, idempotencyKey: c.req.valid("header")["idempotency-key"] };
    return c.json(await requestRefund(c.env, c.var.config, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, input), 202);
  });
