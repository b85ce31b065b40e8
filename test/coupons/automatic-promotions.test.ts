import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { promotions } from "../../src/coupons/schema";
import { shippingRates } from "../../src/shipping/schema";
import { getAs, makeStaff } from "../support/accounts";
import { cartJson, guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { makeProduct, unique } from "../support/factories";
import { completedEventFor, orderRow } from "../support/orders";
import { deliverEvent } from "../support/stripe";
import { proveMailbox } from "../support/promotions";

// A currency of its own: an active shipping rate makes every checkout in its currency choose one.
const CURRENCY = "CAD";

async function rate(amountCents = 900) {
  const [row] = await getDb(env.DB)
    .insert(shippingRates)
    .values({ id: unique("shr"), name: "Courier", amountCents, currency: CURRENCY, minDays: 1, maxDays: 3 })
    .returning();
  return row!;
}

async function promotion(fields: Partial<typeof promotions.$inferInsert> = {}) {
  const [row] = await getDb(env.DB)
    .insert(promotions)
    .values({ id: unique("promo"), name: unique("Free shipping"), kind: "free_shipping", currency: CURRENCY, ...fields })
    .returning();
  return row!;
}

async function cartWith(priceCents: number, category: string | null = null, quantity = 1) {
  const product = await makeProduct({ priceCents, currency: CURRENCY, category, stock: 50 });
  const cart = guestCart();
  expect((await cartJson(cart.cookie, "POST", "/api/cart/items", { productId: product.id, quantity })).status).toBe(200);
  return { ...cart, product };
}

type Promotions = { applied: { name: string }[]; notApplied: { name: string; reason: string }[] };
const cartPromotions = async (cookie: string) => (await (await cartJson(cookie, "GET", "/api/cart/promotions")).json()) as Promotions;

describe("automatic promotions (issue 33)", () => {
  it("P11 free shipping above a minimum: the cart says it applies, checkout charges no shipping and the order names it; the minimum is on the goods after the code's discount", async () => {
    const courier = await rate(900);
    const free = await promotion({ minSubtotalCents: 5000 });
    const big = await cartWith(6000);
    expect((await cartPromotions(big.cookie)).applied.map((p) => p.name)).toContain(free.name);
    const started = await cartJson(big.cookie, "POST", "/api/checkout", { email: `${unique("f")}@example.com`, shippingRateId: courier.id });
    expect(started.status).toBe(201);
    const { orderId } = (await started.json()) as { orderId: string };
    const order = (await orderRow(orderId))!;
    expect(order).toMatchObject({ shippingCents: 0, totalCents: 6000, promotionId: free.id, promotionName: free.name, promotionDiscountCents: 900 });
    // A 20 % code takes the goods to 4,800: below the minimum, shipping is charged, and the cart says why.
    const code = await makeCoupon({ percentOff: 20 });
    const withCode = await cartWith(6000);
    expect((await cartJson(withCode.cookie, "PUT", "/api/cart/coupon", { code: code.code })).status).toBe(200);
    expect((await cartPromotions(withCode.cookie)).notApplied).toContainEqual(expect.objectContaining({ name: free.name, reason: "below_minimum" }));
    const paid = await cartJson(withCode.cookie, "POST", "/api/checkout", { email: `${unique("f")}@example.com`, shippingRateId: courier.id });
    const other = (await orderRow(((await paid.json()) as { orderId: string }).orderId))!;
    expect(other).toMatchObject({ discountCents: 1200, shippingCents: 900, totalCents: 5700, promotionId: null });
  });

  it("P11 a promotion for a category applies only with its products; one not started yet applies to nobody; nothing in the body can ask for one", async () => {
    const courier = await rate(700);
    const category = unique("cat").toLowerCase();
    const forCategory = await promotion({ category });
    const later = await promotion({ startsAt: new Date(Date.now() + 86_400_000).toISOString() });
    const outside = await cartWith(3000, "other-things");
    const seen = await cartPromotions(outside.cookie);
    expect(seen.applied).toEqual([]);
    expect(seen.notApplied).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: forCategory.name, reason: "products_not_in_cart" }),
        expect.objectContaining({ name: later.name, reason: "not_started" }),
      ]),
    );
    const asked = await cartJson(outside.cookie, "POST", "/api/checkout", {
      email: `${unique("f")}@example.com`,
      shippingRateId: courier.id,
      promotionId: forCategory.id,
    });
    expect(asked.status).toBe(422); // strict body: validation_failed
    const started = await cartJson(outside.cookie, "POST", "/api/checkout", { email: `${unique("f")}@example.com`, shippingRateId: courier.id });
    expect((await orderRow(((await started.json()) as { orderId: string }).orderId))!).toMatchObject({ shippingCents: 700, promotionId: null });
    const inside = await cartWith(3000, category);
    expect((await cartPromotions(inside.cookie)).applied.map((p) => p.name)).toEqual([forCategory.name]);
  });

  it("P10 first order only: an unproven guest is told to prove the mailbox; a proven first-time customer gets it; after a paid order the same mailbox does not", async () => {
    const courier = await rate(800);
    const first = await promotion({ firstOrderOnly: true });
    const email = `${unique("first").toLowerCase()}@example.com`;
    const guest = await cartWith(2500);
    expect((await cartPromotions(guest.cookie)).notApplied).toContainEqual(expect.objectContaining({ name: first.name, reason: "needs_proof" }));
    await proveMailbox(guest.cookie, email);
    expect((await cartPromotions(guest.cookie)).applied.map((p) => p.name)).toEqual([first.name]);
    const started = await cartJson(guest.cookie, "POST", "/api/checkout", { email, shippingRateId: courier.id });
    const { orderId } = (await started.json()) as { orderId: string };
    expect((await orderRow(orderId))!).toMatchObject({ shippingCents: 0, promotionId: first.id });
    expect((await deliverEvent(await completedEventFor(orderId))).status).toBe(200);
    expect((await orderRow(orderId))!.status).toBe("paid");
    const again = await cartWith(2500);
    await proveMailbox(again.cookie, email);
    expect((await cartPromotions(again.cookie)).notApplied).toContainEqual(expect.objectContaining({ name: first.name, reason: "first_order_only" }));

    // Staff see its use and what it gave, beside the codes.
    const admin = await makeStaff("admin");
    const usage = (await (await getAs(admin.cookie, "/api/admin/promotion-usage")).json()) as {
      items: { id: string; uses: number; discountGivenCents: number }[];
    };
    expect(usage.items.find((u) => u.id === first.id)).toMatchObject({ uses: 1, discountGivenCents: 800 });
    const page = await (await getAs(admin.cookie, "/admin/coupons")).text();
    expect(page).toContain(`data-promotion-usage="${first.id}"`);
  });
});
