import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { appRequest, as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";
import { expiredEventFor, makeHeldOrder, paidEventFor } from "../support/orders";
import { deliverEvent, sessionEvent } from "../support/stripe";

// Issue 29: money without a home. Staff see every payment the shop received but will not fulfil,
// with or without an order, and refund each once.

type Stray = { id: string; orderId: string | null; amountCents: number; reason: string; refundState: string; refundId: string | null };

async function list(state: "open" | "all" = "open", role: "admin" | "support" = "admin"): Promise<Response> {
  return appRequest(`/api/admin/stray-payments?state=${state}`, { headers: await as(role) });
}

async function refund(id: string, role: "admin" | "support" | "customer" = "admin"): Promise<Response> {
  return appRequest(`/api/admin/stray-payments/${encodeURIComponent(id)}/refund`, { method: "POST", headers: { ...(await as(role)), origin: ORIGIN } });
}

async function strayRow(id: string) {
  return env.DB.prepare("SELECT refund_state, refund_id FROM stray_payments WHERE id = ?").bind(id).first<{ refund_state: string; refund_id: string | null }>();
}

/** A payment for an order that does not exist: Stripe took the money, no order matches it. */
async function paymentWithoutOrder(): Promise<string> {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 24);
  const event = sessionEvent({
    type: "checkout.session.completed",
    sessionId: `cs_test_${suffix}`,
    orderId: `ord_${suffix}`,
    amountTotal: 4200,
    currency: "usd",
    paymentStatus: "paid",
    paymentIntentId: `pi_test_${suffix}`,
  });
  expect((await deliverEvent(event)).status).toBe(200);
  return `pi_test_${suffix}`;
}

describe("stray payments: staff list and refund money without a home", () => {
  it("T06 a payment with no order and one for a closed order are listed; each is refunded once, a second refund is 409 and moves nothing", async () => {
    const orphan = await paymentWithoutOrder();
    const h = await makeHeldOrder();
    await deliverEvent(expiredEventFor(h));
    await deliverEvent(paidEventFor(h));

    const open = (await (await list()).json()) as { items: Stray[] };
    expect(open.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: orphan, orderId: null, amountCents: 4200, reason: "unknown_order", refundState: "none" }),
        expect.objectContaining({ id: h.paymentIntentId, orderId: h.order.id, reason: "order_expired", refundState: "none" }),
      ]),
    );

    const before = await lastAuditId();
    const first = await refund(orphan);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ id: orphan, refundState: "refunded", refundId: expect.stringMatching(/^re_/) });
    const refundId = (await strayRow(orphan))?.refund_id;
    expect((await auditRowsAfter(before)).map((r) => r.action)).toEqual(["payment.after_close_refund_requested", "payment.after_close_refunded"]);

    const mid = await lastAuditId();
    const again = await refund(orphan);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe("order_not_refundable");
    expect(await strayRow(orphan)).toEqual({ refund_state: "refunded", refund_id: refundId });
    expect(await auditRowsAfter(mid)).toEqual([]);

    const openNow = ((await (await list()).json()) as { items: Stray[] }).items.map((s) => s.id);
    expect(openNow).not.toContain(orphan);
    expect(openNow).toContain(h.paymentIntentId);
    const all = ((await (await list("all")).json()) as { items: Stray[] }).items.map((s) => s.id);
    expect(all).toContain(orphan);
  });

  it("T06 two staff refunding one stray payment at once make one refund", async () => {
    const orphan = await paymentWithoutOrder();
    const before = await lastAuditId();
    const statuses = (await Promise.all([refund(orphan), refund(orphan), refund(orphan)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    expect((await auditRowsAfter(before)).filter((r) => r.action === "payment.after_close_refunded")).toHaveLength(1);
  });

  it("P16 support and customers can neither list nor refund stray payments, and nothing moves", async () => {
    const orphan = await paymentWithoutOrder();
    await Promise.all([as("support"), as("customer")]); // signed in before the audit mark
    const before = await lastAuditId();
    expect((await list("open", "support")).status).toBe(403);
    expect((await refund(orphan, "support")).status).toBe(403);
    expect((await refund(orphan, "customer")).status).toBe(403);
    expect(await strayRow(orphan)).toEqual({ refund_state: "none", refund_id: null });
    expect(await auditRowsAfter(before)).toEqual([]);
  });

  it("an unknown stray payment is 404 payment_not_found; the staff page lists and refunds with a form", async () => {
    const missing = await refund("pi_test_nothing_here");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe("payment_not_found");

    const orphan = await paymentWithoutOrder();
    const page = await appRequest("/admin/stray-payments", { headers: await as("admin") });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`data-stray="${orphan}"`);
    expect(html).toContain(`action="/admin/stray-payments/${orphan}/refund"`);
    const posted = await appRequest(`/admin/stray-payments/${orphan}/refund`, {
      method: "POST",
      headers: { ...(await as("admin")), origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: "",
      redirect: "manual",
    });
    expect(posted.status).toBe(303);
    expect((await strayRow(orphan))?.refund_state).toBe("refunded");
  });
});
