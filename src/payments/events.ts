import { z } from "zod";
import { randomStripeSuffix } from "./simulator-store";

/**
 * The parts of a Stripe event the shop reads, checked by zod after the signature was verified.
 * Unknown fields are ignored (Stripe adds fields without a new API version); a missing or
 * mistyped field we rely on makes the event unusable, never a crash.
 */
export const StripeEventEnvelope = z.object({
  id: z.string().regex(/^evt_[A-Za-z0-9_]{1,255}$/),
  object: z.literal("event"),
  type: z.string().min(1).max(100),
  livemode: z.boolean(),
  created: z.number().int(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEventEnvelope = z.infer<typeof StripeEventEnvelope>;

/** A Checkout Session inside `checkout.session.*` events. */
export const CheckoutSessionObject = z.object({
  id: z.string().min(1).max(255),
  object: z.literal("checkout.session"),
  amount_total: z.number().int().nullable(),
  currency: z.string().nullable(),
  payment_status: z.enum(["paid", "unpaid", "no_payment_required"]),
  client_reference_id: z.string().max(200).nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  payment_intent: z
    .union([z.string(), z.object({ id: z.string() })])
    .nullable()
    .optional(),
});
export type CheckoutSessionObject = z.infer<typeof CheckoutSessionObject>;

/** A Charge inside `charge.refunded`. */
export const ChargeObject = z.object({
  id: z.string(),
  object: z.literal("charge"),
  amount: z.number().int(),
  amount_refunded: z.number().int(),
  currency: z.string(),
  refunded: z.boolean(),
  payment_intent: z.union([z.string(), z.object({ id: z.string() })]).nullable(),
});
export type ChargeObject = z.infer<typeof ChargeObject>;

/** The fields a simulated (or test) Checkout Session event is built from. */
export interface SessionEventInput {
  type: "checkout.session.completed" | "checkout.session.expired" | "checkout.session.async_payment_succeeded" | "checkout.session.async_payment_failed";
  sessionId: string;
  orderId: string | null;
  amountTotal: number;
  currency: string;
  paymentStatus: "paid" | "unpaid" | "no_payment_required";
  livemode?: boolean;
  eventId?: string;
  paymentIntentId?: string | null;
  /** Unix seconds; the session's own expiry (30 minutes after creation unless given). */
  expiresAt?: number;
}

/**
 * A Stripe-format event around a Checkout Session, shaped like Stripe's documented Event and
 * Checkout Session objects (only the fields that matter plus the usual envelope).
 */
export function buildCheckoutSessionEvent(input: SessionEventInput): Record<string, unknown> {
  const created = Math.floor(Date.now() / 1000);
  const completed = input.type !== "checkout.session.expired";
  return {
    id: input.eventId ?? `evt_${randomStripeSuffix()}`,
    object: "event",
    api_version: "2025-11-17.clover",
    created,
    livemode: input.livemode ?? false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: input.type,
    data: {
      object: {
        id: input.sessionId,
        object: "checkout.session",
        mode: "payment",
        status: completed ? "complete" : "expired",
        amount_subtotal: input.amountTotal,
        amount_total: input.amountTotal,
        currency: input.currency.toLowerCase(),
        payment_status: input.paymentStatus,
        client_reference_id: input.orderId,
        metadata: input.orderId ? { orderId: input.orderId } : {},
        // A no-cost session has no PaymentIntent (Stripe: payment_status no_payment_required).
        payment_intent: completed && input.paymentStatus !== "no_payment_required" ? (input.paymentIntentId ?? `pi_${randomStripeSuffix()}`) : null,
        livemode: input.livemode ?? false,
        created: created - 60,
        expires_at: input.expiresAt ?? created + 1800,
      },
    },
  };
}
