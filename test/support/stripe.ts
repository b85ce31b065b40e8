import { env } from "cloudflare:workers";
import { getDb } from "../../src/db/client";
import { buildCheckoutSessionEvent, type SessionEventInput } from "../../src/payments/events";
import { RefundRefused } from "../../src/payments/provider";
import { recordEventInWorld, refundInWorld, saveWorld, sessionOfIntent, worldAsRetrieved, worldOf } from "../../src/payments/simulator-world";
import { computeStripeSignature } from "../../src/payments/signature";
import { request } from "./http";

/** The webhook secret the test worker runs with (vitest.config.ts bindings). */
export const WEBHOOK_SECRET = (env as unknown as { STRIPE_WEBHOOK_SECRET: string }).STRIPE_WEBHOOK_SECRET;

/** Signs a raw webhook body exactly as Stripe does; returns the Stripe-Signature header value. */
export async function signStripePayload(body: string, secret: string, timestamp: number = Math.floor(Date.now() / 1000)): Promise<string> {
  return `t=${timestamp},v1=${await computeStripeSignature(secret, timestamp, body)}`;
}

/** A Stripe-format Checkout Session event (same builder as the simulator). */
export function sessionEvent(input: SessionEventInput): Record<string, unknown> {
  return buildCheckoutSessionEvent(input);
}

/** A `charge.refunded` event shaped like Stripe's Charge object. */
export function chargeRefundedEvent(input: {
  paymentIntentId: string;
  amount: number;
  amountRefunded?: number;
  currency?: string;
  eventId?: string;
}): Record<string, unknown> {
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
export async function signedEvent(event: unknown, opts: { secret?: string; timestamp?: number } = {}): Promise<{ body: string; signature: string }> {
  const body = JSON.stringify(event);
  return { body, signature: await signStripePayload(body, opts.secret ?? WEBHOOK_SECRET, opts.timestamp) };
}

/** POSTs a raw body to the webhook as Stripe would (no cookies, no Origin). */
export function postWebhook(body: string, signature: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return request("/api/webhooks/stripe", {
    method: "POST",
    headers: {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
      ...(signature === null ? {} : { "stripe-signature": signature }),
      ...headers,
    },
    body,
  });
}

/**
 * Stripe's state changes as the event reports (the simulator's world, which the shop reads back as
 * it reads Stripe's API), without any delivery: the first half of what Stripe does.
 */
export async function stripeChanges(event: unknown): Promise<void> {
  await recordEventInWorld(getDb(env.DB), JSON.stringify(event));
}

/**
 * Signs and delivers an event to the webhook, as Stripe does: its state changes first (unless
 * `stale`: an old event delivered late or again, when Stripe's state has moved on or stayed).
 */
export async function deliverEvent(
  event: unknown,
  opts: { secret?: string; timestamp?: number; headers?: Record<string, string>; stale?: boolean } = {},
): Promise<Response> {
  const { body, signature } = await signedEvent(event, opts);
  if (!opts.stale) await stripeChanges(event);
  return postWebhook(body, signature, opts.headers);
}

/** A Checkout Session object as Stripe documents it (the response of POST /v1/checkout/sessions). */
export function stripeSessionResponse(fields: {
  id: string;
  amountTotal: number;
  currency: string;
  orderId: string;
  expiresAt: number;
  url?: string;
}): Record<string, unknown> {
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

/** One outbound call to Stripe's API as the stub saw it. */
export interface StripeCall {
  method: string;
  path: string;
  form: URLSearchParams;
}

/** Answers as Stripe's API does, JSON with a request id. */
export function stripeJson(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "request-id": "req_test" } });
}

/**
 * A Stripe API stand-in for `vi.spyOn(globalThis, "fetch")`: coupons, sessions (create, expire,
 * retrieve with the intent, charge and refunds expanded, list by payment intent), refunds and
 * disputes in Stripe's documented formats. Stripe's state for a payment is the simulator's world
 * (src/payments/simulator-world.ts), which tests change with `stripeChanges` / `deliverEvent`. `gate`: the session create waits until the test
 * resolves it (deterministic races, no timing); `onCreate` fires when that request arrived.
 * `completed`: session ids that Stripe reports as `complete` (expire refused, as Stripe does).
 */
