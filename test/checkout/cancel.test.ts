import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cartStubForUser } from "../../src/cart/cart";
import { getAs, jsonAs, signUpAndSignIn } from "../support/accounts";
import { makeCoupon, ledger } from "../support/coupons";
import { makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { orderRow, stockOf } from "../support/orders";

interface Started {
  orderId: string;
  checkoutUrl: string;
}

async function startedCheckout() {
  const who = await signUpAndSignIn();
  const p = await makeProduct({ priceCents: 2500, stock: 5 });
  const coupon = await makeCoupon({ percentOff: 10, maxRedemptions: 1 });
  const cart = cartStubForUser(env, who.user.id);
  await cart.addItem(p.id, 2);
  await cart.applyCoupon(coupon.code);
  const res = await request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } });
  expect(res.status).toBe(201);
  return { who, p, coupon, cart, started: (await res.json()) as Started };
}

describe("cancel page", () => {
  it("cancelling from the order page expires the session and gives back stock, the coupon reservation and the cart", async () => {
    const { who, p, coupon, cart, started } = await startedCheckout();
    expect(await stockOf(p.id)).toBe(3);
    const page = await (await getAs(who.cookie, `/orders/${started.orderId}?status=cancelled`)).text();
    expect(page).toContain(`/orders/${started.orderId}/cancel`);
    const res = await request(`/orders/${started.orderId}/cancel`, { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN }, redirect: "manual" });
    expect(res.status).toBe(303);
    expect((await orderRow(started.orderId))?.status).toBe("cancelled");
    expect(await stockOf(p.id)).toBe(5);
    expect((await ledger(coupon.code).snapshot()).reservations).toEqual([]);
    // The cart is open again with its lines, and the simulator session can no longer be paid.
    expect((await cart.getState()).lines).toEqual([{ productId: p.id, variantId: p.variantId, quantity: 2 }]);
    const pay = await request(new URL(started.checkoutUrl).pathname, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: "outcome=paid",
      redirect: "manual",
    });
    expect(pay.status).not.toBe(500);
    expect((await orderRow(started.orderId))?.status).toBe("cancelled");
  });

  it("P12 another shopper cannot cancel my order; a paid order cannot be cancelled", async () => {
    const { who, started } = await startedCheckout();
    const stranger = await signUpAndSignIn();
    expect((await jsonAs(stranger.cookie, "POST", `/api/orders/${started.orderId}/cancel`)).status).toBe(404);
    expect((await orderRow(started.orderId))?.status).toBe("pending");
    await request(new URL(started.checkoutUrl).pathname, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: "outcome=paid",
      redirect: "manual",
    });
    expect((await orderRow(started.orderId))?.status).toBe("paid");
    const late = await jsonAs(who.cookie, "POST", `/api/orders/${started.orderId}/cancel`);
    expect(late.status).toBe(409);
    expect((await orderRow(started.orderId))?.status).toBe("paid");
  });
});
