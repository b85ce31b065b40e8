import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { cartStubForUser } from "../../src/cart/cart";
import { PINNED } from "../../src/coupons/coupon-object";
import { getAs, signUpAndSignIn, type SignedIn } from "../support/accounts";
import { as } from "../support/admin";
import { lastAuditId } from "../support/audit";
import { ledger, makeCoupon, redemptionRows } from "../support/coupons";
import { makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { auditActionsFor, makeHeldOrder, paidEventFor, orderRow, stockOf } from "../support/orders";
import { deliverEvent, sessionEvent, stripeChanges } from "../support/stripe";

// Issue 20 §1 (T07, P10): holds follow the payment, not a clock. A coupon reservation and the
// cart's lock last as long as the order can be paid, are pinned while a delayed payment is in
// flight, and end once when the order closes; a commit that finds no hold and no room left is
// paid (the money is real) but flagged and audited for staff, never silently over the limit.

const HOURS = 60 * 60 * 1000;

async function sweepAt(at: number): Promise<void> {
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), env);
}

function simulator(checkoutUrl: string, outcome: string): Promise<Response> {
  return request(new URL(checkoutUrl).pathname, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
    body: `outcome=${outcome}`,
    redirect: "manual",
  });
}

async function checkoutWith(productId: string, code: string): Promise<{ who: SignedIn; res: Response }> {
  const who = await signUpAndSignIn();
  const cart = cartStubForUser(env, who.user.id);
  expect((await cart.addItem(productId, 1)).ok).toBe(true);
  expect((await cart.applyCoupon(code)).ok).toBe(true);
  return { who, res: await request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } }) };
}

afterEach(() => vi.restoreAllMocks());

