import { afterEach, describe, expect, it, vi } from "vitest";
import { createStripeProvider, type CreateSessionInput } from "../../src/payments/provider";
import { stripeSessionResponse } from "../support/stripe";

const input = (overrides: Partial<CreateSessionInput["order"]> = {}): CreateSessionInput => ({
  order: {
    id: "ord_abc",
    userId: "usr_1",
    currency: "USD",
    subtotalCents: 3700,
    discountCents: 0,
    shippingCents: 0,
    totalCents: 3700,
    couponCode: null,
    customerEmail: "shopper@example.com",
    shipping: null,
    taxMode: "off",
    shipToCountries: ["US"],
    ...overrides,
  },
  lines: [
    { productId: "prd_1", variantId: "var_prd_1", name: "Canvas tote", sku: null, options: {}, unitPriceCents: 1250, quantity: 2 },
    { productId: "prd_2", variantId: "var_2", name: "Enamel pin", sku: "PIN-GOLD", options: { Finish: "Gold" }, unitPriceCents: 1200, quantity: 1 },
  ],
  successUrl: "https://shop.example.com/orders/ord_abc?status=success",
  cancelUrl: "https://shop.example.com/orders/ord_abc?status=cancelled",
  idempotencyKey: "checkout:ord_abc",
  expiresAt: 1_900_000_000,
});

interface Captured {
  url: string;
  method: string;
  headers: Headers;
  form: URLSearchParams;
}

/** Intercepts outbound fetch (what the Stripe library's fetch client uses) with canned Stripe responses. */
function interceptStripe(respond: (req: Captured) => Response): Captured[] {
  const seen: Captured[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (url, init) => {
    const req: Captured = {
      url: String(url),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      form: new URLSearchParams(typeof init?.body === "string" ? init.body : ""),
    };
    seen.push(req);
    return respond(req);
  });
  return seen;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "request-id": "req_test" } });

afterEach(() => vi.restoreAllMocks());

