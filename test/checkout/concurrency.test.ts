import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cartStubForUser } from "../../src/cart/cart";
import { signUpAndSignIn, type SignedIn } from "../support/accounts";
import { makeCoupon, redemptionRows } from "../support/coupons";
import { countRows, makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { orderRow, stockOf } from "../support/orders";

interface Started {
  orderId: string;
  checkoutUrl: string;
}

const checkout = (cookie: string) => request("/api/checkout", { method: "POST", headers: { cookie, origin: ORIGIN } });

/** Pays through the simulator page, which signs and delivers a Stripe-format event to the webhook. */
const pay = (checkoutUrl: string) =>
  request(new URL(checkoutUrl).pathname, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
    body: "outcome=paid",
    redirect: "manual",
  });

async function shoppers(n: number): Promise<SignedIn[]> {
  const out: SignedIn[] = [];
  // Sequential: each sign-up costs a scrypt hash, and parallel ones only queue on the CPU.
  for (let i = 0; i < n; i++) out.push(await signUpAndSignIn());
  return out;
}

describe("checkout under concurrency", () => {
  it("T08 two concurrent checkouts of one cart make exactly one order", async () => {
    const [who] = await shoppers(1);
    const p = await makeProduct({ priceCents: 1500, stock: 10 });
    await cartStubForUser(env, who!.user.id).addItem(p.id, 2);
    const before = await countRows("orders");
    const results = await Promise.all([checkout(who!.cookie), checkout(who!.cookie)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(await countRows("orders")).toBe(before + 1);
    expect(await stockOf(p.id)).toBe(8);
  });

  it("T08 stock of 3 and 10 concurrent checkouts: at most 3 orders take it, stock never below zero", async () => {
    const people = await shoppers(10);
    const p = await makeProduct({ priceCents: 900, stock: 3 });
    for (const who of people) await cartStubForUser(env, who.user.id).addItem(p.id, 1);
    const before = await countRows("orders");
    const results = await Promise.all(people.map((who) => checkout(who.cookie)));
    const ok = results.filter((r) => r.status === 201);
    expect(ok.length).toBe(3);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(r.status).toBe(422);
      expect(((await r.json()) as { code: string }).code).toBe("out_of_stock");
    }
    expect(await stockOf(p.id)).toBe(0);
    expect(await countRows("orders")).toBe(before + 3);
  }, 60_000);

  it("T07 a single-use coupon across 20 concurrent checkouts paid by webhook gives exactly one discounted paid order", async () => {
    const people = await shoppers(20);
    const p = await makeProduct({ priceCents: 2000, stock: 100 });
    const coupon = await makeCoupon({ percentOff: 50, maxRedemptions: 1 });
    for (const who of people) {
      const cart = cartStubForUser(env, who.user.id);
      await cart.addItem(p.id, 1);
      await cart.applyCoupon(coupon.code);
    }
    const results = await Promise.all(people.map((who) => checkout(who.cookie)));
    const started = results.filter((r) => r.status === 201);
    expect(started.length).toBe(1);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(r.status).toBe(422);
      expect(["coupon_exhausted", "coupon_already_used"]).toContain(((await r.json()) as { code: string }).code);
    }
    const { orderId, checkoutUrl } = (await started[0]!.json()) as Started;
    expect((await pay(checkoutUrl)).status).toBe(303);
    const order = await orderRow(orderId);
    expect(order).toMatchObject({ status: "paid", discountCents: 1000, totalCents: 1000, couponCode: coupon.code });
    const { results: paidWithCoupon } = await env.DB.prepare("SELECT id FROM orders WHERE coupon_code = ? AND status = 'paid'").bind(coupon.code).all();
    expect(paidWithCoupon).toHaveLength(1);
    expect((await redemptionRows(coupon.code)).map((r) => r.order_id)).toEqual([orderId]);
  }, 90_000);

  it("T08 items added after checkout starts change neither the order nor the amount paid", async () => {
    const [who] = await shoppers(1);
    const a = await makeProduct({ priceCents: 1200, stock: 10 });
    const b = await makeProduct({ priceCents: 99_00, stock: 10 });
    const cart = cartStubForUser(env, who!.user.id);
    await cart.addItem(a.id, 1);
    const started = (await (await checkout(who!.cookie)).json()) as Started;
    await cart.addItem(b.id, 3);
    expect((await pay(started.checkoutUrl)).status).toBe(303);
    const order = await orderRow(started.orderId);
    expect(order).toMatchObject({ status: "paid", totalCents: 1200, subtotalCents: 1200 });
    const { results: lines } = await env.DB.prepare("SELECT product_id, quantity FROM order_lines WHERE order_id = ?").bind(started.orderId).all();
    expect(lines).toEqual([{ product_id: a.id, quantity: 1 }]);
    // The item added later is still in the cart for the next order.
    expect((await cart.getState()).lines).toEqual([{ productId: b.id, variantId: b.variantId, quantity: 3 }]);
  });

  it("P13 200 concurrent adds to one cart end with the exact expected quantity", async () => {
    const [who] = await shoppers(1);
    const p = await makeProduct({ priceCents: 100, stock: 10_000 });
    const others = await Promise.all(Array.from({ length: 4 }, () => makeProduct({ priceCents: 100, stock: 10_000 })));
    const ids = [p.id, ...others.map((o) => o.id)];
    // 200 adds of quantity 1 spread over 5 products: 40 each, under the 99 cap.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request("/api/cart/items", {
          method: "POST",
          headers: { cookie: who!.cookie, origin: ORIGIN, "content-type": "application/json" },
          body: JSON.stringify({ productId: ids[i % 5], quantity: 1 }),
        }),
      ),
    );
    const state = await cartStubForUser(env, who!.user.id).getState();
    expect(Object.fromEntries(state.lines.map((l) => [l.productId, l.quantity]))).toEqual(Object.fromEntries(ids.map((id) => [id, 40])));
  }, 60_000);
});