export function stripeStub(opts: { gate?: Promise<void>; onCreate?: () => void; completed?: Set<string>; refundsFail?: boolean } = {}) {
  const calls: (StripeCall & { idempotencyKey: string | null })[] = [];
  const sessions = new Map<string, Record<string, unknown>>();
  const handler = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = init?.method ?? "GET";
    const form = new URLSearchParams(typeof init?.body === "string" ? init.body : "");
    calls.push({ method, path: url.pathname, form, idempotencyKey: new Headers(init?.headers).get("idempotency-key") });
    if (url.pathname === "/v1/coupons")
      return stripeJson({
        id: `co_${crypto.randomUUID().slice(0, 8)}`,
        object: "coupon",
        amount_off: Number(form.get("amount_off")),
        currency: form.get("currency"),
      });
    if (url.pathname === "/v1/checkout/sessions" && method === "POST") {
      opts.onCreate?.();
      if (opts.gate) await opts.gate;
      const orderId = form.get("client_reference_id")!;
      const id = `cs_test_${crypto.randomUUID().replaceAll("-", "")}`;
      const unit = [...form.keys()]
        .filter((k) => /^line_items\[\d+\]\[quantity\]$/.test(k))
        .reduce((sum, k) => {
          const i = k.match(/\d+/)![0];
          return sum + Number(form.get(k)) * Number(form.get(`line_items[${i}][price_data][unit_amount]`));
        }, 0);
      const discount = form.get("discounts[0][coupon]") ? Number(calls.find((c) => c.path === "/v1/coupons")?.form.get("amount_off") ?? 0) : 0;
      const session = stripeSessionResponse({ id, amountTotal: unit - discount, currency: "usd", orderId, expiresAt: Number(form.get("expires_at")) });
      sessions.set(id, session);
      return stripeJson(session);
    }
    const db = getDb(env.DB);
    if (url.pathname === "/v1/refunds" && method === "POST") {
      if (opts.refundsFail) return stripeJson({ error: { type: "api_error", message: "try later" } }, 500);
      const pi = form.get("payment_intent");
      const sessionId = pi ? await sessionOfIntent(db, pi) : null;
      if (sessionId) {
        // Stripe's books for this payment: the refund is made there, or refused as Stripe refuses it.
        try {
          const { refundId } = await refundInWorld(db, sessionId, {
            amountCents: Number(form.get("amount")),
            idempotencyKey: new Headers(init?.headers).get("idempotency-key"),
            claimId: form.get("metadata[claimId]"),
          });
          return stripeJson({ id: refundId, object: "refund", amount: Number(form.get("amount")), currency: "usd", payment_intent: pi, status: "succeeded" });
        } catch (error) {
          if (error instanceof RefundRefused) return stripeJson({ error: { type: "invalid_request_error", code: error.code, message: error.message } }, 400);
          throw error;
        }
      }
      return stripeJson({
        id: `re_${crypto.randomUUID().replaceAll("-", "")}`,
        object: "refund",
        amount: Number(form.get("amount")),
        currency: "usd",
        payment_intent: pi,
        status: "succeeded",
      });
    }
    const expire = url.pathname.match(/^\/v1\/checkout\/sessions\/([^/]+)\/expire$/);
    if (expire) {
      const id = expire[1]!;
      const world = await worldOf(db, id);
      if (opts.completed?.has(id) || world?.session.status === "complete")
        return stripeJson({ error: { type: "invalid_request_error", message: 'Only Checkout Sessions with a status in ["open"] can be expired.' } }, 400);
      if (world) await saveWorld(db, { ...world, session: { ...world.session, status: "expired" } });
      return stripeJson({ ...(sessions.get(id) ?? { id, object: "checkout.session" }), status: "expired" });
    }
    const retrieve = url.pathname.match(/^\/v1\/checkout\/sessions\/([^/]+)$/);
    if (retrieve && method === "GET") {
      const id = retrieve[1]!;
      const world = await worldOf(db, id);
      if (world) {
        // What Stripe knows of the payment (the tests change it as Stripe would: stripeChanges).
        const status = opts.completed?.has(id) ? "complete" : world.session.status;
        return stripeJson({ ...worldAsRetrieved(world), status });
      }
      return stripeJson({ ...(sessions.get(id) ?? { id, object: "checkout.session" }), status: opts.completed?.has(id) ? "complete" : "expired" });
    }
    if (url.pathname === "/v1/checkout/sessions" && method === "GET") {
      const sessionId = await sessionOfIntent(db, url.searchParams.get("payment_intent") ?? "");
      const world = sessionId ? await worldOf(db, sessionId) : null;
      return stripeJson({ object: "list", data: world ? [worldAsRetrieved(world)] : [], has_more: false, url: "/v1/checkout/sessions" });
    }
    if (url.pathname === "/v1/disputes" && method === "GET") {
      const sessionId = await sessionOfIntent(db, url.searchParams.get("payment_intent") ?? "");
      const world = sessionId ? await worldOf(db, sessionId) : null;
      return stripeJson({ object: "list", data: world?.disputes ?? [], has_more: false, url: "/v1/disputes" });
    }
    return stripeJson({ error: { type: "invalid_request_error", message: `unexpected ${method} ${url.pathname}` } }, 404);
  };
  return { calls, handler };
}

/** A `charge.dispute.*` event shaped like Stripe's Dispute object. */
export function disputeEvent(input: {
  type?: "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.closed" | "charge.dispute.funds_withdrawn" | "charge.dispute.funds_reinstated";
  paymentIntentId: string;
  disputeId?: string;
  amount: number;
  status: string;
  reason?: string;
  dueBy?: number;
}): Record<string, unknown> {
  return {
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    api_version: "2025-11-17.clover",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: input.type ?? "charge.dispute.created",
    data: {
      object: {
        id: input.disputeId ?? "dp_test_1",
        object: "dispute",
        amount: input.amount,
        currency: "usd",
        reason: input.reason ?? "fraudulent",
        status: input.status,
        charge: "ch_test_disputed",
        payment_intent: input.paymentIntentId,
        evidence_details: { due_by: input.dueBy ?? 1_900_000_000, has_evidence: false, past_due: false, submission_count: 0 },
        is_charge_refundable: false,
        livemode: false,
        created: Math.floor(Date.now() / 1000),
      },
    },
  };
}
