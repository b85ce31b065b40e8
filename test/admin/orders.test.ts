import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import app from "../../src/index";
import { deliverEvent, sessionEvent, stripeStub } from "../support/stripe";
import { makeStaff, signUpAndSignIn } from "../support/accounts";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { unique } from "../support/factories";
import { expiredEventFor, makeHeldOrder, makePendingOrder, orderRow, timelineKinds } from "../support/orders";

afterEach(() => vi.restoreAllMocks());

function intent(): string {
  return `pi_test_${crypto.randomUUID().replaceAll("-", "")}`;
}

function refund(orderId: string, headers: Record<string, string>): Promise<Response> {
  return request(`/api/admin/orders/${orderId}/refund`, { method: "POST", headers: { ...headers, origin: "http://localhost:8787" } });
}

/** A fresh admin of its own (so aging its session does not touch other tests' admin). */
async function freshAdmin(): Promise<{ headers: Record<string, string>; id: string }> {
  const who = await makeStaff("admin");
  return { headers: { cookie: who.cookie }, id: who.user.id };
}

async function ageSession(userId: string): Promise<void> {
  await env.DB.prepare("UPDATE session SET created_at = created_at - 660000 WHERE user_id = ?").bind(userId).run();
}

describe("staff API: orders", { timeout: 30_000 }, () => {
  it("lists orders newest first, filtered by status and by customer email or id, with a cursor", async () => {
    const admin = await as("admin");
    const shopper = await signUpAndSignIn();
    const paid = await makePendingOrder({ userId: shopper.user.id, status: "paid", paymentIntentId: intent() });
    const pending = await makePendingOrder({ userId: shopper.user.id });
    await makePendingOrder({ status: "paid", paymentIntentId: intent() });

    const byEmail = (await (await request(`/api/admin/orders?customer=${encodeURIComponent(shopper.email.toUpperCase())}`, { headers: admin })).json()) as {
      items: { id: string; customerEmail: string }[];
    };
    expect(byEmail.items.map((o) => o.id).sort()).toEqual([paid.order.id, pending.order.id].sort());
    expect(byEmail.items[0]!.customerEmail).toBe(shopper.email);
    const byIdAndStatus = (await (await request(`/api/admin/orders?customer=${shopper.user.id}&status=paid`, { headers: admin })).json()) as {
      items: { id: string }[];
    };
    expect(byIdAndStatus.items.map((o) => o.id)).toEqual([paid.order.id]);
    const nobody = (await (await request("/api/admin/orders?customer=nobody@example.com", { headers: admin })).json()) as { items: unknown[] };
    expect(nobody.items).toEqual([]);

    const first = (await (await request(`/api/admin/orders?customer=${shopper.user.id}&limit=1`, { headers: admin })).json()) as {
      items: { id: string }[];
      nextCursor: string;
    };
    expect(first.nextCursor).toBeTruthy();
    const second = (await (
      await request(`/api/admin/orders?customer=${shopper.user.id}&limit=1&cursor=${encodeURIComponent(first.nextCursor)}`, { headers: admin })
    ).json()) as { items: { id: string }[]; nextCursor: string | null };
    expect([...first.items, ...second.items].map((o) => o.id).sort()).toEqual([paid.order.id, pending.order.id].sort());
    expect(second.nextCursor).toBeNull();
    expect((await request("/api/admin/orders?status=shipped", { headers: admin })).status).toBe(400);
    expect((await request("/api/admin/orders?cursor=garbage", { headers: admin })).status).toBe(400);
  });

  it("support reads the list and an order with its timeline and customer email (P16: reading is all support may do)", async () => {
    const support = await as("support");
    const shopper = await signUpAndSignIn();
    const { order } = await makePendingOrder({ userId: shopper.user.id, status: "paid", paymentIntentId: intent() });
    await env.DB.prepare("INSERT INTO payment_events (id, order_id, kind, detail) VALUES (?, ?, ?, ?)")
      .bind(unique("pev"), order.id, "checkout.session.completed", "")
      .run();
    const list = await request("/api/admin/orders", { headers: support });
    expect(list.status).toBe(200);
    const res = await request(`/api/admin/orders/${order.id}`, { headers: support });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; customerEmail: string; items: unknown[]; timeline: { kind: string }[] };
    expect(body).toMatchObject({ id: order.id, status: "paid", customerEmail: shopper.email, userId: shopper.user.id });
    expect(body.items).toHaveLength(1);
    expect(body.timeline.map((t) => t.kind)).toEqual(["checkout.session.completed"]);
    expect((await request("/api/admin/orders/ord_missing", { headers: support })).status).toBe(404);
  });

  it("P16 support cannot refund: 403 forbidden, the order stays paid, nothing is audited or added to the timeline", async () => {
    const support = await as("support");
    const { order } = await makePendingOrder({ status: "paid", paymentIntentId: intent() });
    const before = await lastAuditId();
    const res = await refund(order.id, support);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("forbidden");
    expect((await orderRow(order.id))!.status).toBe("paid");
    expect(await timelineKinds(order.id)).toEqual([]);
    expect(await lastAuditId()).toBe(before);
  });

  it("an admin refunds a paid order: order.refund_requested is audited, the simulator delivers charge.refunded, the order becomes refunded; a second refund is 409", async () => {
    const admin = await freshAdmin();
    const { order } = await makePendingOrder({ status: "paid", paymentIntentId: intent() });
    const before = await lastAuditId();
    const res = await refund(order.id, admin.headers);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { refundId: string; status: string; amountCents: number };
    expect(body).toMatchObject({ orderId: order.id, status: "refunded", amountCents: order.totalCents });
    expect(body.refundId).toMatch(/^re_test_/);
    expect((await orderRow(order.id))!.status).toBe("refunded");
    expect(await timelineKinds(order.id)).toEqual(["charge.refunded"]);
    const events = await auditRowsAfter(before);
    expect(events[0]!).toMatchObject({ action: "order.refund_requested", actor: admin.id, subject: order.id });
    const count = events.length;
    // Written before the provider call (fail closed), so it names the provider request (its idempotency key), not the refund id.
    expect(JSON.parse(events[0]!.detail)).toMatchObject({
      request: expect.stringMatching(/^refund:rf_[0-9a-f]{32}$/),
      amountCents: order.totalCents,
      currency: "USD",
      provider: "simulator",
    });

    const again = await refund(order.id, admin.headers);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe("order_not_refundable");
    expect((await auditRowsAfter(before)).length).toBe(count);
  });

  it("only paid orders can be refunded: pending, expired and unknown orders are refused and unchanged", async () => {
    const admin = await freshAdmin();
    const pending = await makePendingOrder();
    const expired = await makePendingOrder({ status: "expired" });
    const before = await lastAuditId();
    for (const o of [pending.order, expired.order]) {
      const res = await refund(o.id, admin.headers);
      expect(res.status).toBe(409);
      expect((await orderRow(o.id))!.status).toBe(o.status);
    }
    expect((await refund("ord_missing", admin.headers)).status).toBe(404);
    expect(await lastAuditId()).toBe(before);
  });

  it("P16 a refund with a sign-in older than 10 minutes is 403 reauth_required and changes nothing", async () => {
    const admin = await freshAdmin();
    await ageSession(admin.id);
    const { order } = await makePendingOrder({ status: "paid", paymentIntentId: intent() });
    const before = await lastAuditId();
    const res = await refund(order.id, admin.headers);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("reauth_required");
    expect((await orderRow(order.id))!.status).toBe("paid");
    expect(await timelineKinds(order.id)).toEqual([]);
    expect(await lastAuditId()).toBe(before);
    // Reading still works: only the sensitive action needs the fresh sign-in.
    expect((await request(`/api/admin/orders/${order.id}`, { headers: admin.headers })).status).toBe(200);
  });

  it("P16 a customer cannot refund their own paid order through the staff API", async () => {
    const shopper = await signUpAndSignIn();
    const { order } = await makePendingOrder({ userId: shopper.user.id, status: "paid", paymentIntentId: intent() });
    const before = await lastAuditId();
    const res = await sendJson("POST", `/api/admin/orders/${order.id}/refund`, {}, { cookie: shopper.cookie });
    expect(res.status).toBe(403);
    expect((await orderRow(order.id))!.status).toBe("paid");
    expect(await lastAuditId()).toBe(before);
  });
});

