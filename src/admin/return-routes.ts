import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { ReturnSchema } from "../returns/return-schemas";
import { RETURN_STATUSES } from "../returns/schema";
import { listReturns } from "../returns/staff-list";
import { approveReturn, receiveReturn, refuseReturn, returnAndOrder } from "../returns/steps";
import { actorOf } from "./guard";
import { requireStepUp } from "./refund-routes";
import { refundReturn } from "./return-refund";
import { guarded, jsonContent } from "./staff-api";

const ReturnIdParam = z.object({ id: z.string().min(1).max(100) });
const StaffReturn = ReturnSchema.extend({
  order: z.object({ id: z.string(), number: z.number().int().nullable(), customerEmail: z.string().nullable(), currency: z.string() }),
}).openapi("AdminReturn");
const notFound = problemResponseSpec("`return_not_found`");
const wrongStatus = "`return_wrong_status`: the return is not in the status this step starts from (or changed meanwhile)";

const listRoute = createRoute({
  method: "get",
  path: "/admin/returns",
  operationId: "adminListReturns",
  tags: ["Staff"],
  summary: "Returns, newest first, 100 at most, optionally of one status (admin)",
  request: { query: z.object({ status: z.enum(RETURN_STATUSES).optional() }) },
  responses: { 200: { description: "Returns", content: jsonContent(z.object({ items: z.array(StaffReturn) })) }, ...guarded },
});

const getRoute = createRoute({
  method: "get",
  path: "/admin/returns/{id}",
  operationId: "adminGetReturn",
  tags: ["Staff"],
  summary: "One return (admin)",
  request: { params: ReturnIdParam },
  responses: { 200: { description: "The return", content: jsonContent(ReturnSchema) }, 404: notFound, ...guarded },
});

const approveRoute = createRoute({
  method: "post",
  path: "/admin/returns/{id}/approve",
  operationId: "adminApproveReturn",
  tags: ["Staff"],
  summary: "Approve a requested return: the shopper is asked to send the items (admin)",
  request: { params: ReturnIdParam },
  responses: { 200: { description: "Approved", content: jsonContent(ReturnSchema) }, 404: notFound, 409: problemResponseSpec(wrongStatus), ...guarded },
});

const refuseRoute = createRoute({
  method: "post",
  path: "/admin/returns/{id}/refuse",
  operationId: "adminRefuseReturn",
  tags: ["Staff"],
  summary: "Refuse a requested or approved return, with the reason the shopper reads (admin)",
  request: {
    params: ReturnIdParam,
    body: {
      required: true,
      content: jsonContent(
        z
          .object({ reason: z.string().trim().min(1).max(500) })
          .strict()
          .openapi("AdminReturnRefusal"),
      ),
    },
  },
  responses: {
    200: { description: "Refused", content: jsonContent(ReturnSchema) },
    404: notFound,
    409: problemResponseSpec(wrongStatus),
    422: problemResponseSpec("`validation_failed` (no reason) or `refusal_reason_required`"),
    ...guarded,
  },
});

const receiveRoute = createRoute({
  method: "post",
  path: "/admin/returns/{id}/receive",
  operationId: "adminReceiveReturn",
  tags: ["Staff"],
  summary: "Mark an approved return's items received, and which go back on the shelf (admin)",
  description:
    "`restock`: per line (its variantId), whether its units go back on the shelf when the refund is made; a line not named is restocked. Records the `order.returned` event for integrations.",
  request: {
    params: ReturnIdParam,
    body: {
      required: false,
      content: jsonContent(
        z
          .object({ restock: z.record(z.string().min(1).max(100), z.boolean()).optional() })
          .strict()
          .openapi("AdminReturnReceipt"),
      ),
    },
  },
  responses: {
    200: { description: "Received", content: jsonContent(ReturnSchema) },
    404: notFound,
    409: problemResponseSpec(wrongStatus),
    422: problemResponseSpec("`validation_failed` or `return_line_not_found`"),
    ...guarded,
  },
});

const refundRoute = createRoute({
  method: "post",
  path: "/admin/returns/{id}/refund",
  operationId: "adminRefundReturn",
  tags: ["Staff"],
  summary: "Refund a received return's lines, restocking as chosen (admin, step-up)",
  description:
    "The refund is the order's line refund (as `POST /admin/orders/{id}/refunds` with `lines`): each unit gives back its part of what its line was paid, a line is never refunded beyond its quantity, the order never beyond what was paid. " +
    "The return is one refund however often this is called (its own idempotency key); a refunded return answers as it is. `expectedCents`: the amount the caller confirmed. " +
    "Needs a recent step-up: otherwise 403 `step_up_required`.",
  request: {
    params: ReturnIdParam,
    body: {
      required: false,
      content: jsonContent(
        z
          .object({ expectedCents: z.number().int().min(1).max(100_000_000).optional() })
          .strict()
          .openapi("AdminReturnRefund"),
      ),
    },
  },
  responses: {
    200: { description: "Refunded", content: jsonContent(ReturnSchema) },
    404: notFound,
    409: problemResponseSpec(
      `${wrongStatus}; \`line_already_refunded\`, \`line_refund_exceeds_quantity\`, \`refund_amount_changed\`, \`order_not_refundable\`, \`refund_exceeds_remaining\`, \`charge_disputed\`, \`refund_withdrawn\` or \`refund_refused\``,
    ),
    422: problemResponseSpec("`validation_failed`"),
    502: problemResponseSpec("`payment_unavailable`"),
    ...guarded,
  },
});

/** Staff API for returns (issue 32): list, read, and the steps, each audited; the refund needs a step-up like every refund. */
export const returnApi = createApiApp()
  .openapi(listRoute, async (c) => c.json({ items: await listReturns(getDb(c.env.DB), c.req.valid("query").status) }, 200))
  .openapi(getRoute, async (c) => c.json((await returnAndOrder(getDb(c.env.DB), c.req.valid("param").id)).ret, 200))
  .openapi(approveRoute, async (c) => c.json(await approveReturn(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("param").id), 200))
  .openapi(refuseRoute, async (c) => c.json(await refuseReturn(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, c.req.valid("json").reason), 200))
  .openapi(receiveRoute, async (c) => {
    const body = (c.req.valid("json") as { restock?: Record<string, boolean> } | undefined) ?? {};
    if (Object.keys(body.restock ?? {}).length > 50) throw new ProblemError(422, "return_line_not_found", "This return has no such line.");
    return c.json(await receiveReturn(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, body.restock ?? {}), 200);
  })
  .openapi(refundRoute, async (c) => {
    await requireStepUp(c);
    const body = (c.req.valid("json") as { expectedCents?: number } | undefined) ?? {};
    return c.json(await refundReturn(c.env, c.var.config, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, body.expectedCents), 200);
  });
