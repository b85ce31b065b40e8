import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAs } from "../support/accounts";
import { as, appRequest as request } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";
import { makeHeldOrder, makePaidOrder, orderRow } from "../support/orders";

function post(headers: Record<string, string>, path: string, body?: unknown): Promise<Response> {
  return request(path, {
    method: "POST",
    headers: { ...headers, origin: ORIGIN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function shippingRow(orderId: string) {
  return env.DB.prepare("SELECT status, fulfilment, carrier, tracking_number AS trackingNumber FROM orders WHERE id = ?").bind(orderId).first();
}

async function mailsTo(to: string, subject: string, wait = true): Promise<{ text: string }[]> {
  for (let i = 0; i < (wait ? 100 : 1); i++) {
    const rows = (await env.DB.prepare('SELECT text FROM mail_outbox WHERE "to" = ? AND subject = ?').bind(to, subject).all<{ text: string }>()).results;
    if (rows.length > 0 || !wait) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

describe("shipping an order", () => {
  it("an admin ships a paid order with carrier and tracking, the shopper is mailed and sees it, then it is delivered; each step audited", async () => {
    const admin = await as("admin");
    const { orderId, email, cookie } = await makePaidOrder();
    const before = await lastAuditId();
    const shipped = await post(admin, `/api/admin/orders/${orderId}/ship`, { carrier: "DHL Express", trackingNumber: "JD0146 0001 2345" });
    expect(shipped.status).toBe(200);
    expect(((await shipped.json()) as { shipping: unknown }).shipping).toMatchObject({
      status: "shipped",
      carrier: "DHL Express",
      trackingNumber: "JD0146 0001 2345",
    });
    const mine = (await (await getAs(cookie, `/api/orders/${orderId}`)).json()) as { shipping: { status: string; trackingNumber: string } };
    expect(mine.shipping).toMatchObject({ status: "shipped", trackingNumber: "JD0146 0001 2345" });
    expect(await (await getAs(cookie, `/orders/${orderId}`)).text()).toContain("JD0146 0001 2345");
    const [notice] = await mailsTo(email, `Your Bastion order #${(await orderRow(orderId))!.number} has shipped`);
    expect(notice!.text).toContain("Tracking number: JD0146 0001 2345");
    expect(notice!.text).toContain(`${ORIGIN}/orders/${orderId}`);

    const delivered = await post(admin, `/api/admin/orders/${orderId}/deliver`);
    expect(delivered.status).toBe(200);
    expect(await shippingRow(orderId)).toMatchObject({ status: "paid", fulfilment: "delivered" });
    const actions = (await auditRowsAfter(before)).filter((r) => r.subject === orderId).map((r) => r.action);
    expect(actions).toEqual(["order.shipped", "order.delivered"]);
  });

  it("P16 shipping: support and customers cannot ship or deliver an order, and a cross-site form cannot either; nothing changes", async () => {
    const { orderId } = await makePaidOrder();
    const before = await lastAuditId();
    for (const role of ["support", "customer"] as const) {
      expect((await post(await as(role), `/api/admin/orders/${orderId}/ship`, { carrier: "UPS", trackingNumber: "1Z999" })).status).toBe(403);
      expect((await post(await as(role), `/api/admin/orders/${orderId}/deliver`)).status).toBe(403);
    }
    const crossSite = await request(`/admin/orders/${orderId}/ship`, {
      method: "POST",
      headers: { ...(await as("admin")), origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "carrier=UPS&trackingNumber=1Z999",
    });
    expect(crossSite.status).toBe(403);
    expect(await shippingRow(orderId)).toMatchObject({ fulfilment: "unfulfilled", carrier: null });
    expect((await auditRowsAfter(before)).filter((r) => r.subject === orderId)).toEqual([]);
  });

  it("P16 shipping is forward only: an unpaid order, a second shipment or a delivery before shipping is 409, and two staff at once ship once with one notice", async () => {
    const admin = await as("admin");
    const unpaid = await makeHeldOrder();
    expect((await post(admin, `/api/admin/orders/${unpaid.order.id}/ship`, { carrier: "UPS", trackingNumber: "1Z1" })).status).toBe(409);
    expect((await shippingRow(unpaid.order.id))?.fulfilment).toBe("unfulfilled");

    const { orderId, email } = await makePaidOrder();
    expect((await post(admin, `/api/admin/orders/${orderId}/deliver`)).status).toBe(409);
    const before = await lastAuditId();
    const [a, b] = await Promise.all([
      post(admin, `/api/admin/orders/${orderId}/ship`, { carrier: "UPS", trackingNumber: "1ZAAA" }),
      post(admin, `/api/admin/orders/${orderId}/ship`, { carrier: "FedEx", trackingNumber: "7777" }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = (await shippingRow(orderId)) as { carrier: string };
    expect(["UPS", "FedEx"]).toContain(winner.carrier);
    expect((await post(admin, `/api/admin/orders/${orderId}/ship`, { carrier: "DHL", trackingNumber: "X" })).status).toBe(409);
    expect((await shippingRow(orderId)) as { carrier: string }).toMatchObject({ carrier: winner.carrier });
    // Both requests were put on the record before their write (fail closed); only one shipped.
    expect((await auditRowsAfter(before)).filter((r) => r.subject === orderId && r.action === "order.shipped").length).toBeGreaterThanOrEqual(1);
    await mailsTo(email, `Your Bastion order #${(await orderRow(orderId))!.number} has shipped`);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await mailsTo(email, `Your Bastion order #${(await orderRow(orderId))!.number} has shipped`, false)).toHaveLength(1);
  });

  it("the staff order page ships through its form, and refuses markup or control characters in the tracking number", async () => {
    const admin = await as("admin");
    const { orderId } = await makePaidOrder();
    const page = await (await request(`/admin/orders/${orderId}`, { headers: admin })).text();
    expect(page).toContain(`action="/admin/orders/${orderId}/ship"`);
    const form = (fields: Record<string, string>) =>
      request(`/admin/orders/${orderId}/ship`, {
        method: "POST",
        headers: { ...admin, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
        redirect: "manual",
      });
    const bad = await form({ carrier: "UPS", trackingNumber: '<img src=x onerror="alert(1)">' });
    expect(bad.headers.get("location")).toBe(`/admin/orders/${orderId}?shipping_error=invalid_shipment`);
    expect((await form({ carrier: "UPS\r\nBcc: x@evil.example", trackingNumber: "1Z" })).headers.get("location")).toContain("invalid_shipment");
    expect((await shippingRow(orderId))?.fulfilment).toBe("unfulfilled");
    const ok = await form({ carrier: "Royal Mail", trackingNumber: "AB 1234 5678 9GB" });
    expect(ok.headers.get("location")).toBe(`/admin/orders/${orderId}`);
    expect(await shippingRow(orderId)).toMatchObject({ fulfilment: "shipped", carrier: "Royal Mail", trackingNumber: "AB 1234 5678 9GB" });
  });
});