describe("money received after an order closed (issue 20 §5, T06)", { timeout: 60_000 }, () => {
  /** An expired order that then received a late card payment (a signed completed event). */
  async function strayPayment(): Promise<{ orderId: string; amount: number; paymentIntentId: string }> {
    const h = await makeHeldOrder();
    expect((await deliverEvent(expiredEventFor(h))).status).toBe(200);
    const late = sessionEvent({
      type: "checkout.session.completed",
      sessionId: h.sessionId,
      orderId: h.order.id,
      amountTotal: h.order.totalCents,
      currency: "usd",
      paymentStatus: "paid",
      paymentIntentId: h.paymentIntentId,
    });
    expect((await deliverEvent(late)).status).toBe(200);
    expect((await deliverEvent(late)).status).toBe(200); // Stripe's retry records it once
    return { orderId: h.order.id, amount: h.order.totalCents, paymentIntentId: h.paymentIntentId };
  }

  it("T06 staff refund money received for an expired order once: the order page shows it, two concurrent refunds make one provider refund and one audit row, a third is refused", async () => {
    const admin = await freshAdmin();
    const stray = await strayPayment();
    const shown = (await (await request(`/api/admin/orders/${stray.orderId}`, { headers: admin.headers })).json()) as {
      status: string;
      paymentsAfterClose: { amountCents: number; refundId: string | null }[];
    };
    expect(shown.status).toBe("expired");
    expect(shown.paymentsAfterClose).toEqual([expect.objectContaining({ amountCents: stray.amount, currency: "usd", refundId: null })]);
    const page = await (await request(`/admin/orders/${stray.orderId}`, { headers: admin.headers })).text();
    expect(page).toContain("Payments received after the order closed");
    expect(page).toContain("Refund the payment received after close");

    const stub = stripeStub();
    vi.spyOn(globalThis, "fetch").mockImplementation(stub.handler);
    const stripeEnv = { ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" } as Env;
    const viaStripe = async () => {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request(`http://localhost:8787/api/admin/orders/${stray.orderId}/refund`, {
          method: "POST",
          headers: { ...admin.headers, origin: "http://localhost:8787" },
        }),
        stripeEnv,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    const before = await lastAuditId();
    const both = await Promise.all([viaStripe(), viaStripe()]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 409]);
    const refunds = stub.calls.filter((c) => c.path === "/v1/refunds");
    expect(refunds).toHaveLength(1);
    expect(refunds[0]!.form.get("payment_intent")).toBe(stray.paymentIntentId);
    expect(refunds[0]!.form.get("amount")).toBe(String(stray.amount));
    // One refund per payment: the key is the payment intent (src/checkout/stray-payments.ts).
    expect(refunds[0]!.idempotencyKey).toBe(`refund:${stray.paymentIntentId}`);
    expect((await viaStripe()).status).toBe(409);
    expect(stub.calls.filter((c) => c.path === "/v1/refunds")).toHaveLength(1);
    vi.restoreAllMocks();

    const audit = await auditRowsAfter(before);
    expect(audit.map((r) => [r.action, r.subject, r.actor])).toEqual([
      ["payment.after_close_refund_requested", stray.orderId, admin.id],
      ["payment.after_close_refunded", stray.orderId, admin.id],
    ]);
    expect(JSON.parse(audit[0]!.detail!)).toMatchObject({ amountCents: stray.amount, currency: "usd", provider: "stripe" });
    const after = (await (await request(`/api/admin/orders/${stray.orderId}`, { headers: admin.headers })).json()) as {
      status: string;
      paymentsAfterClose: { refundId: string | null }[];
    };
    expect(after.status).toBe("expired");
    expect(after.paymentsAfterClose[0]!.refundId).toMatch(/^re_/);
    expect(await (await request(`/admin/orders/${stray.orderId}`, { headers: admin.headers })).text()).not.toContain("Refund the payment received after close");
  });

  it("T06 a refused provider refund withdraws the claim, so staff can retry; a closed order without stray money is not refundable", async () => {
    const admin = await freshAdmin();
    const stray = await strayPayment();
    vi.spyOn(globalThis, "fetch").mockImplementation(stripeStub({ refundsFail: true }).handler);
    const stripeEnv = { ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" } as Env;
    const ctx = createExecutionContext();
    const before = await lastAuditId();
    const failed = await app.fetch(
      new Request(`http://localhost:8787/api/admin/orders/${stray.orderId}/refund`, {
        method: "POST",
        headers: { ...admin.headers, origin: "http://localhost:8787" },
      }),
      stripeEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    vi.restoreAllMocks();
    expect(failed.status).toBe(502);
    // The request was on the record before the provider was asked (fail closed), then its failure.
    expect((await auditRowsAfter(before)).map((r) => r.action)).toEqual(["payment.after_close_refund_requested", "payment.after_close_refund_failed"]);
    // With the simulator (the provider back): the retry refunds.
    const retried = await refund(stray.orderId, admin.headers);
    expect(retried.status).toBe(202);
    expect((await retried.json()) as object).toMatchObject({ orderId: stray.orderId, amountCents: stray.amount, status: "expired" });

    const quiet = await makeHeldOrder();
    await deliverEvent(expiredEventFor(quiet));
    const none = await refund(quiet.order.id, admin.headers);
    expect(none.status).toBe(409);
    expect(((await none.json()) as { code: string }).code).toBe("order_not_refundable");
  });
});
