import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { appJson, as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { makeHeldOrder, makePaidOrder } from "../support/orders";
import { deliverEvent, disputeEvent } from "../support/stripe";

async function fulfilment(orderId: string): Promise<unknown> {
  return env.DB.prepare("SELECT status, fulfilment, carrier, tracking_number FROM orders WHERE id = ?").bind(orderId).first();
}

describe("POST /api/admin/orders/bulk-ship", () => {
  it("ships each order through the one fulfilment step and answers every order's result; each shipment and the action are audited", async () => {
    const admin = await as("admin");
    const a = await makePaidOrder();
    const b = await makePaidOrder();
    const unpaid = await makeHeldOrder();
    const before = await lastAuditId();
    const res = await appJson(
      "POST",
      "/api/admin/orders/bulk-ship",
      [
        { orderId: a.orderId, carrier: "DHL", trackingNumber: "JD-1" },
        { orderId: "ord_nope", carrier: "DHL", trackingNumber: "JD-2" },
        { orderId: unpaid.order.id, carrier: "DHL", trackingNumber: "JD-3" },
        { orderId: b.orderId, carrier: "UPS", trackingNumber: "1Z 999" },
      ],
      admin,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      shipped: 2,
      results: [
        { orderId: a.orderId, shipped: true },
        { orderId: "ord_nope", shipped: false, code: "order_not_found" },
        { orderId: unpaid.order.id, shipped: false, code: "order_not_shippable" },
        { orderId: b.orderId, shipped: true },
      ],
    });
    expect(await fulfilment(a.orderId)).toMatchObject({ fulfilment: "shipped", carrier: "DHL", tracking_number: "JD-1" });
    expect(await fulfilment(b.orderId)).toMatchObject({ fulfilment: "shipped", carrier: "UPS", tracking_number: "1Z 999" });
    expect(await fulfilment(unpaid.order.id)).toMatchObject({ fulfilment: "unfulfilled", carrier: null });
    const rows = await auditRowsAfter(before);
    expect(rows.filter((r) => r.action === "order.shipped").map((r) => r.subject)).toEqual([a.orderId, b.orderId]);
    const bulk = rows.find((r) => r.action === "order.bulk_shipped")!;
    expect(JSON.parse(bulk.detail!)).toEqual({ requested: 4, shipped: 2, refused: 2 });
  });

  it("P16 support, shoppers and anonymous callers cannot bulk-ship; nothing changes", async () => {
    const order = await makePaidOrder();
    const support = await as("support");
    const customer = await as("customer");
    const before = await lastAuditId();
    const body = [{ orderId: order.orderId, carrier: "DHL", trackingNumber: "JD-9" }];
    expect((await appJson("POST", "/api/admin/orders/bulk-ship", body, support)).status).toBe(403);
    expect((await appJson("POST", "/api/admin/orders/bulk-ship", body, customer)).status).toBe(403);
    expect((await appJson("POST", "/api/admin/orders/bulk-ship", body)).status).toBe(401);
    expect(await fulfilment(order.orderId)).toMatchObject({ fulfilment: "unfulfilled", carrier: null });
    expect((await auditRowsAfter(before)).filter((r) => r.action.startsWith("order."))).toEqual([]);
  });

  it("P13 hostile bulk bodies are refused whole with 422 validation_failed: too many, an order twice, a dispute override, unknown fields, markup, not a list; nothing changes", async () => {
    const admin = await as("admin");
    const order = await makePaidOrder();
    const disputed = await makePaidOrder();
    expect(
      (await deliverEvent(disputeEvent({ paymentIntentId: disputed.held.paymentIntentId, amount: disputed.held.order.totalCents, status: "needs_response" })))
        .status,
    ).toBe(200);
    const ok = { orderId: order.orderId, carrier: "DHL", trackingNumber: "JD-1" };
    const before = await lastAuditId();
    const hostile: unknown[] = [
      Array.from({ length: 51 }, (_, i) => ({ ...ok, orderId: `ord_${i}` })),
      [ok, ok],
      [{ orderId: disputed.orderId, carrier: "DHL", trackingNumber: "JD-2", disputeOverrideReason: "trust me" }],
      [{ ...ok, role: "admin" }],
      [{ ...ok, carrier: "<script>alert(1)</script>" }],
      [{ ...ok, trackingNumber: "JD\u0000-1" }],
      [{ ...ok, orderId: "x".repeat(101) }],
      [],
      { orders: [ok] },
      [ok, "ord_x"],
    ];
    for (const body of hostile) {
      const res = await appJson("POST", "/api/admin/orders/bulk-ship", body, admin);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(((await res.json()) as { code: string }).code).toBe("validation_failed");
    }
    expect(await fulfilment(order.orderId)).toMatchObject({ fulfilment: "unfulfilled", carrier: null });
    expect(await fulfilment(disputed.orderId)).toMatchObject({ fulfilment: "unfulfilled", carrier: null });
    expect((await auditRowsAfter(before)).filter((r) => r.action.startsWith("order."))).toEqual([]);
    // A disputed order in a valid bulk body is refused on its own; the others ship.
    const res = await appJson("POST", "/api/admin/orders/bulk-ship", [ok, { orderId: disputed.orderId, carrier: "DHL", trackingNumber: "JD-2" }], admin);
    expect(((await res.json()) as { results: unknown[] }).results).toEqual([
      { orderId: order.orderId, shipped: true },
      { orderId: disputed.orderId, shipped: false, code: "order_disputed" },
    ]);
    expect(await fulfilment(disputed.orderId)).toMatchObject({ fulfilment: "unfulfilled", carrier: null });
  });
});
