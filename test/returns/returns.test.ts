import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { waitForMail } from "../support/mail";
import { stockOf } from "../support/orders";
import { jsonRequest, makeDeliveredOrder, returnState } from "../support/returns";

// Issue 32, returns (decision 029). Orders from makeDeliveredOrder: 2 units at 12.50, 10 % off → 22.50 paid, delivered yesterday.

const asShopper = (cookie: string, method: string, orderId: string, body?: unknown) => jsonRequest(cookie, method, `/api/orders/${orderId}/returns`, body);
const staff = (cookie: string, id: string, step: string, body?: unknown) => jsonRequest(cookie, "POST", `/api/admin/returns/${id}/${step}`, body);

describe("returns: request, approve, receive, refund (API)", () => {
  it("a shopper returns one unit; staff approve, receive it for the shelf and refund it through the line refund: money, stock, mails, audit and order.returned", async () => {
    const admin = { cookie: (await as("admin")).cookie! };
    const { orderId, held, cookie, email } = await makeDeliveredOrder();
    const since = await lastAuditId();
    const stockBefore = await stockOf(held.productId);

    const listed = await asShopper(cookie, "GET", orderId);
    expect(listed.status).toBe(200);
    expect(await listed.json()).toMatchObject({
      items: [],
      returnable: { refusal: null, lines: [{ variantId: held.variantId, bought: 2, returnable: 2 }] },
    });

    const asked = await asShopper(cookie, "POST", orderId, { lines: [{ variantId: held.variantId, quantity: 1 }], reason: "Too small" });
    expect(asked.status).toBe(201);
    const ret = (await asked.json()) as { id: string; status: string };
    expect(ret).toMatchObject({ status: "requested", reason: "Too small", lines: [{ variantId: held.variantId, quantity: 1, restock: true }] });
    await waitForMail(email, (m) => m.subject.includes("received your return request"));

    const approved = await staff(admin.cookie, ret.id, "approve");
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ status: "approved" });
    await waitForMail(email, (m) => m.subject.includes("is approved"));

    const received = await staff(admin.cookie, ret.id, "receive", { restock: { [held.variantId]: true } });
    expect(received.status).toBe(200);
    expect(await received.json()).toMatchObject({ status: "received" });
    await waitForMail(email, (m) => m.subject.includes("received your returned items"));
    const returned = await env.DB.prepare("SELECT data FROM webhook_events WHERE type = 'order.returned' AND key = ?")
      .bind(`order.returned:${orderId}:${ret.id}`)
      .first<{ data: string }>();
    expect(JSON.parse(returned!.data)).toMatchObject({
      order: { id: orderId },
      return: { id: ret.id, lines: [{ productId: held.productId, quantity: 1, restocked: true }] },
    });
    // Nothing moved on the shelf or in money yet: the goods are back, the refund is the next step.
    expect(await stockOf(held.productId)).toBe(stockBefore);

    const refunded = await staff(admin.cookie, ret.id, "refund", { expectedCents: 1125 });
    expect(refunded.status).toBe(200);
    expect(await refunded.json()).toMatchObject({ status: "refunded", refundCents: 1125 });
    expect(await stockOf(held.productId)).toBe(stockBefore + 1);
    const state = await returnState(orderId, held.productId);
    expect(state.claims).toEqual([{ amount_cents: 1125, state: "done" }]);
    expect(state.refundLines).toEqual([{ variant_id: held.variantId, quantity: 1, restock: 1, restocked: 1 }]);
    expect(state.order).toEqual([{ status: "paid", refunded_cents: 1125, fulfilment: "delivered" }]);
    const mail = await waitForMail(email, (m) => m.subject.includes("is refunded"));
    expect(mail[0]!.text).toContain("$11.25");
    expect(mail[0]!.subject.startsWith("Bastion: ")).toBe(true);

    // Asked again (a retry, a double click): the same return, the same one refund, the shelf unchanged.
    const again = await staff(admin.cookie, ret.id, "refund", { expectedCents: 1125 });
    expect(again.status).toBe(200);
    expect(await returnState(orderId, held.productId)).toEqual(state);

    const actions = (await auditRowsAfter(since)).filter((r) => r.subject === orderId).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(["return.requested", "return.approved", "return.received", "order.refund_requested", "return.refunded"]));
    expect(actions.filter((a) => a === "return.refunded")).toHaveLength(1);

    const staffList = (await (await jsonRequest(admin.cookie, "GET", "/api/admin/returns?status=refunded")).json()) as { items: { id: string }[] };
    expect(staffList.items.map((r) => r.id)).toContain(ret.id);
    // The other unit can still be returned later; the shopper sees their refunded return.
    expect(await (await asShopper(cookie, "GET", orderId)).json()).toMatchObject({
      items: [{ id: ret.id, status: "refunded", refundCents: 1125 }],
      returnable: { refusal: null, lines: [{ returnable: 1 }] },
    });
  });

  it("a refused return tells the shopper why, keeps the money and stock, and the shopper may ask again", async () => {
    const admin = { cookie: (await as("admin")).cookie! };
    const { orderId, held, cookie, email } = await makeDeliveredOrder();
    const ret = (await (await asShopper(cookie, "POST", orderId, { lines: [{ variantId: held.variantId, quantity: 2 }] })).json()) as { id: string };
    expect((await asShopper(cookie, "POST", orderId, { lines: [{ variantId: held.variantId, quantity: 1 }] })).status).toBe(409);
    expect((await staff(admin.cookie, ret.id, "refuse", { reason: "" })).status).toBe(422);
    const refused = await staff(admin.cookie, ret.id, "refuse", { reason: "Worn and washed" });
    expect(await refused.json()).toMatchObject({ status: "refused", refusalReason: "Worn and washed" });
    const mail = await waitForMail(email, (m) => m.subject.includes("was declined"));
    expect(mail[0]!.text).toContain("Worn and washed");
    // A refused return cannot move on.
    for (const step of ["approve", "receive", "refund"]) {
      const res = await staff(admin.cookie, ret.id, step);
      expect(res.status, step).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe("return_wrong_status");
    }
    expect((await returnState(orderId, held.productId)).claims).toEqual([]);
    expect((await asShopper(cookie, "POST", orderId, { lines: [{ variantId: held.variantId, quantity: 1 }] })).status).toBe(201);
  });

  it("a line staff choose not to restock is refunded without going back on the shelf", async () => {
    const admin = { cookie: (await as("admin")).cookie! };
    const { orderId, held, cookie } = await makeDeliveredOrder();
    const stockBefore = await stockOf(held.productId);
    const ret = (await (await asShopper(cookie, "POST", orderId, { lines: [{ variantId: held.variantId, quantity: 2 }] })).json()) as { id: string };
    await staff(admin.cookie, ret.id, "approve");
    expect((await staff(admin.cookie, ret.id, "receive", { restock: { [held.variantId]: false } })).status).toBe(200);
    const refunded = await staff(admin.cookie, ret.id, "refund", {});
    expect(await refunded.json()).toMatchObject({ status: "refunded", refundCents: 2250, lines: [{ restock: false }] });
    expect(await stockOf(held.productId)).toBe(stockBefore);
    expect((await returnState(orderId, held.productId)).order).toEqual([{ status: "refunded", refunded_cents: 2250, fulfilment: "delivered" }]);
  });
});
