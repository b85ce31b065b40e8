import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cartStubForUser } from "../../src/cart/cart";
import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import { signUpAndSignIn } from "../support/accounts";
import { guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { makeProduct } from "../support/factories";
import { ORIGIN } from "../support/http";
import { makeHeldOrder, paidEventFor } from "../support/orders";
import { countRoundTrips } from "../support/round-trips";
import { signedEvent, stripeChanges } from "../support/stripe";

// The written budgets of docs/capacity.md ("Round-trip budgets"): D1 calls and Durable Object
// calls the worker makes for one request, counted (never timed). A change that adds a call to a
// hot path fails here and must say why in the docs.

const json = (cookie: string, body: unknown): RequestInit => ({
  method: "POST",
  headers: { cookie, origin: ORIGIN, "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("round-trip budgets of the hot paths (docs/capacity.md)", () => {
  it("product page: a shared answer costs no D1 or object call; rendering it costs the version, one product read and the rates for its delivery estimate", async () => {
    const p = await makeProduct();
    forgetCatalogVersion();
    const miss = await countRoundTrips(`/products/${p.slug}`);
    expect(miss.res.status).toBe(200);
    // The shop's settings are read once per isolate (decision 024), whichever request comes first.
    expect(miss.trips.d1Statements.filter((s) => !s.startsWith("SELECT id, shop_name"))).toEqual([
      expect.stringMatching(/^SELECT version FROM catalog_state/),
      expect.stringMatching(/^select "id", "slug", "name"/),
      // The delivery estimate: the rates the product's currency can ship at (a rate change is a new catalog version).
      expect.stringMatching(/^select "id", "name", "amount_cents"/),
    ]);
    expect(miss.trips.objectCalls).toBe(0);
    const shared = await countRoundTrips(`/products/${p.slug}`);
    expect(shared.res.headers.get("x-bastion-cache")).toBe("memory");
    // No product read and no object call; at most the catalog version, which an isolate re-reads
    // once a second (CATALOG_VERSION_TTL_MS): a busy machine can take longer between two requests.
    expect(shared.trips.d1Statements.filter((s) => !/^SELECT version FROM catalog_state/.test(s))).toEqual([]);
    expect(shared.trips.d1Statements.length).toBeLessThanOrEqual(1);
    expect(shared.trips.objectCalls).toBe(0);
  });

  it("cart mutation: one call to the cart's object (it prices the line itself), and the session lookup when signed in", async () => {
    const p = await makeProduct();
    const cart = guestCart();
    await countRoundTrips("/api/cart/items", json(cart.cookie, { productId: p.id, quantity: 1 }));
    const guest = await countRoundTrips("/api/cart/items", json(cart.cookie, { productId: p.id, quantity: 1 }));
    expect(guest.res.status).toBe(200);
    expect([guest.trips.d1, guest.trips.objects]).toEqual([0, { "CART.addItemPriced": 1 }]);

    const who = await signUpAndSignIn();
    const signedIn = await countRoundTrips("/api/cart/items", json(who.cookie, { productId: p.id, quantity: 2 }));
    expect(signedIn.res.status).toBe(200);
    expect(signedIn.trips.d1Statements).toEqual([expect.stringMatching(/"session"/)]);
    expect(signedIn.trips.objects).toEqual({ "CART.addItemPriced": 1 });
  });

  it("checkout with a coupon: five D1 round trips and six object calls (two of them throttles, in parallel; one the stock gate)", async () => {
    const p = await makeProduct({ priceCents: 2500, stock: 20 });
    const coupon = await makeCoupon({ percentOff: 10, maxRedemptions: 100 });
    const who = await signUpAndSignIn();
    const cart = cartStubForUser(env, who.user.id);
    await cart.addItem(p.id, 2);
    await cart.applyCoupon(coupon.code);
    const { res, trips } = await countRoundTrips("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } });
    expect(res.status).toBe(201);
    // session lookup; products + coupon definition + shipping rates + live automatic promotions
    // (decision 030: read in the same batch, none live here, so no further read), and beside them (in parallel) the
    // cart's mailbox proof, since this account's address is not verified (issue 33: only a proven
    // customer is counted); order + lines + stock; the payment session (the simulator's one batch;
    // Stripe's one HTTP call in production); session id + replay row. Five waits, six statements.
    const [session, first, second, ...rest] = trips.d1Statements;
    expect(session).toMatch(/"session"/);
    const proofFirst = first !== "batch(4)";
    expect(proofFirst ? [second, first] : [first, second]).toEqual([
      "batch(4)",
      expect.stringMatching(/^select "email", "customer_key" from "mailbox_proofs"/),
    ]);
    expect(rest).toEqual(["batch(3)", "batch(2)", "batch(2)"]);
    expect(trips.objects).toEqual({
      "LOGIN_GUARD.rateLimitConsumeFor": 2,
      "CART.beginCheckout": 1,
      // Decision 028: the line's units are taken at the stock gate before the coupon and the D1
      // write, so a shopper who cannot win is refused without queueing for D1's primary.
      "STOCK_GATE.take": 1,
      "COUPON.reserve": 1,
      "AUDIT_LOG.append": 1,
    });
  });

  it("payment webhook (checkout.session.completed, paid): eight D1 round trips (one of them the provider read) and three object calls fulfil one order", async () => {
    const held = await makeHeldOrder();
    const event = paidEventFor(held);
    const { body, signature } = await signedEvent(event);
    await stripeChanges(event); // Stripe's state first: the webhook reads it back
    const { res, trips } = await countRoundTrips("/api/webhooks/stripe", {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signature },
      body,
    });
    expect(res.status).toBe(200);
    // Decision 021: the event is a notification. Its id (a replay stops here); the order; the
    // payment as the provider has it (the simulator's one read; Stripe's one HTTP call); the
    // conditional status change (one batch with the order.paid outbox row and the webhook relay's
    // fan-out, decision 023, so integrations cost no round trip); the coupon's definition and its redemption row; the shopper's
    // address for the receipt; the event's journal (dedup + timeline, one batch).
    expect(trips.d1Statements).toEqual([
      expect.stringMatching(/^select "event_id"/),
      expect.stringMatching(/^select "id", "user_id", "status"/),
      expect.stringMatching(/^select "id", "order_id", "kind", "detail"/),
      "batch(5)",
      expect.stringMatching(/^select "code", "percent_off"/),
      expect.stringMatching(/^insert into "coupon_redemptions"/),
      expect.stringMatching(/^select "email" from "user"/),
      "batch(2)",
    ]);
    expect(trips.objects).toEqual({ "AUDIT_LOG.append": 1, "COUPON.commit": 1, "CART.completeCheckout": 1 });
  });
});
