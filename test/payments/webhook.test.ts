import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import type { OrderRow } from "../../src/checkout/schema";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";
import { makePendingOrder, orderRow, processedCount, stockOf, timelineKinds } from "../support/orders";
import { chargeRefundedEvent, deliverEvent, postWebhook, sessionEvent, signedEvent, signStripePayload, stripeChanges, WEBHOOK_SECRET } from "../support/stripe";

/** A checkout.session.completed event that matches the order in every field. */
function paidEvent(order: OrderRow, overrides: Partial<Parameters<typeof sessionEvent>[0]> = {}) {
  return sessionEvent({
    type: "checkout.session.completed",
    sessionId: order.paymentSessionId!,
    orderId: order.id,
    amountTotal: order.totalCents,
    currency: order.currency,
    paymentStatus: "paid",
    ...overrides,
  });
}

function expiredEvent(order: OrderRow, overrides: Partial<Parameters<typeof sessionEvent>[0]> = {}) {
  return sessionEvent({
    type: "checkout.session.expired",
    sessionId: order.paymentSessionId!,
    orderId: order.id,
    amountTotal: order.totalCents,
    currency: order.currency,
    paymentStatus: "unpaid",
    ...overrides,
  });
}

/** Calls the worker with a changed env (another config), through the same pipeline. */
async function fetchWithEnv(overrides: Record<string, string>, path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(new URL(path, ORIGIN), init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function expectProblem(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(((await res.json()) as { code: string }).code).toBe(code);
}

describe("POST /api/webhooks/stripe: fulfilment", () => {
  it("a verified matching checkout.session.completed pays the order once, with its payment intent", async () => {
    const { order } = await makePendingOrder();
    const event = paidEvent(order, { paymentIntentId: "pi_test_123" });
    const res = await deliverEvent(event);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true });
    const row = await orderRow(order.id);
    expect(row?.status).toBe("paid");
    expect(row?.paidAt).not.toBeNull();
    expect(row?.paymentIntentId).toBe("pi_test_123");
    expect(await processedCount(event.id as string)).toBe(1);
    expect(await timelineKinds(order.id)).toEqual(["checkout.session.completed"]);
  });

  it("checkout.session.expired closes a pending order and gives its stock back, once", async () => {
    const { order, productId } = await makePendingOrder({ quantity: 3, stockLeft: 4 });
    const event = expiredEvent(order);
    expect((await deliverEvent(event)).status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("expired");
    expect(await stockOf(productId)).toBe(7);
    // The same event again (Stripe retry) gives nothing back twice.
    expect((await deliverEvent(event)).status).toBe(200);
    expect(await stockOf(productId)).toBe(7);
    // Another expired event id for the same session: the order is no longer pending.
    expect((await deliverEvent(expiredEvent(order))).status).toBe(200);
    expect(await stockOf(productId)).toBe(7);
  });

  it("async_payment_succeeded pays; async_payment_failed cancels and restocks", async () => {
    const a = await makePendingOrder();
    await deliverEvent(paidEvent(a.order, { type: "checkout.session.async_payment_succeeded" }));
    expect((await orderRow(a.order.id))?.status).toBe("paid");

    const b = await makePendingOrder({ quantity: 1, stockLeft: 0 });
    await deliverEvent(paidEvent(b.order, { type: "checkout.session.async_payment_failed", paymentStatus: "unpaid" }));
    expect((await orderRow(b.order.id))?.status).toBe("cancelled");
    expect(await stockOf(b.productId)).toBe(1);
  });

  it("charge.refunded moves a paid order to refunded; a partial refund keeps it paid", async () => {
    const full = await makePendingOrder({ status: "paid", paymentIntentId: "pi_full_1" });
    await deliverEvent(chargeRefundedEvent({ paymentIntentId: "pi_full_1", amount: full.order.totalCents }));
    expect((await orderRow(full.order.id))?.status).toBe("refunded");

    const partial = await makePendingOrder({ status: "paid", paymentIntentId: "pi_partial_1" });
    await deliverEvent(chargeRefundedEvent({ paymentIntentId: "pi_partial_1", amount: partial.order.totalCents, amountRefunded: 100 }));
    expect((await orderRow(partial.order.id))?.status).toBe("paid");
  });

  it("an event type the shop does not use, or for an unknown order, is acknowledged and changes nothing", async () => {
    const before = await processedCount();
    const res = await deliverEvent({
      id: "evt_ignored_1",
      object: "event",
      type: "customer.created",
      livemode: false,
      created: 1,
      data: { object: { id: "cus_1" } },
    });
    expect(res.status).toBe(200);
    expect(await processedCount()).toBe(before);
    const unknown = sessionEvent({
      type: "checkout.session.completed",
      sessionId: "cs_test_nobody",
      orderId: "ord_nobody",
      amountTotal: 1,
      currency: "usd",
      paymentStatus: "paid",
    });
    expect((await deliverEvent(unknown)).status).toBe(200);
  });

  it("the previous signing secret is accepted during rotation", async () => {
    const { order } = await makePendingOrder();
    const event = paidEvent(order);
    const { body, signature } = await signedEvent(event, { secret: "whsec_previous_rotation_secret" });
    await stripeChanges(event);
    const res = await fetchWithEnv({ STRIPE_WEBHOOK_SECRET_PREVIOUS: "whsec_previous_rotation_secret" }, "/api/webhooks/stripe", {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signature },
      body,
    });
    expect(res.status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("paid");
  });
});

describe("T05 / M-007 forged webhooks are refused before parsing, and change nothing", () => {
  const attempts: [string, (order: OrderRow) => Promise<{ body: string; signature: string | null }>][] = [
    ["forged signature", async (o) => ({ body: JSON.stringify(paidEvent(o)), signature: `t=${Math.floor(Date.now() / 1000)},v1=${"ab".repeat(32)}` })],
    ["wrong secret", async (o) => signedEvent(paidEvent(o), { secret: "whsec_attacker_guess" })],
    ["stale timestamp (> 300 s)", async (o) => signedEvent(paidEvent(o), { timestamp: Math.floor(Date.now() / 1000) - 301 })],
    [
      "body altered after signing",
      async (o) => {
        const signed = await signedEvent(paidEvent(o, { amountTotal: 1 }));
        return { body: signed.body.replace('"amount_total":1,', `"amount_total":${o.totalCents},`), signature: signed.signature };
      },
    ],
    ["missing header", async (o) => ({ body: JSON.stringify(paidEvent(o)), signature: null })],
    ["garbage header", async (o) => ({ body: JSON.stringify(paidEvent(o)), signature: "t=abc,v1=zz" })],
  ];
  for (const [i, [name, make]] of attempts.entries()) {
    it(`T05 ${name}: 400 signature_invalid, order unpaid, no event recorded, one audit event`, async () => {
      const ip = `203.0.113.${9 + i}`; // refused requests are audited at most 5 times per address
      const { order } = await makePendingOrder();
      const { body, signature } = await make(order);
      const processedBefore = await processedCount();
      const auditBefore = await lastAuditId();
      await expectProblem(await postWebhook(body, signature, { "cf-connecting-ip": ip }), 400, "signature_invalid");
      expect(await orderRow(order.id)).toEqual(order);
      expect(await processedCount()).toBe(processedBefore);
      expect(await timelineKinds(order.id)).toEqual([]);
      const audit = await auditRowsAfter(auditBefore);
      expect(audit.map((r) => r.action)).toEqual(["payment.webhook_signature_invalid"]);
      expect(audit[0]?.ip).toBe(ip);
    });
  }

  it("T05 a signature over the body is checked before JSON.parse: a malformed body with a bad signature is signature_invalid", async () => {
    await expectProblem(await postWebhook("{not json", `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`), 400, "signature_invalid");
    const sig = await signStripePayload("{not json", WEBHOOK_SECRET);
    await expectProblem(await postWebhook("{not json", sig), 400, "malformed_event");
  });

  it("T05 livemode mismatch: a correctly signed live event on a test-mode shop is refused", async () => {
    const { order } = await makePendingOrder();
    const processedBefore = await processedCount();
    const auditBefore = await lastAuditId();
    await expectProblem(await deliverEvent(paidEvent(order, { livemode: true })), 400, "livemode_mismatch");
    expect(await orderRow(order.id)).toEqual(order);
    expect(await processedCount()).toBe(processedBefore);
    expect((await auditRowsAfter(auditBefore)).map((r) => r.action)).toEqual(["payment.livemode_mismatch"]);
  });

  it("M-010 with STRIPE_WEBHOOK_IPS set, other addresses get 403 and change nothing; listed ones are served", async () => {
    const { order } = await makePendingOrder();
    const event = paidEvent(order);
    const { body, signature } = await signedEvent(event);
    await stripeChanges(event);
    const send = (ip: string) =>
      fetchWithEnv({ STRIPE_WEBHOOK_IPS: "3.18.12.63, 3.130.192.231" }, "/api/webhooks/stripe", {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": signature, "cf-connecting-ip": ip },
        body,
      });
    await expectProblem(await send("198.51.100.7"), 403, "forbidden_source");
    expect(await orderRow(order.id)).toEqual(order);
    expect((await send("3.130.192.231")).status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("paid");
  });
});

describe("T06 / M-008 replayed and concurrent deliveries take effect once", () => {
  it("T06 replay of the same event id: 200, fulfilled once", async () => {
    const { order } = await makePendingOrder();
    const event = paidEvent(order);
    const { body, signature } = await signedEvent(event);
    expect((await postWebhook(body, signature)).status).toBe(200);
    const afterFirst = await orderRow(order.id);
    const auditBefore = await lastAuditId();
    const replay = await postWebhook(body, signature);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ received: true });
    expect(await orderRow(order.id)).toEqual(afterFirst);
    expect(await processedCount(event.id as string)).toBe(1);
    expect(await timelineKinds(order.id)).toEqual(["checkout.session.completed"]);
    expect(await auditRowsAfter(auditBefore)).toEqual([]);
  });

  it("T06 replay after a refund does not pay the order again", async () => {
    const { order } = await makePendingOrder();
    const event = paidEvent(order, { paymentIntentId: "pi_replay_refund" });
    await deliverEvent(event);
    await deliverEvent(chargeRefundedEvent({ paymentIntentId: "pi_replay_refund", amount: order.totalCents }));
    expect((await orderRow(order.id))?.status).toBe("refunded");
    expect((await deliverEvent(event)).status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("refunded");
  });

  it("T06 ten concurrent deliveries of one expired event: one status change, stock back once", async () => {
    const { order, productId } = await makePendingOrder({ quantity: 2, stockLeft: 1 });
    const event = expiredEvent(order);
    const { body, signature } = await signedEvent(event);
    await stripeChanges(event);
    const responses = await Promise.all(Array.from({ length: 10 }, () => postWebhook(body, signature)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await orderRow(order.id))?.status).toBe("expired");
    expect(await stockOf(productId)).toBe(3);
    expect(await processedCount(event.id as string)).toBe(1);
    expect(await timelineKinds(order.id)).toEqual(["checkout.session.expired"]);
  });

  it("T06 ten concurrent deliveries of one completed event: paid once, one timeline entry", async () => {
    const { order } = await makePendingOrder();
    const event = paidEvent(order);
    const { body, signature } = await signedEvent(event);
    await stripeChanges(event);
    const responses = await Promise.all(Array.from({ length: 10 }, () => postWebhook(body, signature)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await orderRow(order.id))?.status).toBe("paid");
    expect(await processedCount(event.id as string)).toBe(1);
    expect(await timelineKinds(order.id)).toEqual(["checkout.session.completed"]);
  });
});

describe("P15 / T08 a completion that does not match the order never pays it", () => {
  /**
   * Stripe completed a payment that does not agree with the order: the order is not paid; it can
   * never be paid by that session again, so it closes with its stock back, and the money is kept
   * as one stray payment for staff to refund (issue 29: no money without a home).
   */
  async function refusedCompletion(change: (o: OrderRow) => Partial<Parameters<typeof sessionEvent>[0]>, action: string): Promise<void> {
    const { order, productId } = await makePendingOrder({ quantity: 2, stockLeft: 3 });
    const auditBefore = await lastAuditId();
    const res = await deliverEvent(paidEvent(order, { paymentIntentId: `pi_refused_${order.id.slice(4, 20)}`, ...change(order) }));
    expect(res.status).toBe(200);
    const after = await orderRow(order.id);
    expect(after).toMatchObject({ status: "cancelled", paidAt: null, paymentIntentId: null, taxCents: 0, totalCents: order.totalCents });
    expect(await stockOf(productId)).toBe(5);
    const stray = await env.DB.prepare("SELECT order_id, reason, refund_state FROM stray_payments WHERE order_id = ?").bind(order.id).all();
    expect(stray.results).toEqual([expect.objectContaining({ order_id: order.id, refund_state: "none" })]);
    const audit = await auditRowsAfter(auditBefore);
    expect(audit.map((r) => [r.action, r.subject, r.actor])).toEqual([
      [action, order.id, "stripe"],
      ["payment.after_close", order.id, "stripe"],
    ]);
  }

  it("P15 amount mismatch: the order is not paid, it closes with its stock back, the money is kept for a refund, payment.amount_mismatch", () =>
    refusedCompletion((o) => ({ amountTotal: o.totalCents - 1 }), "payment.amount_mismatch"));
  it("P15 currency mismatch: the order is not paid, it closes with its stock back, the money is kept for a refund, payment.amount_mismatch", () =>
    refusedCompletion(() => ({ currency: "eur" }), "payment.amount_mismatch"));

  it("T08 session id mismatch: a paid session the order does not use leaves the order pending and is kept as a stray payment", async () => {
    const { order } = await makePendingOrder();
    const auditBefore = await lastAuditId();
    const res = await deliverEvent(paidEvent(order, { sessionId: "cs_test_someoneelsessession", paymentIntentId: `pi_other_${order.id.slice(4, 20)}` }));
    expect(res.status).toBe(200);
    expect(await orderRow(order.id)).toEqual(order);
    const audit = await auditRowsAfter(auditBefore);
    expect(audit.map((r) => [r.action, r.subject, r.actor])).toEqual([
      ["payment.after_close", order.id, "stripe"],
      ["payment.session_mismatch", order.id, "stripe"],
    ]);
  });

  it("P15 a correctly signed event that claims a payment Stripe does not have pays nothing: the provider's state decides", async () => {
    const { order } = await makePendingOrder();
    const auditBefore = await lastAuditId();
    // Stripe's state says the session is still open; the event (replayed, or sent by mistake) says paid.
    const res = await deliverEvent(paidEvent(order, { type: "checkout.session.async_payment_succeeded" }), { stale: true });
    expect(res.status).toBe(200);
    expect(await orderRow(order.id)).toEqual(order);
    expect(await auditRowsAfter(auditBefore)).toEqual([]);
  });

  it("P15 an unpaid completion followed by async_payment_succeeded pays the order", async () => {
    const { order } = await makePendingOrder();
    await deliverEvent(paidEvent(order, { paymentStatus: "unpaid" }));
    expect((await orderRow(order.id))?.status).toBe("pending");
    await deliverEvent(paidEvent(order, { type: "checkout.session.async_payment_succeeded" }));
    expect((await orderRow(order.id))?.status).toBe("paid");
  });
});

describe("out-of-order events: the state machine only moves forward", () => {
  it("expired after paid does not un-pay or restock", async () => {
    const { order, productId } = await makePendingOrder({ quantity: 2, stockLeft: 5 });
    await deliverEvent(paidEvent(order));
    const paid = await orderRow(order.id);
    expect((await deliverEvent(expiredEvent(order))).status).toBe(200);
    expect(await orderRow(order.id)).toEqual(paid);
    expect(await stockOf(productId)).toBe(5);
  });

  it("completed after expired does not pay, and tells staff money arrived for a closed order", async () => {
    const { order } = await makePendingOrder();
    await deliverEvent(expiredEvent(order));
    const expired = await orderRow(order.id);
    const auditBefore = await lastAuditId();
    expect((await deliverEvent(paidEvent(order))).status).toBe(200);
    expect(await orderRow(order.id)).toEqual(expired);
    expect((await auditRowsAfter(auditBefore)).map((r) => r.action)).toEqual(["payment.after_close"]);
  });

  it("a refund for a pending order does nothing", async () => {
    const { order } = await makePendingOrder({ paymentIntentId: "pi_pending_refund" });
    await deliverEvent(chargeRefundedEvent({ paymentIntentId: "pi_pending_refund", amount: order.totalCents }));
    expect((await orderRow(order.id))?.status).toBe("pending");
  });
});

describe("a webhook racing the checkout write", () => {
  it("T06 a completed event that arrives before the session id is stored is not recorded: Stripe's retry pays the order once", async () => {
    const { order } = await makePendingOrder({ paymentSessionId: null });
    const event = sessionEvent({
      type: "checkout.session.completed",
      sessionId: "cs_test_racewindow1",
      orderId: order.id,
      amountTotal: order.totalCents,
      currency: order.currency,
      paymentStatus: "paid",
      eventId: "evt_race_window_1",
    });
    const early = await deliverEvent(event);
    expect(early.status).toBe(503);
    expect(((await early.json()) as { code: string }).code).toBe("order_not_ready");
    expect(await processedCount("evt_race_window_1")).toBe(0);
    expect((await orderRow(order.id))?.status).toBe("pending");
    await env.DB.prepare("UPDATE orders SET payment_session_id = 'cs_test_racewindow1' WHERE id = ?").bind(order.id).run();
    expect((await deliverEvent(event)).status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("paid");
    expect(await processedCount("evt_race_window_1")).toBe(1);
  });
});
