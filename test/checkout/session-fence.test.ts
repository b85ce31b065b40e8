import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import app from "../../src/index";
import { cartStubForUser } from "../../src/cart/cart";
import { signUpAndSignIn, type SignedIn } from "../support/accounts";
import { lastAuditId } from "../support/audit";
import { ledger, makeCoupon } from "../support/coupons";
import { makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { auditActionsFor, orderRow, stockOf } from "../support/orders";
import { deliverEvent, sessionEvent, stripeStub } from "../support/stripe";

// Issue 20 §2 (T08): a cancel while checkout is creating the payment session. Both orders of
// events are driven deterministically: a Stripe stand-in holds the session create until the test
// releases it, so "cancel first" and "session stored first" are each forced, never timing luck.

const stripeEnv = () => ({ ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" }) as Env;

async function viaStripe(path: string, cookie: string, headers: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${ORIGIN}${path}`, { method: "POST", headers: { cookie, origin: ORIGIN, ...headers } }), stripeEnv(), ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A shopper with the last unit of a product and a single-use coupon in the cart. */
async function lastUnitWithCoupon(): Promise<{ who: SignedIn; productId: string; code: string }> {
  const who = await signUpAndSignIn();
  const product = await makeProduct({ stock: 1, priceCents: 4000 });
  const coupon = await makeCoupon({ percentOff: 25, maxRedemptions: 1 });
  const cart = cartStubForUser(env, who.user.id);
  expect((await cart.addItem(product.id, 1)).ok).toBe(true);
  expect((await cart.applyCoupon(coupon.code)).ok).toBe(true);
  return { who, productId: product.id, code: coupon.code };
}

/** The one order of a user as D1 has it (the checkout in flight wrote it). */
async function onlyOrderOf(userId: string): Promise<{ id: string; status: string; payment_session_id: string | null }> {
  const { results } = await env.DB.prepare("SELECT id, status, payment_session_id FROM orders WHERE user_id = ?")
    .bind(userId)
    .all<{ id: string; status: string; payment_session_id: string | null }>();
  expect(results).toHaveLength(1);
  return results[0]!;
}

function gate(): { promise: Promise<void>; release: () => void; arrived: Promise<void>; onCreate: () => void } {
  let release!: () => void;
  let onCreate!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  const arrived = new Promise<void>((r) => (onCreate = r));
  return { promise, release, arrived, onCreate };
}

afterEach(() => vi.restoreAllMocks());

describe("cancel while checkout creates the payment session (T08)", { timeout: 60_000 }, () => {
  it("T08 cancel before the session is stored: the cancel wins, checkout expires its session at Stripe and answers 409 order_cancelled; nothing is payable and the unit and coupon are sold once", async () => {
    const s = await lastUnitWithCoupon();
    const g = gate();
    const stub = stripeStub({ gate: g.promise, onCreate: g.onCreate });
    vi.spyOn(globalThis, "fetch").mockImplementation(stub.handler);
    const before = await lastAuditId();

    const checkout = viaStripe("/api/checkout", s.who.cookie);
    await g.arrived; // the order is written, Stripe is creating its session
    const order = await onlyOrderOf(s.who.user.id);
    expect(order).toMatchObject({ status: "pending", payment_session_id: null });
    const cancel = await viaStripe(`/api/orders/${order.id}/cancel`, s.who.cookie);
    expect(cancel.status).toBe(200);
    expect(await stockOf(s.productId)).toBe(1);

    g.release();
    const res = await checkout;
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { code: string; checkoutUrl?: string };
    expect(body.code).toBe("order_cancelled");
    expect(body.checkoutUrl).toBeUndefined();

    // The session Stripe made was expired there, and never stored or handed out.
    const created = stub.calls.filter((c) => c.path === "/v1/checkout/sessions");
    expect(created).toHaveLength(1);
    const expires = stub.calls.filter((c) => /^\/v1\/checkout\/sessions\/cs_test_[a-z0-9]+\/expire$/.test(c.path));
    expect(expires).toHaveLength(1);
    const row = (await orderRow(order.id))!;
    expect(row).toMatchObject({ status: "cancelled", paymentSessionId: null });
    const replayRows = await env.DB.prepare("SELECT count(*) AS n FROM payment_events WHERE order_id = ? AND kind = 'checkout.session_created'")
      .bind(order.id)
      .first<{ n: number }>();
    expect(replayRows?.n).toBe(0);
    // Stock and coupon came back exactly once; the cart is open with its line.
    expect(await stockOf(s.productId)).toBe(1);
    expect(await ledger(s.code).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
    expect((await cartStubForUser(env, s.who.user.id).getState()).state.status).toBe("open");
    expect(await auditActionsFor(order.id, before)).toEqual(["order.cancelled", "checkout.session_fenced"]);

    // Another shopper buys the last unit with the same single-use coupon: it is theirs alone.
    vi.restoreAllMocks();
    const other = await signUpAndSignIn();
    const cart = cartStubForUser(env, other.user.id);
    await cart.addItem(s.productId, 1);
    await cart.applyCoupon(s.code);
    const bought = await request("/api/checkout", { method: "POST", headers: { cookie: other.cookie, origin: ORIGIN } });
    expect(bought.status).toBe(201);
    expect(await stockOf(s.productId)).toBe(0);
    // A webhook for the fenced session (it cannot be paid, but say Stripe sent one) pays nothing.
    const stray = sessionEvent({
      type: "checkout.session.completed",
      sessionId: "cs_test_fencedsession",
      orderId: order.id,
      amountTotal: 3000,
      currency: "usd",
      paymentStatus: "paid",
    });
    expect((await deliverEvent(stray)).status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("cancelled");
    expect(await stockOf(s.productId)).toBe(0);
  });

  it("T08 session stored before the cancel: the cancel expires that session at Stripe first, then cancels; checkout's 201 URL can no longer be paid", async () => {
    const s = await lastUnitWithCoupon();
    const stub = stripeStub();
    vi.spyOn(globalThis, "fetch").mockImplementation(stub.handler);
    const before = await lastAuditId();
    const res = await viaStripe("/api/checkout", s.who.cookie);
    expect(res.status).toBe(201);
    const { orderId } = (await res.json()) as { orderId: string };
    const sessionId = (await orderRow(orderId))!.paymentSessionId!;
    const cancel = await viaStripe(`/api/orders/${orderId}/cancel`, s.who.cookie);
    expect(cancel.status).toBe(200);
    expect(stub.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /v1/coupons",
      "POST /v1/checkout/sessions",
      `POST /v1/checkout/sessions/${sessionId}/expire`,
    ]);
    expect((await orderRow(orderId))?.status).toBe("cancelled");
    expect(await stockOf(s.productId)).toBe(1);
    expect(await ledger(s.code).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
    expect(await auditActionsFor(orderId, before)).toEqual(["checkout.started", "order.cancelled"]);
  });

  it("T08 Stripe says the session completed when the shopper cancels: 409 order_already_paid and nothing is given back", async () => {
    const s = await lastUnitWithCoupon();
    const completed = new Set<string>();
    const stub = stripeStub({ completed });
    vi.spyOn(globalThis, "fetch").mockImplementation(stub.handler);
    const res = await viaStripe("/api/checkout", s.who.cookie);
    const { orderId } = (await res.json()) as { orderId: string };
    completed.add((await orderRow(orderId))!.paymentSessionId!);
    const cancel = await viaStripe(`/api/orders/${orderId}/cancel`, s.who.cookie);
    expect(cancel.status).toBe(409);
    expect(((await cancel.json()) as { code: string }).code).toBe("order_already_paid");
    expect((await orderRow(orderId))?.status).toBe("pending");
    expect(await stockOf(s.productId)).toBe(0);
    expect((await ledger(s.code).snapshot()).reserved).toBe(1);
  });
});

describe("Idempotency-Key replays never hand out a closed order's URL (T08)", { timeout: 60_000 }, () => {
  async function started(key: string): Promise<{ who: SignedIn; orderId: string; checkoutUrl: string }> {
    const who = await signUpAndSignIn();
    const product = await makeProduct({ stock: 5, priceCents: 1500 });
    await cartStubForUser(env, who.user.id).addItem(product.id, 1);
    const res = await request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN, "idempotency-key": key } });
    expect(res.status).toBe(201);
    return { who, ...((await res.json()) as { orderId: string; checkoutUrl: string }) };
  }
  const replay = (who: SignedIn, key: string) =>
    request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN, "idempotency-key": key } });

  it("T08 replaying the key of a cancelled, expired or paid order is 409 checkout_closed with no URL; an open one still gets its URL", async () => {
    for (const close of ["cancel", "expire", "pay"] as const) {
      const key = `key-${close}-${crypto.randomUUID()}`;
      const s = await started(key);
      const again = await replay(s.who, key);
      expect(again.status).toBe(201);
      expect(await again.json()).toEqual({ orderId: s.orderId, checkoutUrl: s.checkoutUrl });
      if (close === "cancel")
        expect((await request(`/api/orders/${s.orderId}/cancel`, { method: "POST", headers: { cookie: s.who.cookie, origin: ORIGIN } })).status).toBe(200);
      else
        await request(new URL(s.checkoutUrl).pathname, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
          body: `outcome=${close === "pay" ? "paid" : "expired"}`,
        });
      const ordersBefore = await env.DB.prepare("SELECT count(*) AS n FROM orders WHERE user_id = ?").bind(s.who.user.id).first<{ n: number }>();
      const res = await replay(s.who, key);
      expect(res.status).toBe(409);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.code).toBe("checkout_closed");
      expect(JSON.stringify(body)).not.toContain(s.checkoutUrl);
      const ordersAfter = await env.DB.prepare("SELECT count(*) AS n FROM orders WHERE user_id = ?").bind(s.who.user.id).first<{ n: number }>();
      expect(ordersAfter?.n).toBe(ordersBefore?.n);
    }
  });

  it("T08 replaying the key of an order whose payment is in flight is 409 payment_processing with no URL", async () => {
    const key = `key-inflight-${crypto.randomUUID()}`;
    const s = await started(key);
    const pay = await request(new URL(s.checkoutUrl).pathname, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: "outcome=processing",
      redirect: "manual",
    });
    expect(pay.status).toBe(303);
    const res = await replay(s.who, key);
    expect(res.status).toBe(409);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.code).toBe("payment_processing");
    expect(JSON.stringify(body)).not.toContain(s.checkoutUrl);
  });
});