describe("Stripe provider (official library, fetch client)", () => {
  it("creates a payment-mode Checkout Session priced from the order snapshot, with the order's idempotency key", async () => {
    const seen = interceptStripe(() =>
      json(stripeSessionResponse({ id: "cs_test_a1", amountTotal: 3700, currency: "usd", orderId: "ord_abc", expiresAt: 1_900_000_000 })),
    );
    const session = await createStripeProvider("sk_test_fake_key_for_tests").createCheckoutSession(input());
    expect(session).toEqual({ sessionId: "cs_test_a1", url: "https://checkout.stripe.com/c/pay/cs_test_a1" });
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req!.url).toBe("https://api.stripe.com/v1/checkout/sessions");
    expect(req!.method).toBe("POST");
    expect(req!.headers.get("idempotency-key")).toBe("checkout:ord_abc");
    expect(req!.headers.get("authorization")).toBe("Bearer sk_test_fake_key_for_tests");
    const f = req!.form;
    expect(f.get("mode")).toBe("payment");
    expect(f.get("client_reference_id")).toBe("ord_abc");
    expect(f.get("metadata[orderId]")).toBe("ord_abc");
    expect(f.get("expires_at")).toBe("1900000000");
    expect(f.get("success_url")).toBe("https://shop.example.com/orders/ord_abc?status=success");
    expect(f.get("cancel_url")).toBe("https://shop.example.com/orders/ord_abc?status=cancelled");
    expect(f.get("line_items[0][price_data][unit_amount]")).toBe("1250");
    expect(f.get("line_items[0][price_data][currency]")).toBe("usd");
    expect(f.get("line_items[0][quantity]")).toBe("2");
    expect(f.get("line_items[0][price_data][product_data][name]")).toBe("Canvas tote");
    expect(f.get("line_items[1][price_data][unit_amount]")).toBe("1200");
    expect(f.get("line_items[1][quantity]")).toBe("1");
    expect(f.has("discounts[0][coupon]")).toBe(false);
  });

  it("applies the order's discount as a one-off amount_off coupon so Stripe's total equals ours", async () => {
    const seen = interceptStripe((req) =>
      req.url.endsWith("/v1/coupons")
        ? json({ id: "co_once_1", object: "coupon", amount_off: 500, currency: "usd", duration: "once" })
        : json(stripeSessionResponse({ id: "cs_test_d1", amountTotal: 3200, currency: "usd", orderId: "ord_abc", expiresAt: 1_900_000_000 })),
    );
    const session = await createStripeProvider("sk_test_fake_key_for_tests").createCheckoutSession(
      input({ discountCents: 500, totalCents: 3200, couponCode: "SAVE5" }),
    );
    expect(session.sessionId).toBe("cs_test_d1");
    expect(seen.map((r) => r.url)).toEqual(["https://api.stripe.com/v1/coupons", "https://api.stripe.com/v1/checkout/sessions"]);
    expect(seen[0]!.form.get("amount_off")).toBe("500");
    expect(seen[0]!.headers.get("idempotency-key")).toBe("checkout:ord_abc:coupon");
    expect(seen[1]!.form.get("discounts[0][coupon]")).toBe("co_once_1");
  });

  it("collects the address in the shop's countries, passes the chosen rate as the only shipping option, locks the email, and turns on Stripe Tax when configured", async () => {
    const seen = interceptStripe(() =>
      json(stripeSessionResponse({ id: "cs_test_s1", amountTotal: 4195, currency: "usd", orderId: "ord_abc", expiresAt: 1_900_000_000 })),
    );
    await createStripeProvider("sk_test_fake_key_for_tests").createCheckoutSession({
      ...input({
        shippingCents: 495,
        totalCents: 4195,
        taxMode: "automatic",
        shipToCountries: ["US", "CA"],
        shipping: { rateId: "shr_1", name: "Standard", amountCents: 495, minDays: 2, maxDays: 4 },
      }),
      lines: [
        {
          productId: "prd_1",
          variantId: "var_prd_1",
          name: "Canvas tote",
          sku: null,
          options: {},
          unitPriceCents: 3700,
          quantity: 1,
          taxCode: "txcd_99999999",
        },
      ],
    });
    const f = seen[0]!.form;
    expect(f.get("customer_email")).toBe("shopper@example.com");
    expect([f.get("shipping_address_collection[allowed_countries][0]"), f.get("shipping_address_collection[allowed_countries][1]")]).toEqual(["US", "CA"]);
    expect(f.get("shipping_options[0][shipping_rate_data][fixed_amount][amount]")).toBe("495");
    expect(f.get("shipping_options[0][shipping_rate_data][fixed_amount][currency]")).toBe("usd");
    expect(f.get("shipping_options[0][shipping_rate_data][display_name]")).toBe("Standard");
    expect(f.get("shipping_options[0][shipping_rate_data][delivery_estimate][minimum][value]")).toBe("2");
    expect(f.get("shipping_options[0][shipping_rate_data][delivery_estimate][maximum][unit]")).toBe("business_day");
    expect(f.has("shipping_options[1][shipping_rate_data][fixed_amount][amount]")).toBe(false);
    expect(f.get("automatic_tax[enabled]")).toBe("true");
    expect(f.get("line_items[0][price_data][tax_behavior]")).toBe("exclusive");
    expect(f.get("line_items[0][price_data][product_data][tax_code]")).toBe("txcd_99999999");
  });

  it("without shipping or tax, the session asks for neither", async () => {
    const seen = interceptStripe(() =>
      json(stripeSessionResponse({ id: "cs_test_n1", amountTotal: 3700, currency: "usd", orderId: "ord_abc", expiresAt: 1_900_000_000 })),
    );
    await createStripeProvider("sk_test_fake_key_for_tests").createCheckoutSession(input());
    const keys = [...seen[0]!.form.keys()];
    expect(keys.some((k) => k.startsWith("shipping_") || k.startsWith("automatic_tax"))).toBe(false);
  });

  it("P15 refuses a session whose amount_total differs from the order's total", async () => {
    interceptStripe(() => json(stripeSessionResponse({ id: "cs_test_bad", amountTotal: 1, currency: "usd", orderId: "ord_abc", expiresAt: 1_900_000_000 })));
    await expect(createStripeProvider("sk_test_fake_key_for_tests").createCheckoutSession(input())).rejects.toThrow(/differs/);
  });

  it("a Stripe error (card declined style 402 / invalid request 400) surfaces as a thrown error", async () => {
    interceptStripe(() => json({ error: { type: "invalid_request_error", message: "No such thing" } }, 400));
    await expect(createStripeProvider("sk_test_fake_key_for_tests").createCheckoutSession(input())).rejects.toThrow(/No such thing/);
  });

  it("refunds a payment intent with the given amount and idempotency key", async () => {
    const seen = interceptStripe(() => json({ id: "re_1", object: "refund", amount: 3700, status: "succeeded" }));
    const result = await createStripeProvider("sk_test_fake_key_for_tests").refund({
      paymentIntentId: "pi_1",
      amountCents: 3700,
      currency: "usd",
      idempotencyKey: "refund:ord_abc",
    });
    expect(result).toEqual({ refundId: "re_1" });
    expect(seen[0]!.url).toBe("https://api.stripe.com/v1/refunds");
    expect(seen[0]!.form.get("payment_intent")).toBe("pi_1");
    expect(seen[0]!.form.get("amount")).toBe("3700");
    expect(seen[0]!.headers.get("idempotency-key")).toBe("refund:ord_abc");
  });
});

