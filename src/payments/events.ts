import { z } from "zod";
import { randomStripeSuffix } from "./stripe-ids";

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

/** A postal address as Stripe sends it (every field may be null). */
const Address = z.object({
  line1: z.string().max(300).nullable().optional(),
  line2: z.string().max(300).nullable().optional(),
  city: z.string().max(200).nullable().optional(),
  state: z.string().max(200).nullable().optional(),
  postal_code: z.string().max(40).nullable().optional(),
  country: z.string().max(2).nullable().optional(),
});
export const ShippingDetails = z.object({ name: z.string().max(300).nullable().optional(), address: Address });
export type ShippingDetails = z.infer<typeof ShippingDetails>;

/** The shipping address of a completed session, wherever the API version put it. */
export function shippingDetailsOf(session: CheckoutSessionObject): ShippingDetails | null {
  return session.collected_information?.shipping_details ?? session.shipping_details ?? null;
}

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
  amount_subtotal: z.number().int().nullable().optional(),
  /** Stripe: the discount, shipping and tax inside `amount_total`. */
  total_details: z
    .object({ amount_discount: z.number().int(), amount_shipping: z.number().int().nullable().optional(), amount_tax: z.number().int() })
    .nullable()
    .optional(),
  shipping_cost: z
    .object({
      amount_total: z.number().int(),
      shipping_rate: z
        .union([z.string(), z.object({ id: z.string() })])
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
  customer_details: z
    .object({ email: z.string().max(320).nullable().optional(), name: z.string().max(300).nullable().optional() })
    .nullable()
    .optional(),
  /** Where the goods go (API 2025-03-31 and later); `shipping_details` on older API versions. */
  collected_information: z.object({ shipping_details: ShippingDetails.nullable().optional() }).nullable().optional(),
  shipping_details: ShippingDetails.nullable().optional(),
});
export type CheckoutSessionObject = z.infer<typeof CheckoutSessionObject>;

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
  /** The breakdown inside amountTotal (Stripe's amount_subtotal and total_details); defaults: no discount, shipping or tax. */
  amountSubtotal?: number;
  amountDiscount?: number;
  amountShipping?: number;
  amountTax?: number;
  shippingRateId?: string | null;
  customerEmail?: string | null;
  shippingDetails?: ShippingDetails | null;
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
        amount_subtotal: input.amountSubtotal ?? input.amountTotal - (input.amountShipping ?? 0) - (input.amountTax ?? 0) + (input.amountDiscount ?? 0),
        amount_total: input.amountTotal,
        total_details: { amount_discount: input.amountDiscount ?? 0, amount_shipping: input.amountShipping ?? 0, amount_tax: input.amountTax ?? 0 },
        shipping_cost: input.shippingRateId
          ? { amount_subtotal: input.amountShipping ?? 0, amount_tax: 0, amount_total: input.amountShipping ?? 0, shipping_rate: input.shippingRateId }
          : null,
        customer_details: input.customerEmail
          ? {
              email: input.customerEmail,
              name: input.shippingDetails?.name ?? null,
              address: input.shippingDetails?.address ?? null,
              tax_exempt: "none",
              tax_ids: [],
            }
          : null,
        collected_information: input.shippingDetails ? { shipping_details: input.shippingDetails } : null,
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
