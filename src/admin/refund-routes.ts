import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { STEP_UP_WINDOW_MS, stepUpValidUntil, stepUpWithTotp } from "../accounts/step-up";
import { IdempotencyKey } from "../checkout/replay";
import { MAX_REFUND_LINES } from "../checkout/refund-lines";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { actorOf, staffUser } from "./guard";
import { requestRefund, type RefundInput } from "./order-refunds";
import { ORDER_STATUSES } from "./order-search";
import { guarded, jsonContent } from "./staff-api";

/**
 * A money action needs a recent step-up (src/accounts/step-up.ts): a sign-in within 10 minutes or
 * a TOTP code within STEP_UP_WINDOW_MS. Otherwise 403 `code` (the page asks for the code in place;
 * an API client calls POST /api/admin/step-up and sends the request again).
 */
export async function requireStepUp(c: Context<AppEnv>, code: "step_up_required" | "reauth_required" = "step_up_required"): Promise<void> {
  if ((await stepUpValidUntil(c.env, staffUser(c))) !== null) return;
  throw new ProblemError(
    403,
    code,
    "Confirm it is you: send a code from your authenticator app to POST /api/admin/step-up (it holds for 15 minutes), then ask again.",
  );
}

const MINOR = z.number().int().min(1).max(100_000_000);

/** One of three explicit refunds: an amount, the rest of the payment, or units of order lines. Never an empty body. */
export const RefundRequestBody = z
  .union([
    z.object({ amountCents: MINOR.openapi({ description: "Minor units of the order's currency" }), expectedCents: MINOR.optional() }).strict(),
    z
      .object({
        refundRest: z.literal(true).openapi({ description: "Refund everything not refunded yet: an explicit choice" }),
        expectedCents: MINOR.optional().openapi({ description: "The amount the staff member confirmed: another amount is 409 `refund_amount_changed`" }),
      })
      .strict(),
    z
      .object({
        lines: z
          .array(
            z
              .object({
                variantId: z.string().min(1).max(100).optional().openapi({ description: "The order line's variant (its `items[].variantId`)" }),
                productId: z
                  .string()
                  .min(1)
                  .max(100)
                  .optional()
                  .openapi({ description: "Or the line's product, when the order holds one variant of it (API.md's shape before variants)" }),
                quantity: z.number().int().min(1).max(10_000),
                restock: z.boolean().openapi({ description: "Put the units back on the shelf once the refund is made" }),
              })
              .strict()
              .refine((l) => l.variantId !== undefined || l.productId !== undefined, { message: "Name the line: variantId (or productId)" }),
          )
          .min(1)
          .max(MAX_REFUND_LINES),
        expectedCents: MINOR.optional(),
      })
      .strict(),
  ])
  .openapi("AdminRefundRequest");
export type RefundRequestBody = z.infer<typeof RefundRequestBody>;

/** The refund a body asks for, as requestRefund takes it. */
export function refundInputOf(body: RefundRequestBody, idempotencyKey: string | undefined): RefundInput {
  if ("lines" in body) return { lines: body.lines, expectedCents: body.expectedCents, idempotencyKey };
  if ("refundRest" in body) return { expectedCents: body.expectedCents, idempotencyKey };
  return { amountCents: body.amountCents, expectedCents: body.expectedCents, idempotencyKey };
}

export const RefundAnswer = z
  .object({
    orderId: z.string(),
    refundId: z.string(),
    amountCents: z.number().int(),
    currency: z.string(),
    status: z.enum(ORDER_STATUSES),
    refundedCents: z.number().int().optional(),
    remainingCents: z.number().int().optional(),
    lines: z
      .array(z.object({ productId: z.string(), variantId: z.string(), quantity: z.number().int(), amountCents: z.number().int(), restock: z.boolean() }))
      .optional()
      .openapi({ description: "A line refund's lines and the part of the payment each gave back" }),
  })
  .openapi("AdminRefundAnswer");

