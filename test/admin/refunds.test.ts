import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { as, appRequest as request } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";
import { makePaidOrder, orderRow } from "../support/orders";

async function refund(orderId: string, body?: unknown, key?: string): Promise<Response> {
  return request(`/api/admin/orders/${orderId}/refund`, {
    method: "POST",
    headers: {
      ...(await as("admin")),
      origin: ORIGIN,
      ...(key ? { "idempotency-key": key } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function refundRows(orderId: string) {
  return (await env.DB.prepare("SELECT amount_cents AS amountCents, state FROM order_refunds WHERE order_id = ? ORDER BY created_at").bind(orderId).all())
    .results;
}

const requested = async (orderId: string, after: number) =>
  (await auditRowsAfter(after)).filter((r) => r.subject === orderId && r.action === "order.refund_requested");

describe("partial refunds", () => {
  it("an admin refunds part of a paid order, then the rest: paid after the first, refunded after the second, each audited and mailed", async () => {
    const { orderId, email } = await makePaidOrder();
    const before = await lastAuditId();
    const first = await refund(orderId, { amountCents: 1000 });
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ amountCents: 1000, refundedCents: 1000, remainingCents: 1250, status: "paid" });
    expect((await orderRow(orderId))?.status).toBe("paid");
    const rest = await refund(orderId);
    expect(rest.status).toBe(202);
    expect(await rest.json()).toMatchObject({ amountCents: 1250, refundedCents: 2250, remainingCents: 0, status: "refunded" });
    expect(await refundRows(orderId)).toEqual([
      { amountCents: 1000, state: "done" },
      { amountCents: 1250, state: "done" },
    ]);
    expect((await requested(orderId, before)).map((r) => JSON.parse(r.detail as string).amountCents)).toEqual([1000, 1250]);
    for (let i = 0; i < 100; i++) {
      const { results } = await env.DB.prepare("SELECT subject FROM mail_outbox WHERE \"to\" = ? AND subject LIKE 'Refund%'").bind(email).all();
      if (results.length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const texts = (
      await env.DB.prepare("SELECT text FROM mail_outbox WHERE \"to\" = ? AND subject LIKE 'Refund%' ORDER BY id").bind(email).all<{ text: string }>()
    ).results.map((r) => r.text);
    expect(texts[0]).toContain("We have refunded $10.00 of your order");
    expect(texts[1]).toContain("in full: $22.50");
  });

  it("T06 refunds never exceed what was paid: more than is left is 409 and moves nothing; two refunds at once that would exceed it make one", async () => {
    const { orderId } = await makePaidOrder();
    const before = await lastAuditId();
    const tooMuch = await refund(orderId, { amountCents: 2251 });
    expect(tooMuch.status).toBe(409);
    expect(((await tooMuch.json()) as { code: string }).code).toBe("refund_exceeds_remaining");
    expect(await refundRows(orderId)).toEqual([]);
    expect(await requested(orderId, before)).toEqual([]);
    for (const bad of [{ amountCents: 0 }, { amountCents: -5 }, { amountCents: 12.5 }, { amountCents: "1000" }, { amountCents: 1000, orderId: "other" }]) {
      expect((await refund(orderId, bad)).status, JSON.stringify(bad)).toBe(422);
    }
    const [a, b] = await Promise.all([refund(orderId, { amountCents: 1500 }), refund(orderId, { amountCents: 1500 })]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    expect(await refundRows(orderId)).toEqual([{ amountCents: 1500, state: "done" }]);
    expect(await requested(orderId, before)).toHaveLength(1);
    expect((await orderRow(orderId))?.status).toBe("paid");
  });

  it("T06 a refund is never made twice: the same Idempotency-Key answers the same refund, and a refunded order refuses more", async () => {
    const { orderId } = await makePaidOrder();
    const before = await lastAuditId();
    const key = crypto.randomUUID();
    const first = (await (await refund(orderId, { amountCents: 500 }, key)).json()) as { refundId: string };
    const again = await refund(orderId, { amountCents: 500 }, key);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { refundId: string }).refundId).toBe(first.refundId);
    expect(await refundRows(orderId)).toEqual([{ amountCents: 500, state: "done" }]);
    expect(await requested(orderId, before)).toHaveLength(1);
    expect((await refund(orderId)).status).toBe(202);
    const done = await refund(orderId, { amountCents: 1 });
    expect(done.status).toBe(409);
    expect(((await done.json()) as { code: string }).code).toBe("order_not_refundable");
    expect(await requested(orderId, before)).toHaveLength(2);
  });

  it("the staff order page refunds a decimal amount in the order's currency after a confirmation naming it, once per confirmation", async () => {
    const admin = await as("admin");
    const { orderId } = await makePaidOrder();
    const confirm = (amount: string) => request(`/admin/orders/${orderId}/refund?mode=amount&amount=${encodeURIComponent(amount)}`, { headers: admin });
    expect((await confirm("12.5x")).status).toBe(409);
    expect((await confirm("")).status).toBe(409);
    const page = await (await confirm("12.50")).text();
    expect(page).toContain("Refund <strong>$12.50</strong>");
    const key = /name="idempotencyKey" value="([^"]+)"/.exec(page)![1]!;
    const post = (fields: Record<string, string>) =>
      request(`/admin/orders/${orderId}/refund`, {
        method: "POST",
        headers: { ...admin, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
        redirect: "manual",
      });
    // Without the confirmed amount (the old one-step form) nothing is refunded.
    expect((await post({ amount: "12.50", idempotencyKey: key })).headers.get("location")).toContain("error=confirm");
    expect(await refundRows(orderId)).toEqual([]);
    const fields = { mode: "amount", amount: "12.50", expectedCents: "1250", idempotencyKey: key };
    expect((await post(fields)).status).toBe(303);
    expect((await post(fields)).status).toBe(303);
    expect(await refundRows(orderId)).toEqual([{ amountCents: 1250, state: "done" }]);
  });
});
