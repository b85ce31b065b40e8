import { env } from "cloudflare:workers";
import { createExecutionContext, evictAllDurableObjects, evictDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import app from "../../src/index";
import { cartStubForUser } from "../../src/cart/cart";
import { markEmailVerified, signUpAndSignIn, type SignedIn } from "../support/accounts";
import { makeCoupon, ledger } from "../support/coupons";
import { couponCustomerKey } from "../../src/coupons/customer";
import { countRows, makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { completedEventFor, orderRow, processedCount, stockOf } from "../support/orders";
import { deliverEvent, sessionEvent } from "../support/stripe";

// Fault injection around checkout (T08, T06, P15, T07): a Durable Object evicted mid-checkout, D1
// failing inside the order write, the payment provider timing out, a webhook racing the write.
// Each time the shopper gets problem+json, nothing is half-written (orders, lines, stock and the
// coupon ledger agree), and a retried webhook fulfils at most once.

interface Shopper {
  who: SignedIn;
  productId: string;
  couponCode: string | null;
}

async function shopper(opts: { stock?: number; quantity?: number; priceCents?: number; coupon?: boolean } = {}): Promise<Shopper> {
  const who = await signUpAndSignIn();
  // A per-customer coupon counts a proven customer: a verified address (issue 33).
  await markEmailVerified(who.user.id);
  const product = await makeProduct({ stock: opts.stock ?? 10, priceCents: opts.priceCents ?? 2000 });
  const cart = cartStubForUser(env, who.user.id);
  expect((await cart.addItem(product.id, opts.quantity ?? 2)).ok).toBe(true);
  let couponCode: string | null = null;
  if (opts.coupon) {
    couponCode = (await makeCoupon({ percentOff: 25, perCustomerLimit: 1 })).code;
    expect((await cart.applyCoupon(couponCode)).ok).toBe(true);
  }
  return { who, productId: product.id, couponCode };
}

function checkout(cookie: string): Promise<Response> {
  return request("/api/checkout", { method: "POST", headers: { cookie, origin: ORIGIN } });
}

async function expectProblem(res: Response, status: number | null, code?: string): Promise<{ code: string; detail?: string }> {
  if (status !== null) expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as { code: string; detail?: string };
  if (code) expect(body.code).toBe(code);
  return body;
}

/** Orders of a user, as (status, total) and the number of their lines. */
async function ordersOf(userId: string): Promise<{ id: string; status: string; lines: number; payment_session_id: string | null }[]> {
  const { results } = await env.DB.prepare(
    "SELECT o.id, o.status, o.payment_session_id, (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) AS lines FROM orders o WHERE o.user_id = ? ORDER BY o.created_at",
  )
    .bind(userId)
    .all<{ id: string; status: string; lines: number; payment_session_id: string | null }>();
  return results;
}

/**
 * The consistency rule: stock taken = Σ quantities of pending/paid orders; the coupon ledger
 * holds a reservation or redemption exactly for the user's pending/paid orders with the coupon;
 * every order has its lines (never an order without lines).
 */
async function expectConsistent(s: Shopper, initialStock: number, quantity: number): Promise<void> {
  const orders = await ordersOf(s.who.user.id);
  for (const o of orders) expect(o.lines).toBe(1);
  const live = orders.filter((o) => o.status === "pending" || o.status === "paid");
  expect(await stockOf(s.productId)).toBe(initialStock - live.length * quantity);
  if (s.couponCode) {
    const snap = await ledger(s.couponCode, await couponCustomerKey(s.who.email)).snapshot();
    const held = [...snap.reservations.map((r) => r.orderId), ...snap.redemptions.map((r) => r.orderId)].sort();
    expect(held).toEqual(live.map((o) => o.id).sort());
  }
  const state = (await cartStubForUser(env, s.who.user.id).getState()).state;
  const pending = orders.filter((o) => o.status === "pending");
  if (pending.length === 0) expect(state.status).toBe("open");
  else expect(state).toMatchObject({ status: "checking_out", orderId: pending[0]!.id });
}

/** Completes an order's simulated session as Stripe would (a signed checkout.session.completed). */
async function payOrder(orderId: string, eventId?: string): Promise<Response> {
  return deliverEvent(await completedEventFor(orderId, eventId ? { eventId } : {}));
}

afterEach(() => vi.restoreAllMocks());

describe("Durable Object evicted mid-checkout", () => {
  it("T08 the cart object evicted after the snapshot: the frozen checkout survives, payment fulfils it once", async () => {
    const s = await shopper({ stock: 10, quantity: 2, coupon: true });
    const res = await checkout(s.who.cookie);
    expect(res.status).toBe(201);
    const { orderId } = (await res.json()) as { orderId: string };
    await evictDurableObject(cartStubForUser(env, s.who.user.id));
    await evictDurableObject(ledger(s.couponCode!, await couponCustomerKey(s.who.email)));
    // The snapshot lives in the object's storage, not its memory: still checking out this order.
    expect((await cartStubForUser(env, s.who.user.id).getState()).state).toMatchObject({ status: "checking_out", orderId });
    await expectConsistent(s, 10, 2);

    expect((await payOrder(orderId, "evt_evicted_1")).status).toBe(200);
    await evictAllDurableObjects();
    expect((await payOrder(orderId, "evt_evicted_1")).status).toBe(200); // Stripe's retry of the same event
    expect((await orderRow(orderId))?.status).toBe("paid");
    expect(await processedCount("evt_evicted_1")).toBe(1);
    const snap = await ledger(s.couponCode!, await couponCustomerKey(s.who.email)).snapshot();
    expect(snap.redemptions.map((r) => r.orderId)).toEqual([orderId]);
    expect(snap.reserved).toBe(0);
    expect((await cartStubForUser(env, s.who.user.id).getState()).lines).toEqual([]);
    expect(await stockOf(s.productId)).toBe(8);
  });

  it("T08 every object evicted while checkouts run: each answer is 201 or problem+json, and state stays consistent", async () => {
    const shoppers = await Promise.all([shopper({ coupon: true }), shopper({ coupon: true }), shopper()]);
    const [responses] = await Promise.all([Promise.all(shoppers.map((s) => checkout(s.who.cookie))), evictAllDurableObjects()]);
    for (const [i, res] of responses.entries()) {
      if (res.status !== 201) await expectProblem(res, null);
      await expectConsistent(shoppers[i]!, 10, 2);
    }
    // And after the storm: a shopper whose checkout was refused can check out now.
    for (const [i, res] of responses.entries()) {
      if (res.status !== 201) expect((await checkout(shoppers[i]!.who.cookie)).status).toBe(201);
      await expectConsistent(shoppers[i]!, 10, 2);
    }
  }, 30_000);
});

describe("D1 failure during the order write", () => {
  it("T08 the orders INSERT aborts: problem+json without internals, no order, no lines, stock and coupon given back, cart open", async () => {
    const s = await shopper({ stock: 5, quantity: 2, coupon: true });
    const ordersBefore = await countRows("orders");
    const linesBefore = await countRows("order_lines");
    await env.DB.prepare("CREATE TRIGGER fault_orders_insert BEFORE INSERT ON orders BEGIN SELECT RAISE(ABORT, 'injected fault: disk I/O'); END").run();
    let res: Response;
    try {
      res = await checkout(s.who.cookie);
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS fault_orders_insert").run();
    }
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = await expectProblem(res, null, "internal_error");
    expect(JSON.stringify(body)).not.toMatch(/injected|RAISE|INSERT|orders/i);
    expect(await countRows("orders")).toBe(ordersBefore);
    expect(await countRows("order_lines")).toBe(linesBefore);
    await expectConsistent(s, 5, 2);
    expect((await ledger(s.couponCode!, await couponCustomerKey(s.who.email)).snapshot()).reserved).toBe(0);

    // The fault is gone: the same cart checks out, once.
    const retry = await checkout(s.who.cookie);
    expect(retry.status).toBe(201);
    await expectConsistent(s, 5, 2);
  });

  it("T08 the write after the payment session fails: the order is cancelled, stock and coupon come back, a late payment does not fulfil it", async () => {
    const s = await shopper({ stock: 5, quantity: 1, coupon: true });
    await env.DB.prepare(
      "CREATE TRIGGER fault_session_row BEFORE INSERT ON payment_events WHEN NEW.kind = 'checkout.session_created' BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    ).run();
    let res: Response;
    try {
      res = await checkout(s.who.cookie);
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS fault_session_row").run();
    }
    await expectProblem(res, 500, "internal_error");
    const [order] = await ordersOf(s.who.user.id);
    expect(order).toMatchObject({ status: "cancelled", lines: 1 });
    await expectConsistent(s, 5, 1);

    // The simulator did make a session before the fault: paying it must not revive the order.
    const session = await env.DB.prepare("SELECT id FROM payment_events WHERE order_id = ? AND kind = 'simulator.session'")
      .bind(order!.id)
      .first<{ id: string }>();
    expect(session).not.toBeNull();
    const event = sessionEvent({
      type: "checkout.session.completed",
      sessionId: session!.id,
      orderId: order!.id,
      amountTotal: 1500,
      currency: "usd",
      paymentStatus: "paid",
    } as Parameters<typeof sessionEvent>[0]);
    expect((await deliverEvent(event)).status).toBe(200);
    expect((await orderRow(order!.id))?.status).toBe("cancelled");
    await expectConsistent(s, 5, 1);
  });

  it("T06 D1 fails while the webhook marks the order paid: 5xx so Stripe retries, and the retry fulfils exactly once", async () => {
    const s = await shopper({ stock: 4, quantity: 1, coupon: true });
    const { orderId } = (await (await checkout(s.who.cookie)).json()) as { orderId: string };
    await env.DB.prepare(
      "CREATE TRIGGER fault_mark_paid BEFORE UPDATE OF status ON orders WHEN NEW.status = 'paid' BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    ).run();
    let first: Response;
    try {
      first = await payOrder(orderId, "evt_fault_paid_1");
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS fault_mark_paid").run();
    }
    expect(first.status).toBeGreaterThanOrEqual(500);
    await expectProblem(first, null);
    // Nothing of the event stuck: not marked processed, order still pending.
    expect(await processedCount("evt_fault_paid_1")).toBe(0);
    expect((await orderRow(orderId))?.status).toBe("pending");
    await expectConsistent(s, 4, 1);

    const retries = await Promise.all([payOrder(orderId, "evt_fault_paid_1"), payOrder(orderId, "evt_fault_paid_1")]);
    expect(retries.map((r) => r.status)).toEqual([200, 200]);
    expect((await orderRow(orderId))?.status).toBe("paid");
    expect(await processedCount("evt_fault_paid_1")).toBe(1);
    const kinds = (await env.DB.prepare("SELECT kind FROM payment_events WHERE order_id = ? AND kind = 'checkout.session.completed'").bind(orderId).all())
      .results;
    expect(kinds).toHaveLength(1);
    const snap = await ledger(s.couponCode!, await couponCustomerKey(s.who.email)).snapshot();
    expect(snap.redemptions.map((r) => r.orderId)).toEqual([orderId]);
    await expectConsistent(s, 4, 1);
  });
});

describe("payment provider timing out", () => {
  it("P15 Stripe times out on every attempt: 502 payment_unavailable, order cancelled, stock and coupon back, cart open", async () => {
    const s = await shopper({ stock: 6, quantity: 3, coupon: true });
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
    });
    const ctx = createExecutionContext();
    const stripeEnv = { ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" } as Env;
    const res = await app.fetch(new Request(`${ORIGIN}/api/checkout`, { method: "POST", headers: { cookie: s.who.cookie, origin: ORIGIN } }), stripeEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    const body = await expectProblem(res, 502, "payment_unavailable");
    expect(body.detail).toMatch(/Nothing was charged/);
    const orders = await ordersOf(s.who.user.id);
    expect(orders.map((o) => o.status)).toEqual(["cancelled"]);
    await expectConsistent(s, 6, 3);
    expect((await ledger(s.couponCode!, await couponCustomerKey(s.who.email)).snapshot()).reserved).toBe(0);
    // The simulator (provider back) takes the same cart.
    expect((await checkout(s.who.cookie)).status).toBe(201);
    await expectConsistent(s, 6, 3);
  }, 30_000);
});

describe("webhook racing the checkout write", () => {
  it("T06 a completed event for an order that does not exist yet fulfils nothing", async () => {
    const s = await shopper({ stock: 3, quantity: 1 });
    const futureId = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
    const ordersBefore = await countRows("orders");
    const early = sessionEvent({
      type: "checkout.session.completed",
      sessionId: "cs_test_notyetmade",
      orderId: futureId,
      amountTotal: 2000,
      currency: "usd",
      paymentStatus: "paid",
    } as Parameters<typeof sessionEvent>[0]);
    expect((await deliverEvent(early)).status).toBe(200);
    expect(await countRows("orders")).toBe(ordersBefore);
    expect(await orderRow(futureId)).toBeNull();

    // The real checkout is then written and paid by its own event: paid once, stock taken once.
    const { orderId } = (await (await checkout(s.who.cookie)).json()) as { orderId: string };
    expect((await payOrder(orderId, "evt_race_ok")).status).toBe(200);
    expect((await payOrder(orderId, "evt_race_ok")).status).toBe(200);
    expect((await orderRow(orderId))?.status).toBe("paid");
    expect(await processedCount("evt_race_ok")).toBe(1);
    await expectConsistent(s, 3, 1);
  });

  it("T06 webhook and checkout at the same moment: the order is paid at most once and stays consistent", async () => {
    const s = await shopper({ stock: 3, quantity: 1, coupon: true });
    // Fire the checkout and, concurrently, payment events for whatever order it is writing.
    const pending = checkout(s.who.cookie);
    const racers: Promise<Response>[] = [];
    for (let i = 0; i < 20 && racers.length < 3; i++) {
      const [o] = await ordersOf(s.who.user.id);
      if (o?.payment_session_id) racers.push(payOrder(o.id, "evt_race_concurrent"), payOrder(o.id, "evt_race_concurrent"));
      else await new Promise((r) => setTimeout(r, 1));
    }
    const res = await pending;
    expect(res.status).toBe(201);
    const { orderId } = (await res.json()) as { orderId: string };
    for (const r of await Promise.all(racers)) expect(r.status).toBe(200);
    // Stripe retries until it gets a 200 that took effect; the last retry settles it.
    expect((await payOrder(orderId, "evt_race_concurrent")).status).toBe(200);
    expect((await orderRow(orderId))?.status).toBe("paid");
    expect(await processedCount("evt_race_concurrent")).toBe(1);
    await expectConsistent(s, 3, 1);
  });
});