const refundsRoute = createRoute({
  method: "post",
  path: "/admin/orders/{id}/refunds",
  operationId: "adminCreateRefund",
  tags: ["Staff"],
  summary: "Refund a paid order: an amount, the rest, or order lines with optional restock (admin, step-up)",
  description:
    "The body says what to refund, explicitly: `{amountCents}`, `{refundRest: true}` or `{lines: [{variantId, quantity, restock}]}` (or `productId` for a product the order holds one variant of) (each line's units give back their part of what the line was paid, its share of the discount taken off; a line is never refunded beyond its quantity). " +
    "Never more than what is left on the order, also when two refunds race. `expectedCents`: the amount the caller confirmed; another amount now is 409 `refund_amount_changed`. " +
    "Needs a recent step-up (a sign-in within 10 minutes, or `POST /api/admin/step-up` within 15): otherwise 403 `step_up_required`. " +
    "Send an `Idempotency-Key`: a replay answers the same refund. Restocked units go back on the shelf once the provider made the refund.",
  request: {
    params: z.object({ id: z.string().min(1).max(100) }),
    headers: z.object({ "idempotency-key": IdempotencyKey.optional() }),
    body: { required: true, content: { "application/json": { schema: RefundRequestBody } } },
  },
  responses: {
    202: { description: "Refund requested", content: jsonContent(RefundAnswer) },
    404: problemResponseSpec("No such order"),
    409: problemResponseSpec(
      "`order_not_refundable`, `refund_exceeds_remaining`, `line_already_refunded`, `line_refund_exceeds_quantity`, `refund_amount_changed`, `charge_disputed`, `refund_withdrawn` or `refund_refused`",
    ),
    422: problemResponseSpec("`validation_failed` (no amount, an empty body, an unknown field) `line_not_found` or `variant_required`"),
    502: problemResponseSpec("`payment_unavailable`"),
    ...guarded,
  },
});

const stepUpRoute = createRoute({
  method: "post",
  path: "/admin/step-up",
  operationId: "adminStepUp",
  tags: ["Staff"],
  summary: "Confirm it is you before money actions: a code from your authenticator app (admin)",
  description: `A right, unused TOTP code lets this session make refunds for ${STEP_UP_WINDOW_MS / 60_000} minutes. Attempts count like sign-in attempts (Turnstile, then back-off).`,
  request: { body: { required: true, content: { "application/json": { schema: z.object({ code: z.string().min(1).max(16) }).strict() } } } },
  responses: {
    200: { description: "Stepped up", content: jsonContent(z.object({ validUntil: z.string().openapi({ description: "ISO 8601" }) })) },
    403: problemResponseSpec(
      "`step_up_invalid_code` (wrong or used code), `step_up_unavailable` (no authenticator app on this account), or the guard's refusals",
    ),
    422: problemResponseSpec("`validation_failed`: no code, or an unknown field"),
    429: problemResponseSpec("`too_many_attempts`"),
    401: problemResponseSpec("Not signed in"),
  },
});

/** Staff API for money actions: explicit refunds (lines, restock) and the step-up they need. */
export const refundApi = createApiApp();

refundApi
  .openapi(refundsRoute, async (c) => {
    await requireStepUp(c);
    const input = refundInputOf(c.req.valid("json"), c.req.valid("header")["idempotency-key"]);
    return c.json(await requestRefund(c.env, c.var.config, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, input), 202);
  })
  .openapi(stepUpRoute, async (c) => {
    const result = await stepUpWithTotp(c, staffUser(c), c.req.valid("json").code);
    if ("refused" in result) {
      if (result.refused === "throttled") throw new ProblemError(429, "too_many_attempts", "Too many wrong codes: wait a moment and try again.");
      if (result.refused === "no_authenticator")
        throw new ProblemError(403, "step_up_unavailable", "This account has no authenticator app: sign in again to make money actions.");
      throw new ProblemError(403, "step_up_invalid_code", "That code is not right (or was used already): try the next one.");
    }
    return c.json({ validUntil: new Date(result.validUntil).toISOString() }, 200);
  });
