import Stripe from "stripe";
import type { Config } from "../platform/config";
import type { Database } from "../db/client";
import { closeSimulatorSession, createSimulatorSession, findSimulatorSession, simulatorOutcome, simulatorRefundId } from "./simulator-store";

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
  name: string;
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

export type RefundInput =
  | { paymentIntentId: string; sessionId?: undefined; amountCents: number; idempotencyKey: string }
  | { sessionId: string; paymentIntentId?: undefined; amountCents: number; idempotencyKey: string };

/** The two things the shop asks of a payment provider (Stripe Checkout or the local simulator). */
export interface PaymentProvider {
  readonly name: "stripe" | "simulator";
  createCheckoutSession(input: CreateSessionInput): Promise<CreatedSession>;
  refund(input: RefundInput): Promise<{ refundId: string }>;
  /**
   * Ends an open session so it can no longer be paid. Resolves `true` when it is now expired,
   * `false` when it had already completed (the shopper paid meanwhile: keep the order).
   */
  expireSession(sessionId: string): Promise<boolean>;
}

/** Stripe's `delivery_estimate` for a rate's business days, or nothing when the rate has none. */
function deliveryEstimate(rate: {
  minDays: number | null;
  maxDays: number | null;
}): Pick<Stripe.Checkout.SessionCreateParams.ShippingOption.ShippingRateData, "delivery_estimate"> {
  if (rate.minDays === null && rate.maxDays === null) return {};
  const day = (value: number) => ({ unit: "business_day" as const, value });
  return {
    delivery_estimate: {
      ...(rate.minDays !== null ? { minimum: day(rate.minDays) } : {}),
      ...(rate.maxDays !== null ? { maximum: day(rate.maxDays) } : {}),
    },
  };
}

/**
 * Stripe Checkout through the official library, Workers build: its fetch client and no Node APIs.
 * The client is made per call (no module-level state); `fetchFn` defaults to the global fetch
 * at construction time, which is also what tests intercept.
 */
export function createStripeProvider(secretKey: string, fetchFn?: typeof fetch): PaymentProvider {
  const stripe = () => new Stripe(secretKey, { httpClient: Stripe.createFetchHttpClient(fetchFn), maxNetworkRetries: 2 });
  return {
    name: "stripe",
    async createCheckoutSession(input) {
      const { order, lines } = input;
      const currency = order.currency.toLowerCase();
      const taxed = order.taxMode === "automatic";
      const params: Stripe.Checkout.SessionCreateParams = {
        mode: "payment",
        // Prices come from our D1 snapshot, never from a Stripe Price the client could pick (P15).
        line_items: lines.map((line) => ({
          quantity: line.quantity,
          price_data: {
            currency,
            unit_amount: line.unitPriceCents,
            ...(taxed ? { tax_behavior: "exclusive" as const } : {}),
            product_data: { name: line.name, metadata: { productId: line.productId }, ...(taxed && line.taxCode ? { tax_code: line.taxCode } : {}) },
          },
        })),
        customer_email: order.customerEmail,
        ...(taxed ? { automatic_tax: { enabled: true } } : {}),
        ...(order.shipping
          ? {
              shipping_address_collection: {
                allowed_countries: order.shipToCountries as Stripe.Checkout.SessionCreateParams.ShippingAddressCollection.AllowedCountry[],
              },
              // One option: the rate the shopper chose in the shop, priced from our data (re-checked by the webhook).
              shipping_options: [
                {
                  shipping_rate_data: {
                    type: "fixed_amount",
                    display_name: order.shipping.name,
                    fixed_amount: { amount: order.shipping.amountCents, currency },
                    metadata: { shippingRateId: order.shipping.rateId },
                    ...(taxed ? { tax_behavior: "exclusive" as const, tax_code: "txcd_92010001" } : {}),
                    ...deliveryEstimate(order.shipping),
                  },
                },
              ],
            }
          : {}),
        client_reference_id: order.id,
        metadata: { orderId: order.id },
        payment_intent_data: { metadata: { orderId: order.id } },
        expires_at: input.expiresAt,
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
      };
      // A coupon's discount is applied as a one-off Stripe coupon so amount_total equals our total.
      if (order.discountCents > 0) {
        const coupon = await stripe().coupons.create(
          { amount_off: order.discountCents, currency, duration: "once", max_redemptions: 1, name: order.couponCode ?? "Discount" },
          { idempotencyKey: `${input.idempotencyKey}:coupon` },
        );
        params.discounts = [{ coupon: coupon.id }];
      }
      const session = await stripe().checkout.sessions.create(params, { idempotencyKey: input.idempotencyKey });
      if (!session.url) throw new Error("Stripe returned a Checkout Session without a url");
      // Stripe computed a different total from ours: never send the shopper to pay it. With Stripe
      // Tax the tax is added once the address is known, so only the untaxed part is compared here.
      const untaxed = taxed ? (session.amount_total ?? 0) - (session.total_details?.amount_tax ?? 0) : session.amount_total;
      if (untaxed !== order.totalCents) {
        throw new Error(`Stripe session total ${session.amount_total} differs from the order total ${order.totalCents}`);
      }
      return { sessionId: session.id, url: session.url };
    },
    async refund(input) {
      const client = stripe();
      let paymentIntent = input.paymentIntentId;
      if (!paymentIntent && input.sessionId) {
        const session = await client.checkout.sessions.retrieve(input.sessionId);
        paymentIntent = typeof session.payment_intent === "string" ? session.payment_intent : session.payment_intent?.id;
      }
      if (!paymentIntent) throw new Error("This payment has no payment intent to refund");
      const refund = await client.refunds.create({ payment_intent: paymentIntent, amount: input.amountCents }, { idempotencyKey: input.idempotencyKey });
      return { refundId: refund.id };
    },
    async expireSession(sessionId) {
      const client = stripe();
      try {
        const session = await client.checkout.sessions.expire(sessionId);
        return session.status === "expired";
      } catch (error) {
        // Stripe refuses to expire a session that is no longer open: look at what it became.
        const session = await client.checkout.sessions.retrieve(sessionId);
        if (session.status === "expired") return true;
        if (session.status === "complete") return false;
        throw error;
      }
    },
  };
}