describe("no card data touches the shop (P14)", () => {
  it("P14 the shop only sends Stripe order data over HTTPS and never a card field; the shopper pays on Stripe's page", async () => {
    const seen = interceptStripe(() =>
      json(stripeSessionResponse({ id: "cs_test_p14", amountTotal: 3700, currency: "usd", orderId: "ord_abc", expiresAt: 1_900_000_000 })),
    );
    const session = await createStripeProvider("sk_test_fake_key_for_tests").createCheckoutSession(input());
    expect(new URL(session.url).protocol).toBe("https:");
    for (const req of seen) {
      expect(new URL(req.url).protocol).toBe("https:");
      for (const key of req.form.keys()) expect(key).not.toMatch(/card|cvc|cvv|exp_month|exp_year|number/i);
    }
  });
});

describe("Stripe provider: expiring a session (cancel page)", () => {
  it("expires an open session, and reports a session that completed meanwhile as not expired", async () => {
    const seen = interceptStripe((req) =>
      req.url.endsWith("/expire")
        ? json({ id: "cs_test_open", object: "checkout.session", status: "expired" })
        : json({ error: { type: "invalid_request_error", message: "no" } }, 400),
    );
    expect(await createStripeProvider("sk_test_fake_key_for_tests").expireSession("cs_test_open")).toBe(true);
    expect(seen[0]!.url).toBe("https://api.stripe.com/v1/checkout/sessions/cs_test_open/expire");
    expect(seen[0]!.method).toBe("POST");
    vi.restoreAllMocks();
    interceptStripe((req) =>
      req.url.endsWith("/expire")
        ? json({ error: { type: "invalid_request_error", message: 'Only Checkout Sessions with a status in ["open"] can be expired.' } }, 400)
        : json({ id: "cs_test_paid", object: "checkout.session", status: "complete" }),
    );
    expect(await createStripeProvider("sk_test_fake_key_for_tests").expireSession("cs_test_paid")).toBe(false);
  });
});

describe("P11 amounts at the provider boundary (decision 020): Stripe counts ISK in hundredths", () => {
  it("P11 an ISK order is sent in Stripe's units (×100) and read back in the shop's, so a 3,700 kr. total is never charged as 37 kr.", async () => {
    const seen = interceptStripe((req) => {
      if (req.method === "POST")
        return json(stripeSessionResponse({ id: "cs_test_isk", amountTotal: 370_000, currency: "isk", orderId: "ord_abc", expiresAt: 1_900_000_000 }));
      return json({
        ...stripeSessionResponse({ id: "cs_test_isk", amountTotal: 370_000, currency: "isk", orderId: "ord_abc", expiresAt: 1_900_000_000 }),
        status: "complete",
        payment_status: "paid",
        total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
        payment_intent: {
          id: "pi_isk",
          object: "payment_intent",
          status: "succeeded",
          metadata: {},
          latest_charge: { id: "ch_isk", object: "charge", amount: 370_000, amount_refunded: 100_000, disputed: false, refunds: { data: [] } },
        },
      });
    });
    const provider = createStripeProvider("sk_test_fake_key_for_tests");
    await provider.createCheckoutSession(input({ currency: "ISK" }));
    expect(seen[0]!.form.get("line_items[0][price_data][unit_amount]")).toBe("125000");
    const state = await provider.readPayment("cs_test_isk");
    expect(state?.session.amount_total).toBe(3700);
    expect(state?.charge).toMatchObject({ amount: 3700, amountRefunded: 1000 });
  });
});
