import { z } from "zod";
import { CheckoutSessionObject } from "./events";

/**
 * A payment as the provider sees it NOW: the Checkout Session, its PaymentIntent, the intent's
 * latest charge with its refunds, and the charge's disputes. Events only say "something changed";
 * the shop reads this and brings the order to it (src/checkout/reconcile.ts), so the result does
 * not depend on which events arrived, in which order or how often (issue 29).
 */
export interface PaymentState {
  session: CheckoutSessionObject & { status: "open" | "complete" | "expired" };
  /** The PaymentIntent, or null when the session has none (nothing paid yet, or nothing to pay). */
  intent: { id: string; status: IntentStatus; metadata: Record<string, string> } | null;
  /** The latest charge of the intent, or null when none was made. */
  charge: ChargeState | null;
  disputes: DisputeState[];
}

/** Stripe's PaymentIntent statuses, as the shop needs them. */
export type IntentStatus = "succeeded" | "processing" | "requires_payment_method" | "canceled" | "other";

export interface ChargeState {
  id: string;
  amount: number;
  /** Everything refunded of this charge, by anyone (the shop's API calls and the Stripe Dashboard). */
  amountRefunded: number;
  refunds: RefundState[];
}

export interface RefundState {
  id: string;
  amount: number;
  status: string;
  /** The shop's claim id (refund metadata `claimId`) when the shop made it; null for a Dashboard refund. */
  claimId: string | null;
}

export interface DisputeState {
  id: string;
  amount: number;
  currency: string;
  reason: string;
  status: string;
  /** Unix seconds, or null. */
  evidenceDueBy: number | null;
}

/** Dispute statuses during which the money is contested: ship nothing, refund nothing. */
export const OPEN_DISPUTE_STATUSES = ["warning_needs_response", "warning_under_review", "needs_response", "under_review"] as const;

export function isOpenDispute(status: string | null | undefined): boolean {
  return (OPEN_DISPUTE_STATUSES as readonly string[]).includes(status ?? "");
}

// Stripe's objects as retrieved (GET), read with zod: a field we rely on that is missing makes
// the read fail (and the webhook answer 5xx so Stripe retries), never a wrong decision.

const Metadata = z.record(z.string(), z.string()).nullable().optional();

export const StripeRefund = z.object({
  id: z.string(),
  object: z.literal("refund"),
  amount: z.number().int(),
  status: z.string().nullable().optional(),
  metadata: Metadata,
});

export const StripeCharge = z.object({
  id: z.string(),
  object: z.literal("charge"),
  amount: z.number().int(),
  amount_refunded: z.number().int(),
  disputed: z.boolean().optional(),
  refunds: z
    .object({ data: z.array(StripeRefund) })
    .nullable()
    .optional(),
});

export const StripeDispute = z.object({
  id: z.string(),
  object: z.literal("dispute"),
  amount: z.number().int(),
  currency: z.string(),
  reason: z.string(),
  status: z.string(),
  charge: z
    .union([z.string(), z.object({ id: z.string() })])
    .nullable()
    .optional(),
  payment_intent: z
    .union([z.string(), z.object({ id: z.string() })])
    .nullable()
    .optional(),
  evidence_details: z.object({ due_by: z.number().int().nullable().optional() }).nullable().optional(),
});
export type StripeDispute = z.infer<typeof StripeDispute>;

export const StripePaymentIntent = z.object({
  id: z.string(),
  object: z.literal("payment_intent"),
  status: z.string(),
  metadata: Metadata,
  latest_charge: z.union([z.string(), StripeCharge]).nullable().optional(),
});

/** A session as retrieved with `expand[]=payment_intent.latest_charge.refunds`. */
export const RetrievedSession = CheckoutSessionObject.extend({
  status: z.enum(["open", "complete", "expired"]),
  payment_intent: z.union([z.string(), StripePaymentIntent]).nullable().optional(),
});

function intentStatus(status: string): IntentStatus {
  return status === "succeeded" || status === "processing" || status === "requires_payment_method" || status === "canceled" ? status : "other";
}

export function disputeState(d: StripeDispute): DisputeState {
  return {
    id: d.id,
    amount: d.amount,
    currency: d.currency.toLowerCase(),
    reason: d.reason,
    status: d.status,
    evidenceDueBy: d.evidence_details?.due_by ?? null,
  };
}

/** The state from a retrieved (expanded) session and the intent's disputes. */
export function paymentStateOf(raw: unknown, disputes: StripeDispute[]): PaymentState {
  const session = RetrievedSession.parse(raw);
  const pi = typeof session.payment_intent === "object" && session.payment_intent !== null ? session.payment_intent : null;
  const piId = typeof session.payment_intent === "string" ? session.payment_intent : (pi?.id ?? null);
  const charge = pi && typeof pi.latest_charge === "object" && pi.latest_charge !== null ? pi.latest_charge : null;
  return {
    session: { ...session, payment_intent: piId },
    intent: piId ? { id: piId, status: pi ? intentStatus(pi.status) : "other", metadata: pi?.metadata ?? {} } : null,
    charge: charge
      ? {
          id: charge.id,
          amount: charge.amount,
          amountRefunded: charge.amount_refunded,
          refunds: (charge.refunds?.data ?? []).map((r) => ({
            id: r.id,
            amount: r.amount,
            status: r.status ?? "succeeded",
            claimId: r.metadata?.claimId ?? null,
          })),
        }
      : null,
    disputes: disputes.map(disputeState),
  };
}