/**
 * The local payment simulator: sessions live in D1 (payment_events), the checkout page is
 * `/dev/pay/{sessionId}` on the shop's own origin. Refused in production by the config gate.
 */
export function createSimulatorProvider(db: Database, origin: string): PaymentProvider {
  return {
    name: "simulator",
    async createCheckoutSession(input) {
      const { order } = input;
      const sessionId = await createSimulatorSession(db, {
        orderId: order.id,
        amountTotal: order.totalCents,
        currency: order.currency.toLowerCase(),
        amountSubtotal: order.subtotalCents,
        amountDiscount: order.discountCents,
        amountShipping: order.shippingCents,
        shippingRate: order.shipping ? { id: order.shipping.rateId, name: order.shipping.name } : null,
        customerEmail: order.customerEmail,
        taxMode: order.taxMode,
        shipToCountries: order.shipToCountries,
        successUrl: input.successUrl,
        cancelUrl: input.cancelUrl,
        expiresAt: input.expiresAt,
        idempotencyKey: input.idempotencyKey,
      });
      return { sessionId, url: `${origin}/dev/pay/${sessionId}` };
    },
    async refund() {
      return simulatorRefundId();
    },
    async expireSession(sessionId) {
      const session = await findSimulatorSession(db, sessionId);
      if (!session) return true;
      const outcome = await simulatorOutcome(db, sessionId);
      if (outcome) return outcome === "expired";
      // Records the outcome first, so the simulator page can no longer pay this session.
      return (await closeSimulatorSession(db, session, "expired")) || (await simulatorOutcome(db, sessionId)) === "expired";
    },
  };
}

/** The provider the config names. Stripe needs its secret key; the simulator needs nothing. */
export function paymentProvider(config: Config, db: Database): PaymentProvider {
  if (config.PAYMENTS_PROVIDER === "stripe") {
    if (!config.STRIPE_SECRET_KEY) throw new Error("PAYMENTS_PROVIDER=stripe needs STRIPE_SECRET_KEY");
    return createStripeProvider(config.STRIPE_SECRET_KEY);
  }
  return createSimulatorProvider(db, config.PUBLIC_ORIGIN);
}
