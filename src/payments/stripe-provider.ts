import Stripe from "stripe";
import { RefundRefused, type CheckoutOrder, type PaymentProvider } from "./provider-types";
import { fromProviderAmount, toProviderAmount } from "./currency";
import { paymentStateOf, StripeDispute, type PaymentState } from "./payment-state";

/** A payment read from Stripe, its amounts in the shop's minor units (money in rounds down, money back up). */
function inShopUnits(state: PaymentState): PaymentState {
  const currency = state.session.currency ?? "usd";
  const inn = (v: number) => fromProviderAmount(currency, v, "down");
  const back = (v: number) => fromProviderAmount(currency, v, "up");
  const s = state.session;
  return {
    ...state,
    session: {
      ...s,
      amount_total: s.amount_total === null ? null : inn(s.amount_total),
      ...(s.amount_subtotal != null ? { amount_subtotal: inn(s.amount_subtotal) } : {}),
      ...(s.total_details
        ? {
            total_details: {
              amount_discount: inn(s.total_details.amount_discount),
              amount_shipping: s.total_details.amount_shipping == null ? s.total_details.amount_shipping : inn(s.total_details.amount_shipping),
              amount_tax: inn(s.total_details.amount_tax),
            },
          }
        : {}),
    },
    charge: state.charge
      ? {
          ...state.charge,
          amount: inn(state.charge.amount),
          amountRefunded: back(state.charge.amountRefunded),
          refunds: state.charge.refunds.map((r) => ({ ...r, amount: back(r.amount) })),
        }
      : null,
    disputes: state.disputes.map((d) => ({ ...d, amount: back(d.amount) })),
  };
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
            unit_amount: toProviderAmount(currency, line.unitPriceCents),
            ...(taxed ? { tax_behavior: "exclusive" as const } : {}),
            product_data: {
              // The shopper sees the variant they chose on Stripe's page: "Shirt (Green / M)".
              name: Object.keys(line.options).length > 0 ? `${line.name} (${Object.values(line.options).join(" / ")})` : line.name,
              metadata: { productId: line.productId, variantId: line.variantId, ...(line.sku ? { sku: line.sku } : {}) },
              ...(taxed && line.taxCode ? { tax_code: line.taxCode } : {}),
            },
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
                    fixed_amount: { amount: toProviderAmount(currency, order.shipping.amountCents), currency },
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
      // The whole discount (the code's and an automatic promotion's, decision 030) is applied as a
      // one-off Stripe coupon so amount_total equals our total.
      if (order.discountCents > 0) {
        const coupon = await stripe().coupons.create(
          { amount_off: toProviderAmount(currency, order.discountCents), currency, duration: "once", max_redemptions: 1, name: discountName(order) },
          { idempotencyKey: `${input.idempotencyKey}:coupon` },
        );
        params.discounts = [{ coupon: coupon.id }];
      }
      const session = await stripe().checkout.sessions.create(params, { idempotencyKey: input.idempotencyKey });
      if (!session.url) throw new Error("Stripe returned a Checkout Session without a url");
      // Stripe computed a different total from ours: never send the shopper to pay it. With Stripe
      // Tax the tax is added once the address is known, so only the untaxed part is compared here.
      const untaxed = taxed ? (session.amount_total ?? 0) - (session.total_details?.amount_tax ?? 0) : session.amount_total;
      if (untaxed !== toProviderAmount(currency, order.totalCents)) {
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
      try {
        const refund = await client.refunds.create(
          {
            payment_intent: paymentIntent,
            amount: toProviderAmount(input.currency, input.amountCents),
            ...(input.claimId ? { metadata: { claimId: input.claimId } } : {}),
          },
          { idempotencyKey: input.idempotencyKey },
        );
        return { refundId: refund.id };
      } catch (error) {
        // Stripe's own reasons (a disputed charge, more than is left) are the shop's answers too.
        const code = (error as { code?: unknown }).code;
        if (error instanceof Stripe.errors.StripeInvalidRequestError && typeof code === "string") throw new RefundRefused(code, error.message);
        throw error;
      }
    },
    async readPayment(sessionId) {
      const client = stripe();
      let raw: Stripe.Checkout.Session;
      try {
        // One read: the session, its intent, the intent's latest charge and that charge's refunds.
        raw = await client.checkout.sessions.retrieve(sessionId, { expand: ["payment_intent.latest_charge.refunds"] });
      } catch (error) {
        if (error instanceof Stripe.errors.StripeInvalidRequestError && (error as { statusCode?: number }).statusCode === 404) return null;
        throw error;
      }
      const pi = typeof raw.payment_intent === "object" ? raw.payment_intent : null;
      const charge = pi && typeof pi.latest_charge === "object" ? pi.latest_charge : null;
      // Disputes only when the charge says it has one: a second read, rare.
      const disputes = charge?.disputed && pi ? (await client.disputes.list({ payment_intent: pi.id, limit: 100 })).data : [];
      // Stripe counts some currencies in other units than the shop (ISK, HUF… in hundredths): the
      // shop's books are kept in its own minor units, converted here at the boundary (decision 020).
      return inShopUnits(
        paymentStateOf(
          raw,
          disputes.map((d) => StripeDispute.parse(d)),
        ),
      );
    },
    async sessionForIntent(paymentIntentId) {
      const list = await stripe().checkout.sessions.list({ payment_intent: paymentIntentId, limit: 1 });
      return list.data[0]?.id ?? null;
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

/** The one-off coupon's name as the shopper sees it on Checkout (Stripe allows 40 characters). */
function discountName(order: CheckoutOrder): string {
  const parts = [order.couponCode, order.discountPromotionName].filter((p): p is string => typeof p === "string" && p.length > 0);
  return (parts.join(" + ") || "Discount").slice(0, 40);
}
