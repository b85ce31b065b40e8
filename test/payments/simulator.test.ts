import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import { getDb } from "../../src/db/client";
import { createSimulatorSession } from "../../src/payments/simulator-store";
import { ORIGIN, request } from "../support/http";
import { makePendingOrder, orderRow, processedCount, stockOf } from "../support/orders";

/** A pending order whose payment session is a real simulator session. */
async function orderWithSimulatorSession(opts: { quantity?: number; stockLeft?: number } = {}) {
  const made = await makePendingOrder({ ...opts, paymentSessionId: null });
  const sessionId = await createSimulatorSession(getDb(env.DB), {
    orderId: made.order.id,
    amountTotal: made.order.totalCents,
    currency: "usd",
    successUrl: `${ORIGIN}/orders/${made.order.id}?status=success`,
    cancelUrl: `${ORIGIN}/orders/${made.order.id}?status=cancelled`,
    expiresAt: Math.floor(Date.now() / 1000) + 1860,
    idempotencyKey: `checkout:${made.order.id}`,
  });
  await env.DB.prepare("UPDATE orders SET payment_session_id = ? WHERE id = ?").bind(sessionId, made.order.id).run();
  return { ...made, sessionId };
}

function submit(sessionId: string, outcome: string): Promise<Response> {
  return request(`/dev/pay/${sessionId}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
    body: new URLSearchParams({ outcome }).toString(),
    redirect: "manual",
  });
}

async function fetchWithEnv(overrides: Record<string, string>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(new URL(path, ORIGIN), init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("payment simulator (/dev/pay)", () => {
  it("renders a hosted-checkout-like page with the amount, and no third-party script", async () => {
    const { sessionId } = await orderWithSimulatorSession();
    const res = await request(`/dev/pay/${sessionId}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("$25.00");
    expect(html).toContain('value="paid"');
    expect(html).toContain('value="expired"');
    expect(html).not.toMatch(/<script[^>]+src="https?:/);
  });

  it("outcome=paid delivers a signed checkout.session.completed through the webhook handler and 303s to the success page", async () => {
    const { order, sessionId } = await orderWithSimulatorSession();
    const before = await processedCount();
    const res = await submit(sessionId, "paid");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${ORIGIN}/orders/${order.id}?status=success`);
    const row = await orderRow(order.id);
    expect(row?.status).toBe("paid");
    expect(row?.paymentIntentId).toMatch(/^pi_test_/);
    expect(await processedCount()).toBe(before + 1);
    // The session is closed: a second submission (double click, replayed form) changes nothing.
    expect((await submit(sessionId, "expired")).status).toBe(409);
    expect((await orderRow(order.id))?.status).toBe("paid");
    expect(await (await request(`/dev/pay/${sessionId}`)).text()).toContain("closed (paid)");
  });

  it("T06 a bank transfer in the simulator: completed unpaid, then async_payment_succeeded or _failed, each once, in Stripe's formats", async () => {
    for (const settle of ["succeeded", "failed"] as const) {
      const { order, sessionId, productId } = await orderWithSimulatorSession({ quantity: 1, stockLeft: 4 });
      const started = await submit(sessionId, "processing");
      expect(started.status).toBe(303);
      expect(await orderRow(order.id)).toMatchObject({ status: "pending", paymentInFlight: true });
      const page = await (await request(`/dev/pay/${sessionId}`)).text();
      expect(page).toContain('value="succeeded"');
      expect(page).toContain('value="failed"');
      // Only a processing session settles, and only once; it cannot be "paid" again or expired.
      expect((await submit(sessionId, "paid")).status).toBe(409);
      expect((await submit(sessionId, settle)).status).toBe(303);
      expect((await submit(sessionId, settle === "succeeded" ? "failed" : "succeeded")).status).toBe(409);
      const events = await env.DB.prepare("SELECT e.type FROM processed_webhook_events e WHERE e.order_id = ? ORDER BY e.received_at, e.rowid")
        .bind(order.id)
        .all<{ type: string }>();
      expect(events.results.map((r) => r.type)).toEqual(["checkout.session.completed", `checkout.session.async_payment_${settle}`]);
      expect(await orderRow(order.id)).toMatchObject({ status: settle === "succeeded" ? "paid" : "cancelled", paymentInFlight: false });
      expect(await stockOf(productId)).toBe(settle === "succeeded" ? 4 : 5);
    }
  });

  it("a session whose order is not free cannot be completed as no_payment_required, and an unknown outcome is 422", async () => {
    const { order, sessionId } = await orderWithSimulatorSession();
    expect((await submit(sessionId, "no_payment_required")).status).toBe(422);
    expect((await submit(sessionId, "succeeded")).status).toBe(409);
    expect((await orderRow(order.id))?.status).toBe("pending");
  });

  it("outcome=expired expires the order, restores its stock and 303s to the cancel page", async () => {
    const { order, productId, sessionId } = await orderWithSimulatorSession({ quantity: 2, stockLeft: 3 });
    const res = await submit(sessionId, "expired");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${ORIGIN}/orders/${order.id}?status=cancelled`);
    expect((await orderRow(order.id))?.status).toBe("expired");
    expect(await stockOf(productId)).toBe(5);
  });

  it("an unknown session or outcome changes nothing", async () => {
    expect((await request("/dev/pay/cs_test_doesnotexist")).status).toBe(404);
    const { order, sessionId } = await orderWithSimulatorSession();
    expect((await submit(sessionId, "refunded")).status).toBe(422);
    expect((await orderRow(order.id))?.status).toBe("pending");
  });

  it("the simulator signs with the configured secret: with a different webhook secret its events still verify", async () => {
    const { order, sessionId } = await orderWithSimulatorSession();
    const res = await fetchWithEnv({ STRIPE_WEBHOOK_SECRET: "whsec_other_dev_secret" }, `/dev/pay/${sessionId}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "outcome=paid",
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect((await orderRow(order.id))?.status).toBe("paid");
  });
});

describe("development routes exist only in development", () => {
  for (const [name, overrides] of [
    ["ENVIRONMENT=test", { ENVIRONMENT: "test" }],
    ["DEV_ROUTES=off", { DEV_ROUTES: "off" }],
  ] as const) {
    it(`P17 with ${name}, GET and POST /dev/pay/* are 404 and pay nothing`, async () => {
      const { order, sessionId } = await orderWithSimulatorSession();
      expect((await fetchWithEnv(overrides, `/dev/pay/${sessionId}`)).status).toBe(404);
      const post = await fetchWithEnv(overrides, `/dev/pay/${sessionId}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "outcome=paid",
        redirect: "manual",
      });
      expect(post.status).toBe(404);
      expect((await orderRow(order.id))?.status).toBe("pending");
    });
  }

  it("P17 a production worker refuses the simulator outright (config gate)", async () => {
    const res = await fetchWithEnv({ ENVIRONMENT: "production", PAYMENTS_PROVIDER: "simulator" }, "/dev/pay/cs_test_x");
    expect(res.status).toBe(503);
  });
});