describe("holds that follow the payment (T07, P10)", { timeout: 60_000 }, () => {
  it("T07 late async success after the hold window: the single-use coupon stays held while the bank transfer is in flight, another shopper is refused, the order is paid once with one redemption", async () => {
    const product = await makeProduct({ stock: 5, priceCents: 3000 });
    const coupon = await makeCoupon({ percentOff: 20, maxRedemptions: 1 });
    const first = await checkoutWith(product.id, coupon.code);
    expect(first.res.status).toBe(201);
    const { orderId, checkoutUrl } = (await first.res.json()) as { orderId: string; checkoutUrl: string };
    const before = await lastAuditId();
    // The shopper pays by bank transfer: Stripe completes the session `unpaid`.
    expect((await simulator(checkoutUrl, "processing")).status).toBe(303);
    expect(await orderRow(orderId)).toMatchObject({ status: "pending", paymentInFlight: true });
    expect((await ledger(coupon.code).snapshot()).reservations).toEqual([expect.objectContaining({ orderId, expiresAt: PINNED })]);
    // The shopper sees the payment under way and cannot cancel it from the shop.
    expect(await (await getAs(first.who.cookie, `/api/orders/${orderId}`)).json()).toMatchObject({ status: "pending", paymentProcessing: true });
    expect(await (await getAs(first.who.cookie, `/orders/${orderId}`)).text()).toContain('data-payment="processing"');
    const cancel = await request(`/api/orders/${orderId}/cancel`, { method: "POST", headers: { cookie: first.who.cookie, origin: ORIGIN } });
    expect(cancel.status).toBe(409);
    expect(((await cancel.json()) as { code: string }).code).toBe("payment_processing");

    // Hours later (far past the session's expiry and the old 35-minute clock): the sweeper leaves
    // the order alone, the ledger still counts the hold, and another shopper cannot take the code.
    await sweepAt(Date.now() + 3 * HOURS);
    expect(await orderRow(orderId)).toMatchObject({ status: "pending", paymentInFlight: true });
    expect(
      await ledger(coupon.code).check({ userId: "someone-else", definition: { maxRedemptions: 1, perCustomerLimit: null }, now: Date.now() + 3 * HOURS }),
    ).toEqual({ ok: false, code: "coupon_exhausted" });
    const second = await checkoutWith(product.id, coupon.code);
    expect(second.res.status).toBe(422);
    expect(((await second.res.json()) as { code: string }).code).toBe("coupon_exhausted");
    // The cart stays locked by the order in flight: no second checkout from it either.
    expect((await request("/api/checkout", { method: "POST", headers: { cookie: first.who.cookie, origin: ORIGIN } })).status).toBe(409);

    // The bank confirms: async_payment_succeeded pays the order and commits the held redemption.
    expect((await simulator(checkoutUrl, "succeeded")).status).toBe(303);
    expect(await orderRow(orderId)).toMatchObject({ status: "paid", paymentInFlight: false, couponOverRedeemed: false });
    expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 1, reserved: 0 });
    expect((await redemptionRows(coupon.code)).map((r) => r.order_id)).toEqual([orderId]);
    expect(await stockOf(product.id)).toBe(4);
    expect(await auditActionsFor(orderId, before)).toEqual(["order.payment_processing", "order.paid"]);
    // A replay of the settlement changes nothing.
    expect((await simulator(checkoutUrl, "succeeded")).status).toBe(409);
    expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 1, reserved: 0 });
  });

  it("T07 a delayed payment that fails gives the coupon, the stock and the cart back once", async () => {
    const product = await makeProduct({ stock: 1, priceCents: 3000 });
    const coupon = await makeCoupon({ percentOff: 20, maxRedemptions: 1 });
    const first = await checkoutWith(product.id, coupon.code);
    const { orderId, checkoutUrl } = (await first.res.json()) as { orderId: string; checkoutUrl: string };
    await simulator(checkoutUrl, "processing");
    expect((await simulator(checkoutUrl, "failed")).status).toBe(303);
    expect((await simulator(checkoutUrl, "failed")).status).toBe(409);
    expect(await orderRow(orderId)).toMatchObject({ status: "cancelled", paymentInFlight: false });
    expect(await stockOf(product.id)).toBe(1);
    expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
    expect((await cartStubForUser(env, first.who.user.id).getState()).state.status).toBe("open");
    // Now the unit and the code are someone else's to buy.
    const second = await checkoutWith(product.id, coupon.code);
    expect(second.res.status).toBe(201);
  });

  it("P10 a card payment whose webhook comes after the hold lapsed and the last use went to another order: paid (the money is real), flagged coupon_over_redeemed, audited once, shown to staff", async () => {
    const coupon = await makeCoupon({ percentOff: 20, maxRedemptions: 1 });
    const product = await makeProduct({ stock: 5, priceCents: 3000 });
    const late = await checkoutWith(product.id, coupon.code);
    const lateOrder = (await late.res.json()) as { orderId: string; checkoutUrl: string };
    // The ledger's last-resort clock ran out for this reservation (the sweeper could not reach the
    // provider for over an hour, say): moved into the past, it is dropped on the next decision.
    expect(await ledger(coupon.code).hold(lateOrder.orderId, Date.now() - 1)).toBe(true);
    const other = await checkoutWith(product.id, coupon.code);
    expect(other.res.status).toBe(201);
    const otherOrder = (await other.res.json()) as { orderId: string; checkoutUrl: string };
    expect((await simulator(otherOrder.checkoutUrl, "paid")).status).toBe(303);
    expect((await orderRow(otherOrder.orderId))?.status).toBe("paid");

    const before = await lastAuditId();
    const row = (await orderRow(lateOrder.orderId))!;
    const event = sessionEvent({
      type: "checkout.session.completed",
      sessionId: row.paymentSessionId!,
      orderId: row.id,
      amountTotal: row.totalCents,
      currency: "usd",
      paymentStatus: "paid",
    });
    expect((await deliverEvent(event)).status).toBe(200);
    expect((await deliverEvent(event)).status).toBe(200); // Stripe's retry: nothing twice
    expect(await orderRow(row.id)).toMatchObject({ status: "paid", couponOverRedeemed: true });
    expect(await orderRow(otherOrder.orderId)).toMatchObject({ status: "paid", couponOverRedeemed: false });
    expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 2, reserved: 0 });
    expect(await auditActionsFor(row.id, before)).toEqual(["order.paid", "coupon.over_redeemed"]);
    const page = await (await getAs((await as("admin")).cookie!, `/admin/orders/${row.id}`)).text();
    expect(page).toContain('data-flag="coupon-over-redeemed"');
    const api = (await (await request(`/api/admin/orders/${row.id}`, { headers: await as("admin") })).json()) as { couponOverRedeemed: boolean };
    expect(api.couponOverRedeemed).toBe(true);
  });

  it("T07 the sweeper finds a session paid at the provider without its webhook: it pays the order from its own reservation, once; the late webhook changes nothing", async () => {
    const h = await makeHeldOrder();
    const paid = paidEventFor(h);
    // "Stripe" completed the session but its event never arrived.
    await stripeChanges(paid);
    const before = await lastAuditId();
    await sweepAt(Date.now() + 2 * HOURS);
    await sweepAt(Date.now() + 2 * HOURS + 5 * 60 * 1000); // the next run changes nothing
    expect(await orderRow(h.order.id)).toMatchObject({ status: "paid", paymentInFlight: false, couponOverRedeemed: false, paymentIntentId: h.paymentIntentId });
    expect(await stockOf(h.productId)).toBe(3);
    expect(await ledger(h.couponCode).snapshot()).toMatchObject({ committed: 1, reserved: 0 });
    expect((await deliverEvent(paid, { stale: true })).status).toBe(200);
    expect(await ledger(h.couponCode).snapshot()).toMatchObject({ committed: 1, reserved: 0 });
    expect(await auditActionsFor(h.order.id, before)).toEqual(["order.paid"]);
  });

  it("T08 the cart's lock has no clock: a day-old pending order still holds it, and it opens as soon as that order is closed, even if the close's unlock was lost", async () => {
    const who = await signUpAndSignIn();
    const h = await makeHeldOrder({ userId: who.user.id });
    const cart = cartStubForUser(env, who.user.id);
    // A day-old lock of a still-pending order: refused.
    await env.DB.prepare("UPDATE orders SET payment_expires_at = ? WHERE id = ?")
      .bind(Math.floor(Date.now() / 1000) + 1800, h.order.id)
      .run();
    const refused = await request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe("checkout_in_progress");
    // The order closes but the cart never heard of it (its unlock failed): the next checkout frees it.
    await env.DB.prepare("UPDATE orders SET status = 'expired' WHERE id = ?").bind(h.order.id).run();
    expect((await cart.getState()).state).toMatchObject({ status: "checking_out", orderId: h.order.id });
    const res = await request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } });
    expect(res.status).toBe(201);
    const { orderId } = (await res.json()) as { orderId: string };
    expect((await cart.getState()).state).toMatchObject({ status: "checking_out", orderId });
  });
});
