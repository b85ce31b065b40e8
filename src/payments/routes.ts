import { createRoute, z } from "@hono/zod-openapi";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { handleStripeWebhook } from "./webhook";

const webhookRoute = createRoute({
  method: "post",
  path: "/webhooks/stripe",
  operationId: "receiveStripeWebhook",
  ...access.stripe,
  tags: ["Payments"],
  summary: "Stripe webhook (authenticated only by Stripe-Signature)",
  description:
    "The raw body is verified against `Stripe-Signature` (HMAC-SHA256, 300 s tolerance, current and previous secret) before it is parsed. " +
    "Each event id takes effect at most once. `200 { received: true }` for valid, duplicate and ignored events.",
  request: {
    headers: z.object({ "stripe-signature": z.string().max(2000).optional() }),
  },
  responses: {
    200: {
      description: "Event received",
      content: { "application/json": { schema: z.object({ received: z.literal(true) }).openapi("WebhookReceived") } },
    },
    400: problemResponseSpec("Missing or bad signature (`signature_invalid`), livemode mismatch, or not a Stripe event"),
    403: problemResponseSpec("Source address not in STRIPE_WEBHOOK_IPS"),
  },
});

/**
 * Payments API: the Stripe webhook. No body validator on purpose: the body must stay raw bytes
 * until the signature over them is verified (T05, M-007).
 */
export const paymentsApi = createApiApp().openapi(webhookRoute, async (c) => {
  const outcome = await handleStripeWebhook(c.env, c.var.config, {
    rawBody: await c.req.text(),
    signature: c.req.header("stripe-signature"),
    ip: c.req.header("cf-connecting-ip") ?? null,
    fromNetwork: true,
  });
  if (outcome.status !== 200) throw new ProblemError(outcome.status, outcome.code, outcome.detail);
  return c.json(outcome.body, 200);
});
