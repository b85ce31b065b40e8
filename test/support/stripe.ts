import { env } from "cloudflare:workers";
import { buildCheckoutSessionEvent, type SessionEventInput } from "../../src/payments/events";
import { computeStripeSignature } from "../../src/payments/signature";
import { request } from "./http";

/** The webhook secret the test worker runs with (vitest.config.ts bindings). */
export const WEBHOOK_SECRET = (env as unknown as { STRIPE_WEBHOOK_SECRET: string }).STRIPE_WEBHOOK_SECRET;

/** Signs a raw webhook body exactly as Stripe does; returns the Stripe-Signature header value. */
export async function signStripePayload(
  body: string,
  secret: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  return `t=${timestamp},v1=${await computeStripeSignature(secret, timestamp, body)}`;
}

/** A Stripe-format Checkout Session event (same builder as the simulator). */
export function sessionEvent(input: SessionEventInput): Record<string, unknown> {
  return buildCheckoutSessionEvent(input);
}

/** A `charge.refunded` event shaped like Stripe's Charge object. */
export function chargeRefundedEvent(input: { paymentIntentId: string; amount: number; amountRefunded?: number; currency?: string; eventId?: string }): Record<string, unknown> {
  const refunded = input.amountRefunded ?? input.amount;
  return {
    id: input.eventId ?? `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    api_version: "2025-11-17.clover",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: "charge.refunded",
    data: {
      object: {
        id: `ch_${crypto.randomUUID().replaceAll("-", "")}`,
        object: "charge",
        amount: input.amount,
        amount_refunded: refunded,
        currency: (input.currency ?? "usd").toLowerCase(),
        refunded: refunded >= input.amount,
        payment_intent: input.paymentIntentId,
        livemode: false,
      },
    },
  };
}

/** A body and its Stripe-Signature header (with the test secret unless told otherwise). */
export async function signedEvent(
  event: unknown,
  opts: { secret?: string; timestamp?: number } = {},
): Promise<{ body: string; signature: string }> {
  const body = JSON.stringify(event);
  return { body, signature: await signStripePayload(body, opts.secret ?? WEBHOOK_SECRET, opts.timestamp) };
}

/** POSTs a raw body to the webhook as Stripe would (no cookies, no Origin). */
export function postWebhook(body: string, signature: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return request("/api/webhooks/stripe", {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", ...(signature === null ? {} : { "stripe-signature": signature }), ...headers },
    body,
  });
}

/** Signs and delivers an event to the webhook. */
export async function deliverEvent(event: unknown, opts: { secret?: string; timestamp?: number; headers?: Record<string, string> } = {}): Promise<Response> {
  const { body, signature } = await signedEvent(event, opts);
  return postWebhook(body, signature, opts.headers);
}

/** A Checkout Session object as Stripe documents it (the response of POST /v1/checkout/sessions). */
export function stripeSessionResponse(fields: { id: string; amountTotal: number; currency: string; orderId: string; expiresAt: number; url?: string }): Record<string, unknown> {
  return {
    id: fields.id,
    object: "checkout.session",
    amount_subtotal: fields.amountTotal,
    amount_total: fields.amountTotal,
    cancel_url: "https://shop.example.com/cancel",
    client_reference_id: fields.orderId,
    created: Math.floor(Date.now() / 1000),
    currency: fields.currency,
    customer: null,
    expires_at: fields.expiresAt,
    livemode: false,
    metadata: { orderId: fields.orderId },
    mode: "payment",
    payment_intent: null,
    payment_status: "unpaid",
    status: "open",
    success_url: "https://shop.example.com/success",
    url: fields.url ?? `https://checkout.stripe.com/c/pay/${fields.id}`,
  };
}
