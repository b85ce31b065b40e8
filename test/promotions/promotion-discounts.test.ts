import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import app from "../../src/index";
import { promotions } from "../../src/coupons/schema";
import { getDb } from "../../src/db/client";
import { signUpAndSignIn } from "../support/accounts";
import { appJson, appRequest, as } from "../support/admin";
import { cartJson, guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { countRows, makeProduct, unique } from "../support/factories";
import { ORIGIN } from "../support/http";
import { completedEventFor, orderRow } from "../support/orders";
import { deliverEvent, stripeStub } from "../support/stripe";

// Automatic discounts (issue 33, decision 030): percent_off and amount_off promotions, computed
// from our rows only, on the goods after the code, through cart, checkout, payment, receipts and
// refunds. Each test has a currency of its own, so one test's promotions never reach another's carts.

async function promotion(currency: string, fields: Partial<typeof promotions.$inferInsert>) {
  const [row] = await getDb(env.DB)
    .insert(promotions)
    .values({ id: unique("promo"), name: unique("Promo"), kind: "percent_off", percentOff: 20, currency, ...fields })
    .returning();
  return row!;
}

async function cartWith(currency: string, prices: number[], category: string | null = null) {
  const cart = guestCart();
  const products = [];
  for (const priceCents of prices) {
    const product = await makeProduct({ priceCents, currency, category, stock: 20 });
    expect((await cartJson(cart.cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 1 })).status).toBe(200);
    products.push(product);
  }
  return { ...cart, products };
}

type CartBody = { discountCents: number; totalCents: number; promotion?: { name: string; discountCents: number } | null };
const cartOf = async (cookie: string) => (await (await cartJson(cookie, "GET", "/api/cart")).json()) as CartBody;
const checkout = async (cookie: string, body: Record<string, unknown> = {}) =>
  cartJson(cookie, "POST", "/api/checkout", { email: `${unique("d").toLowerCase()}@example.com`, ...body });

afterEach(() => vi.restoreAllMocks());
// The workers project shares one storage across files: promotions made here are switched off
// after each test so they never reach another file's carts.
let existing = new Set<string>();
beforeAll(async () => {
  existing = new Set((await env.DB.prepare("SELECT id FROM promotions").all<{ id: string }>()).results.map((r) => r.id));
});
afterEach(async () => {
  const { results } = await env.DB.prepare("SELECT id FROM promotions WHERE active = 1").all<{ id: string }>();
  for (const r of results) if (!existing.has(r.id)) await env.DB.prepare("UPDATE promotions SET active = 0 WHERE id = ?").bind(r.id).run();
});

