import { describe, expect, it } from "vitest";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { makePendingOrder, orderRow } from "../support/orders";
import { chargeRefundedEvent, deliverEvent, sessionEvent } from "../support/stripe";

describe("order and payment audit trail", () => {
  it("T10 every payment step of an order is audited with the actor and only the last 4 characters of Stripe ids", async () => {
    const { order } = await makePendingOrder();
    const before = await lastAuditId();
    const paid = sessionEvent({
      type: "checkout.session.completed",
      sessionId: order.paymentSessionId!,
      orderId: order.id,
      amountTotal: order.totalCents,
      currency: order.currency,
      paymentStatus: "paid",
      paymentIntentId: "pi_3SecretLookingIntentId9xYz",
    });
    expect((await deliverEvent(paid)).status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("paid");
    const intent = (await orderRow(order.id))!.paymentIntentId!;
    expect((await deliverEvent(chargeRefundedEvent({ paymentIntentId: intent, amount: order.totalCents }))).status).toBe(200);
    expect((await orderRow(order.id))?.status).toBe("refunded");

    const rows = await auditRowsAfter(before);
    expect(rows.map((r) => [r.action, r.actor, r.subject])).toEqual([
      ["order.paid", "stripe", order.id],
      // Nobody asked for this refund in the shop: a Dashboard refund, recorded as such.
      ["order.refunded_elsewhere", "stripe", order.id],
      ["order.refunded", "stripe", order.id],
    ]);
    const text = JSON.stringify(rows.map((r) => r.detail));
    expect(text).toContain(`…${order.paymentSessionId!.slice(-4)}`);
    expect(text).not.toContain(order.paymentSessionId!);
    expect(text).not.toContain(intent);
  });
});
