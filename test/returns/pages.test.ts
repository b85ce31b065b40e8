import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { guestOrderKey } from "../../src/checkout/guest-access";
import { as } from "../support/admin";
import { ORIGIN, request } from "../support/http";
import { waitForMail } from "../support/mail";
import { orderRow, stockOf } from "../support/orders";
import { makeDeliveredOrder, returnState } from "../support/returns";

// The returns pages (no script): the shopper's form (an account's order, and a guest's opened by
// its cookie) and the staff desk's steps through forms.

const form = (cookie: string, path: string, fields: Record<string, string>) =>
  request(path, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });

describe("returns pages", () => {
  it("the order page links to returns once delivered; the form asks for a return and the page shows it", async () => {
    const { orderId, held, cookie } = await makeDeliveredOrder();
    const orderPage = await (await request(`/orders/${orderId}`, { headers: { cookie } })).text();
    expect(orderPage).toContain(`href="/orders/${orderId}/returns"`);
    const page = await request(`/orders/${orderId}/returns`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("data-return-form");
    expect(html).toContain(`name="qty.${held.variantId}"`);
    const none = await form(cookie, `/orders/${orderId}/returns`, { [`qty.${held.variantId}`]: "0" });
    expect(none.headers.get("location")).toBe(`/orders/${orderId}/returns?error=return_lines_required`);
    const asked = await form(cookie, `/orders/${orderId}/returns`, { [`qty.${held.variantId}`]: "1", reason: "Wrong colour" });
    expect(asked.status).toBe(303);
    expect(asked.headers.get("location")).toBe(`/orders/${orderId}/returns?requested=1`);
    const after = await (await request(`/orders/${orderId}/returns?requested=1`, { headers: { cookie } })).text();
    expect(after).toContain('data-return-status="requested"');
    expect(after).toContain('data-not-returnable="return_open"');
    expect(after).not.toContain("data-return-form");
  });

  it("a guest returns items of their order with the order's cookie", async () => {
    const { orderId, held } = await makeDeliveredOrder();
    const email = `guest-${crypto.randomUUID()}@example.com`;
    await env.DB.prepare("UPDATE orders SET user_id = ?, customer_email = ? WHERE id = ?").bind(`guest_${crypto.randomUUID()}`, email, orderId).run();
    const row = (await orderRow(orderId))!;
    const key = await guestOrderKey(env, row, Date.now() + 86_400_000);
    const exchanged = await request(`/orders/${orderId}?key=${key}`, { redirect: "manual" });
    expect(exchanged.status).toBe(303);
    const cookie = exchanged.headers.get("set-cookie")!.split(";")[0]!;
    const asked = await form(cookie, `/orders/${orderId}/returns`, { [`qty.${held.variantId}`]: "2" });
    expect(asked.headers.get("location")).toBe(`/orders/${orderId}/returns?requested=1`);
    expect((await returnState(orderId, held.productId)).lines).toEqual([expect.objectContaining({ variant_id: held.variantId, quantity: 2 })]);
    await waitForMail(email, (m) => m.subject.includes("received your return request"));
  });

  it("staff approve, receive (not restocked) and refund a return on its page; the refund names its amount", async () => {
    const admin = (await as("admin")).cookie!;
    const { orderId, held, cookie } = await makeDeliveredOrder();
    await form(cookie, `/orders/${orderId}/returns`, { [`qty.${held.variantId}`]: "1" });
    const [ret] = (await returnState(orderId, held.productId)).returns as { id: string }[];
    const list = await (await request("/admin/returns?status=requested", { headers: { cookie: admin } })).text();
    expect(list).toContain(`data-return-row="${ret!.id}"`);
    const base = `/admin/returns/${ret!.id}`;
    // The staff order page lists the order's returns, each a link to its page.
    const orderPage = await (await request(`/admin/orders/${orderId}`, { headers: { cookie: admin } })).text();
    expect(orderPage).toContain("data-order-returns");
    expect(orderPage).toContain(`href="${base}"`);
    expect((await form(admin, `${base}/refuse`, { reason: "" })).headers.get("location")).toBe(`${base}?m=refusal_reason_required`);
    expect((await form(admin, `${base}/approve`, {})).headers.get("location")).toBe(`${base}?m=approved`);
    // The checkbox left unticked: the unit is refunded without going back on the shelf.
    expect((await form(admin, `${base}/receive`, {})).headers.get("location")).toBe(`${base}?m=received`);
    const page = await (await request(base, { headers: { cookie: admin } })).text();
    expect(page).toContain('data-confirm-amount="1125"');
    const stock = await stockOf(held.productId);
    // Without the amount the page named, nothing is refunded.
    expect((await form(admin, `${base}/refund`, {})).headers.get("location")).toBe(`${base}?m=refund_amount_changed`);
    expect((await returnState(orderId, held.productId)).claims).toEqual([]);
    expect((await form(admin, `${base}/refund`, { expectedCents: "1125" })).headers.get("location")).toBe(`${base}?m=refunded`);
    const done = await (await request(base, { headers: { cookie: admin } })).text();
    expect(done).toContain('data-return-status="refunded"');
    expect(done).toContain('data-return-refund="1125"');
    expect(await stockOf(held.productId)).toBe(stock);
  });
});