describe("automatic discounts (decision 030)", () => {
  it("P11 a percent promotion on top of a code: the cart JSON and page, the order, staff usage and the coupon's redemption each get their part", async () => {
    const cur = "AUD";
    const promo = await promotion(cur, { percentOff: 20 });
    const coupon = await makeCoupon({ percentOff: 10 });
    const cart = await cartWith(cur, [6000, 4000]);
    expect((await cartJson(cart.cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
    // Code first: 10 % of 10,000 = 1,000; then 20 % of the 9,000 left = 1,800.
    expect(await cartOf(cart.cookie)).toMatchObject({ discountCents: 2800, totalCents: 7200, promotion: { name: promo.name, discountCents: 1800 } });
    const page = await (await cartJson(cart.cookie, "GET", "/cart")).text();
    expect(page).toContain("data-promotion-discount");
    expect(page).toContain('data-promotion-applied="discount"');
    const started = await checkout(cart.cookie);
    expect(started.status).toBe(201);
    const { orderId } = (await started.json()) as { orderId: string };
    expect(await orderRow(orderId)).toMatchObject({ discountCents: 2800, totalCents: 7200, discountPromotionId: promo.id, discountPromotionCents: 1800 });
    expect((await deliverEvent(await completedEventFor(orderId))).status).toBe(200);
    const redemption = await env.DB.prepare("SELECT discount_cents FROM coupon_redemptions WHERE order_id = ?")
      .bind(orderId)
      .first<{ discount_cents: number }>();
    expect(redemption?.discount_cents).toBe(1000);
    const admin = await as("admin");
    const list = (await (await appRequest("/api/admin/promotions", { headers: admin })).json()) as {
      items: { id: string; uses: number; discountGivenCents: number }[];
    };
    expect(list.items.find((i) => i.id === promo.id)).toMatchObject({ uses: 1, discountGivenCents: 1800 });
  });

  it("P11 at most one automatic discount, the best for the shopper; one for a category takes off only its lines; the others say why", async () => {
    const cur = "NZD";
    const category = unique("cat").toLowerCase();
    const small = await promotion(cur, { kind: "amount_off", percentOff: null, amountOffCents: 300 });
    const forCategory = await promotion(cur, { percentOff: 50, category });
    const cart = await cartWith(cur, [2000]);
    const other = await makeProduct({ priceCents: 1000, currency: cur, category, stock: 5 });
    expect((await cartJson(cart.cookie, "POST", "/api/cart/items", { productId: other.id, quantity: 1 })).status).toBe(200);
    // 50 % of the category's 1,000 = 500 beats 300 off: only one applies.
    expect(await cartOf(cart.cookie)).toMatchObject({ discountCents: 500, totalCents: 2500, promotion: { name: forCategory.name } });
    const seen = (await (await cartJson(cart.cookie, "GET", "/api/cart/promotions")).json()) as { notApplied: { name: string; reason: string }[] };
    expect(seen.notApplied).toContainEqual(expect.objectContaining({ name: small.name, reason: "better_promotion" }));
  });

  it("P11 a promotion and a code together never take more than the goods; an amount is capped at what the code left", async () => {
    const cur = "SGD";
    await promotion(cur, { kind: "amount_off", percentOff: null, amountOffCents: 5000 });
    const coupon = await makeCoupon({ percentOff: null, amountOffCents: 700, currency: cur });
    const cart = await cartWith(cur, [1000]);
    expect((await cartJson(cart.cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
    expect(await cartOf(cart.cookie)).toMatchObject({ discountCents: 1000, totalCents: 0 });
    const started = await checkout(cart.cookie);
    expect(started.status).toBe(201);
    const order = (await orderRow(((await started.json()) as { orderId: string }).orderId))!;
    expect(order).toMatchObject({ subtotalCents: 1000, discountCents: 1000, discountPromotionCents: 300, totalCents: 0 });
  });

  it("P11 an expired, a not-started and a switched-off promotion give nothing; no body can ask for one or set a discount, and nothing is written", async () => {
    const cur = "CHF";
    const ended = await promotion(cur, { percentOff: 50, endsAt: new Date(Date.now() - 60_000).toISOString() });
    await promotion(cur, { percentOff: 50, startsAt: new Date(Date.now() + 86_400_000).toISOString() });
    await promotion(cur, { percentOff: 50, active: false });
    const cart = await cartWith(cur, [3000]);
    expect(await cartOf(cart.cookie)).toMatchObject({ discountCents: 0, totalCents: 3000, promotion: null });
    const ordersBefore = await countRows("orders");
    for (const body of [{ promotionId: ended.id }, { discountCents: 3000 }, { promotion: { id: ended.id } }, { totalCents: 1 }]) {
      const refused = await checkout(cart.cookie, body);
      expect(refused.status, JSON.stringify(body)).toBe(422);
    }
    expect(await countRows("orders")).toBe(ordersBefore);
    // The cart's own bodies drop such keys (P11): the price stays ours.
    const added = await cartJson(cart.cookie, "POST", "/api/cart/items", {
      productId: cart.products[0]!.id,
      quantity: 1,
      discountCents: 5000,
      promotionId: ended.id,
    });
    expect(added.status).toBe(200);
    expect(await cartOf(cart.cookie)).toMatchObject({ discountCents: 0, totalCents: 6000 });
    const started = await checkout(cart.cookie);
    expect(await orderRow(((await started.json()) as { orderId: string }).orderId)).toMatchObject({
      discountCents: 0,
      totalCents: 6000,
      discountPromotionId: null,
    });
  });

  it("P11 line refunds spread the whole discount (code and promotion): refunding every line gives back exactly what was paid, never more", async () => {
    const cur = "HKD";
    await promotion(cur, { kind: "amount_off", percentOff: null, amountOffCents: 1000 });
    const cart = await cartWith(cur, [3000, 2000]);
    const started = await checkout(cart.cookie);
    const { orderId } = (await started.json()) as { orderId: string };
    expect((await deliverEvent(await completedEventFor(orderId))).status).toBe(200);
    expect(await orderRow(orderId)).toMatchObject({ status: "paid", totalCents: 4000, discountCents: 1000 });
    const admin = await as("admin");
    let refunded = 0;
    for (const product of cart.products) {
      const res = await appJson("POST", `/api/admin/orders/${orderId}/refunds`, { lines: [{ productId: product.id, quantity: 1, restock: false }] }, admin);
      expect(res.status).toBe(202);
      refunded += ((await res.json()) as { amountCents: number }).amountCents;
    }
    expect(refunded).toBe(4000);
  });

  it("P11 the Stripe session gets the whole discount as its one-off coupon, named after the promotion, and its total is ours", async () => {
    const promo = await promotion("USD", { kind: "amount_off", percentOff: null, amountOffCents: 500 });
    const who = await signUpAndSignIn();
    const product = await makeProduct({ priceCents: 4000, currency: "USD", stock: 5 });
    expect((await appJson("POST", "/api/cart/items", { productId: product.id, quantity: 1 }, { cookie: who.cookie })).status).toBe(200);
    const stub = stripeStub();
    vi.spyOn(globalThis, "fetch").mockImplementation(stub.handler);
    const ctx = createExecutionContext();
    const stripeEnv = { ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" } as Env;
    const res = await app.fetch(new Request(`${ORIGIN}/api/checkout`, { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } }), stripeEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(201);
    const coupon = stub.calls.find((c) => c.path === "/v1/coupons")!;
    expect(coupon.form.get("amount_off")).toBe("500");
    expect(coupon.form.get("name")).toBe(promo.name);
  });
});
