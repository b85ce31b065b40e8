import type { PaymentState } from "./payment-state";

// What the shop asks of a payment provider, and what it hands over: the implementations are
// stripe-provider.ts and simulator-provider.ts; provider.ts picks one from the config.

/** What a provider needs to know about an order to take its payment: a frozen snapshot. */
export interface CheckoutOrder {
  id: string;
  userId: string;
  currency: string;
  subtotalCents: number;
  discountCents: number;
  /** The shipping amount of the chosen rate (0 without shipping); part of totalCents. */
  shippingCents: number;
  /** Goods − discount + shipping; Stripe adds tax on top when `taxMode` is automatic. */
  totalCents: number;
  couponCode: string | null;
  /** The automatic promotion whose discount is part of discountCents (decision 030), or null/absent. */
  discountPromotionName?: string | null;
  /** Where the receipt goes; Checkout shows it locked (`customer_email`). */
  customerEmail: string;
  /** The rate the shopper chose, passed as the session's only shipping option; null: nothing to ship. */
  shipping: { rateId: string; name: string; amountCents: number; minDays: number | null; maxDays: number | null } | null;
  taxMode: "off" | "automatic";
  /** Countries Checkout may take a shipping address in (ISO alpha-2). */
  shipToCountries: string[];
}

/** One order line as it was priced from D1 at checkout. */
export interface CheckoutLine {
  productId: string;
  variantId: string;
  name: string;
  sku: string | null;
  /** The variant's option values by name (`{}` without options). */
  options: Record<string, string>;
  unitPriceCents: number;
  quantity: number;
  /** Stripe Tax product code; null: the account's default. */
  taxCode?: string | null;
}

export interface CreateSessionInput {
  order: CheckoutOrder;
  lines: CheckoutLine[];
  successUrl: string;
  cancelUrl: string;
  /** Same key → same session at the provider (one session per order, even on retries). */
  idempotencyKey: string;
  /** Unix seconds; Stripe accepts 30 minutes to 24 hours from now. */
  expiresAt: number;
}

export interface CreatedSession {
  sessionId: string;
  url: string;
}

/** `claimId` travels as the refund's metadata, so a refund whose answer was lost can be found again. */
export type RefundInput = ({ paymentIntentId: string; sessionId?: undefined } | { sessionId: string; paymentIntentId?: undefined }) & {
  /** In the shop's minor units of `currency` (the provider converts to its own). */
  amountCents: number;
  currency: string;
  idempotencyKey: string;
  claimId?: string;
};

/** A refund the provider refused for a reason the shop can name (Stripe's error `code`). */
export class RefundRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the shop asks of a payment provider (Stripe Checkout or the local simulator). */
export interface PaymentProvider {
  readonly name: "stripe" | "simulator";
  createCheckoutSession(input: CreateSessionInput): Promise<CreatedSession>;
  refund(input: RefundInput): Promise<{ refundId: string }>;
  /** The payment as the provider sees it now (session, intent, charge, refunds, disputes); null: no such session. */
  readPayment(sessionId: string): Promise<PaymentState | null>;
  /** The Checkout Session a payment intent belongs to, or null (events about charges name only the intent). */
  sessionForIntent(paymentIntentId: string): Promise<string | null>;
  /**
   * Ends an open session so it can no longer be paid. Resolves `true` when it is now expired,
   * `false` when it had already completed (the shopper paid meanwhile: keep the order).
   */
  expireSession(sessionId: string): Promise<boolean>;
}
