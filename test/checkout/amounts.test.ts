import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cartStubForUser } from "../../src/cart/cart";
import { ORDER_LINES_PER_INSERT } from "../../src/checkout/lifecycle";
import { signUpAndSignIn, type SignedIn } from "../support/accounts";
import { lastAuditId } from "../support/audit";
import { ledger, makeCoupon, redemptionRows } from "../support/coupons";
import { countRows, makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { auditActionsFor, makeHeldOrder, orderRow, stockOf } from "../support/orders";
import { deliverEvent, sessionEvent } from "../support/stripe";

// Issue 20 §3 and §4: zero, small and large. A no-cost order completes with
// `no_payment_required` (amount 0 checked like any amount), a total between 0 and the provider's
// minimum charge is refused at checkout, and a 50-line cart (the cart's maximum) is written in
// chunks under D1's 100-bound-parameter limit.

function checkout(who: SignedIn): Promise<Response> {
  return request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } });
}

function simulator(checkoutUrl: string, outcome: string): Promise<Response> {
  return request(new URL(checkoutUrl).pathname, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
    body: `outcome=${outcome}`,
    redirect: "manual",
  });
}

describe("no-cost orders and the minimum charge (P11)", { timeout: 60_000 }, () => {
  it("P11 a no-cost order: a 100 % coupon checks out at 0, the simulator completes it with no_payment_required, and the order is paid once with its stock sold and its coupon committed", async () => {
    const who = await signUpAndSignIn();
    const product = await makeProduct({ stock: 4, priceCents: 900 });
    const coupon = await makeCoupon({ percentOff: 100, maxRedemptions: 5 });
    const cart = cartStubForUser(env, who.user.id);
    await cart.addItem(product.id, 2);
    await cart.applyCoupon(coupon.code);
    const res = await checkout(who);
    expect(res.status).toBe(201);
    const { orderId, checkoutUrl } = (await res.json()) as { orderId: string; checkoutUrl: string };
    expect(await orderRow(orderId)).toMatchObject({ subtotalCents: 1800, discountCents: 1800, totalCents: 0, status: "pending" });
    const page = await (await request(new URL(checkoutUrl).pathname)).text();
    expect(page).toContain("nothing to pay");
    const before = await lastAuditId();
    expect((await simulator(checkoutUrl, "paid")).status).toBe(303);
    const timeline = await env.DB.prepare("SELECT detail FROM payment_events WHERE order_id = ? AND kind = 'checkout.session.completed'")
      .bind(orderId)
      .all<{ detail: string }>();
    expect(timeline.results).toHaveLength(1);
    expect(await orderRow(orderId)).toMatchObject({ status: "paid", paymentIntentId: null });
    expect(await stockOf(product.id)).toBe(2);
    expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 1, reserved: 0 });
    expect((await redemptionRows(coupon.code)).map((r) => r.order_id)).toEqual([orderId]);
    expect((await cart.getState()).lines).toEqual([]);
    const audit = await env.DB.prepare("SELECT action, detail FROM audit_events WHERE id > ? AND subject = ? ORDER BY id")
      .bind(before, orderId)
      .all<{ action: string; detail: string }>();
    expect(audit.results.map((r) => r.action)).toEqual(["order.paid"]);
    expect(JSON.parse(audit.results[0]!.detail)).toMatchObject({ amountTotal: 0, paymentStatus: "no_payment_required" });
  });

  it("P11 no_payment_required for an order that costs money is refused as an amount mismatch, audited, pays nothing and closes the order", async () => {
    const h = await makeHeldOrder();
    const before = await lastAuditId();
    const forged = sessionEvent({
      type: "checkout.session.completed",
      sessionId: h.sessionId,
      orderId: h.order.id,
      amountTotal: h.order.totalCents,
      currency: "usd",
      paymentStatus: "no_payment_required",
    });
    expect((await deliverEvent(forged)).status).toBe(200);
    const zero = sessionEvent({
      type: "checkout.session.completed",
      sessionId: h.sessionId,
      orderId: h.order.id,
      amountTotal: 0,
      currency: "usd",
      paymentStatus: "no_payment_required",
    });
    expect((await deliverEvent(zero)).status).toBe(200);
    // Stripe says the session completed with nothing to pay: it can never be paid, so the order
    // closes unpaid and gives its holds back. No money came, so nothing is kept for a refund.
    expect(await orderRow(h.order.id)).toMatchObject({ status: "cancelled", paidAt: null, paymentIntentId: null });
    expect(await stockOf(h.productId)).toBe(5);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM stray_payments WHERE order_id = ?").bind(h.order.id).first<{ n: number }>())?.n).toBe(0);
    expect(await ledger(h.couponCode).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
    expect(await auditActionsFor(h.order.id, before)).toEqual(["payment.amount_mismatch"]);
  });

  it("P11 a total below the minimum charge is refused at checkout with total_below_minimum; nothing is held and the cart stays usable", async () => {
    for (const setup of ["cheap item", "coupon leaves 40 cents"] as const) {
      const who = await signUpAndSignIn();
      const product = await makeProduct({ stock: 3, priceCents: setup === "cheap item" ? 30 : 1000 });
      const cart = cartStubForUser(env, who.user.id);
      await cart.addItem(product.id, 1);
      const coupon = setup === "cheap item" ? null : await makeCoupon({ amountOffCents: 960, currency: "USD", maxRedemptions: 1 });
      if (coupon) await cart.applyCoupon(coupon.code);
      const ordersBefore = await countRows("orders");
      const res = await checkout(who);
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe("total_below_minimum");
      expect(body.detail).toMatch(/50 minor units of USD/);
      expect(await countRows("orders")).toBe(ordersBefore);
      expect(await stockOf(product.id)).toBe(3);
      if (coupon) expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
      expect((await cart.getState()).state.status).toBe("open");
    }
  });

  it("P11 a percent coupon on a KWD cart leaves a total Stripe can charge: the discount rounds down to 10 fils, the order is written and paid once", async () => {
    const who = await signUpAndSignIn();
    const product = await makeProduct({ stock: 3, priceCents: 5120, currency: "KWD" });
    const coupon = await makeCoupon({ percentOff: 15, maxRedemptions: 5 });
    const cart = cartStubForUser(env, who.user.id);
    await cart.addItem(product.id, 1);
    await cart.applyCoupon(coupon.code);
    const shown = (await (await request("/api/cart", { headers: { cookie: who.cookie } })).json()) as { discountCents: number; totalCents: number };
    expect(shown).toMatchObject({ discountCents: 760, totalCents: 4360 });
    const res = await checkout(who);
    expect(res.status, await res.clone().text()).toBe(201);
    const { orderId, checkoutUrl } = (await res.json()) as { orderId: string; checkoutUrl: string };
    expect(await orderRow(orderId)).toMatchObject({ currency: "KWD", subtotalCents: 5120, discountCents: 760, totalCents: 4360, status: "pending" });
    expect((await simulator(checkoutUrl, "paid")).status).toBe(303);
    expect(await orderRow(orderId)).toMatchObject({ status: "paid", totalCents: 4360 });
  });

  it("P11 a total above the provider's 8-digit maximum is refused at checkout with 422 total_above_maximum, never a 502; no order row, stock and coupon unchanged", async () => {
    // The order of 9,900,000,000 cents (99 × $1,000,000), and one just over $999,999.99 after a coupon.
    for (const setup of [
      { priceCents: 100_000_000, quantity: 99, amountOff: null },
      { priceCents: 50_000_001, quantity: 2, amountOff: 2 as number | null }, // 100,000,000 after the coupon: one cent over
    ]) {
      const who = await signUpAndSignIn();
      const product = await makeProduct({ stock: 100, priceCents: setup.priceCents });
      const cart = cartStubForUser(env, who.user.id);
      expect((await cart.addItem(product.id, setup.quantity)).ok).toBe(true);
      const coupon = setup.amountOff === null ? null : await makeCoupon({ amountOffCents: setup.amountOff, currency: "USD", maxRedemptions: 1 });
      if (coupon) await cart.applyCoupon(coupon.code);
      const ordersBefore = await countRows("orders");
      const linesBefore = await countRows("order_lines");
      const res = await checkout(who);
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe("total_above_maximum");
      expect(body.detail).toMatch(/99999999 minor units of USD/);
      expect(await countRows("orders")).toBe(ordersBefore);
      expect(await countRows("order_lines")).toBe(linesBefore);
      expect(await stockOf(product.id)).toBe(100);
      if (coupon) expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
      expect((await cart.getState()).state.status).toBe("open");
    }
  });
});

