import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { cartStubForUser } from "../../src/cart/cart";
import { SETUP_WINDOW_MS, SWEEP_GRACE_SECONDS } from "../../src/checkout/lifecycle";
import { lastAuditId } from "../support/audit";
import { ledger } from "../support/coupons";
import { ORIGIN, request } from "../support/http";
import { auditActionsFor, expiredEventFor, makeHeldOrder, makePendingOrder, orderRow, stockOf } from "../support/orders";
import { deliverEvent, stripeStub } from "../support/stripe";

// Issue 20 §7 (T08): nothing depends on one webhook arriving. The Cron Trigger's sweeper expires
// pending orders past their session's `expires_at` at the provider and gives their holds back
// once; in development the simulator expires its own sessions when their time is up.

const stripeEnv = () => ({ ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" }) as Env;
const cron = (at: number) => createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" });

afterEach(() => vi.restoreAllMocks());

describe("the order sweeper (Cron Trigger)", { timeout: 60_000 }, () => {
  it("T08 a pending order whose expired event never came is expired at Stripe and closed once, even by two overlapping runs; a later webhook changes nothing", async () => {
    const h = await makeHeldOrder({ provider: "stripe" });
    const stub = stripeStub();
    vi.spyOn(globalThis, "fetch").mockImplementation(stub.handler);
    const expiresMs = h.order.paymentExpiresAt! * 1000;
    // Before expires_at + grace: not stale yet.
    await worker.scheduled(cron(expiresMs + (SWEEP_GRACE_SECONDS - 60) * 1000), stripeEnv());
    expect((await orderRow(h.order.id))?.status).toBe("pending");
    expect(stub.calls.filter((c) => c.path.endsWith(`${h.sessionId}/expire`))).toHaveLength(0);

    const before = await lastAuditId();
    const at = expiresMs + (SWEEP_GRACE_SECONDS + 60) * 1000;
    await Promise.all([worker.scheduled(cron(at), stripeEnv()), worker.scheduled(cron(at), stripeEnv())]);
    expect((await orderRow(h.order.id))?.status).toBe("expired");
    expect(await stockOf(h.productId)).toBe(5);
    expect(await ledger(h.couponCode).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
    expect((await cartStubForUser(env, h.userId).getState()).state.status).toBe("open");
    expect(await auditActionsFor(h.order.id, before)).toEqual(["order.expired"]);
    expect(stub.calls.filter((c) => c.path.endsWith(`${h.sessionId}/expire`)).length).toBeGreaterThanOrEqual(1);

    // Stripe's own expired event arrives after all: recorded, nothing given back twice.
    vi.restoreAllMocks();
    expect((await deliverEvent(expiredEventFor(h))).status).toBe(200);
    expect(await stockOf(h.productId)).toBe(5);
    expect(await auditActionsFor(h.order.id, before)).toEqual(["order.expired"]);
  });

  it("T08 an order whose checkout died before storing a session is expired after the setup window; a younger one is left to its checkout", async () => {
    const { order: orphan, productId } = await makePendingOrder({ paymentSessionId: null, stockLeft: 3, quantity: 2 });
    await env.DB.prepare("UPDATE orders SET created_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - SETUP_WINDOW_MS - 60_000).toISOString(), orphan.id)
      .run();
    const { order: young } = await makePendingOrder({ paymentSessionId: null });
    const before = await lastAuditId();
    await worker.scheduled(cron(Date.now()), env);
    expect((await orderRow(orphan.id))?.status).toBe("expired");
    expect(await stockOf(productId)).toBe(5);
    expect((await orderRow(young.id))?.status).toBe("pending");
    expect(await auditActionsFor(orphan.id, before)).toEqual(["order.expired"]);
  });

  it("T08 Stripe unreachable during a sweep: the order is left as it was and the next run closes it", async () => {
    const h = await makeHeldOrder({ provider: "stripe" });
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("down", { status: 503 }));
    const at = h.order.paymentExpiresAt! * 1000 + (SWEEP_GRACE_SECONDS + 60) * 1000;
    await worker.scheduled(cron(at), stripeEnv());
    expect(await orderRow(h.order.id)).toMatchObject({ status: "pending", paymentInFlight: false });
    expect(await stockOf(h.productId)).toBe(3);
    vi.restoreAllMocks();
    vi.spyOn(globalThis, "fetch").mockImplementation(stripeStub().handler);
    await worker.scheduled(cron(at + 5 * 60 * 1000), stripeEnv());
    expect((await orderRow(h.order.id))?.status).toBe("expired");
    expect(await stockOf(h.productId)).toBe(5);
  });

  it("T08 the simulator expires a session by itself when its time is up: Stripe's expired event closes the order once, and the page can no longer pay it", async () => {
    const h = await makeHeldOrder();
    const before = await lastAuditId();
    await worker.scheduled(cron(h.order.paymentExpiresAt! * 1000 + 1000), env);
    expect((await orderRow(h.order.id))?.status).toBe("expired");
    expect(await stockOf(h.productId)).toBe(5);
    expect(await ledger(h.couponCode).snapshot()).toMatchObject({ committed: 0, reserved: 0 });
    const kinds = await env.DB.prepare("SELECT kind FROM payment_events WHERE order_id = ? AND kind = 'checkout.session.expired'").bind(h.order.id).all();
    expect(kinds.results).toHaveLength(1);
    // Delivered as Stripe would: by the webhook handler, audited as Stripe's doing.
    expect(await auditActionsFor(h.order.id, before)).toEqual(["order.expired"]);
    const pay = await request(`/dev/pay/${h.sessionId}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: "outcome=paid",
      redirect: "manual",
    });
    expect(pay.status).toBe(409);
    expect(await (await request(`/dev/pay/${h.sessionId}`)).text()).toContain("closed (expired)");
  });
});