describe("big carts (P13)", { timeout: 120_000 }, () => {
  it("P13 a 50-line cart checks out: lines written in chunks under D1's 100-parameter limit, stock taken from each, paid once; an expired one gives all 50 back", async () => {
    expect(ORDER_LINES_PER_INSERT * 5).toBeLessThanOrEqual(100);
    for (const outcome of ["paid", "expired"] as const) {
      const who = await signUpAndSignIn();
      const cart = cartStubForUser(env, who.user.id);
      const products = [];
      for (let i = 0; i < 50; i++) products.push(await makeProduct({ stock: 10, priceCents: 100 + i }));
      for (const [i, p] of products.entries()) expect((await cart.addItem(p.id, 1 + (i % 3))).ok).toBe(true);
      expect((await cart.getState()).lines).toHaveLength(50);
      const res = await checkout(who);
      expect(res.status, await res.clone().text()).toBe(201);
      const { orderId, checkoutUrl } = (await res.json()) as { orderId: string; checkoutUrl: string };
      const lines = await env.DB.prepare("SELECT product_id, quantity FROM order_lines WHERE order_id = ? ORDER BY rowid")
        .bind(orderId)
        .all<{ product_id: string; quantity: number }>();
      expect(lines.results.map((l) => [l.product_id, l.quantity])).toEqual(products.map((p, i) => [p.id, 1 + (i % 3)]));
      const total = products.reduce((sum, p, i) => sum + p.priceCents * (1 + (i % 3)), 0);
      expect(await orderRow(orderId)).toMatchObject({ totalCents: total, status: "pending" });
      for (const [i, p] of products.entries()) expect(await stockOf(p.id)).toBe(10 - (1 + (i % 3)));
      expect((await simulator(checkoutUrl, outcome)).status).toBe(303);
      expect((await orderRow(orderId))?.status).toBe(outcome);
      for (const [i, p] of products.entries()) expect(await stockOf(p.id)).toBe(outcome === "paid" ? 10 - (1 + (i % 3)) : 10);
      expect((await cart.getState()).lines).toHaveLength(outcome === "paid" ? 0 : 50);
    }
  });
});
