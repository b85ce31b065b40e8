import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { makeStaff, signUpAndSignIn } from "../support/accounts";
import { makePaidOrder } from "../support/orders";
import { jsonRequest, makeDeliveredOrder, returnState } from "../support/returns";
import { ORIGIN, request } from "../support/http";

// Attacks on returns (issue 32, decision 029): each asserts the refusal AND that nothing changed
// (returns, refund claims and lines, the order, stock, webhook events, the audit log about the order).

const askReturn = (cookie: string, orderId: string, body: unknown, headers: Record<string, string> = {}) =>
  jsonRequest(cookie, "POST", `/api/orders/${orderId}/returns`, body, headers);
const staff = (cookie: string, id: string, step: string, body?: unknown) => jsonRequest(cookie, "POST", `/api/admin/returns/${id}/${step}`, body);

async function unchanged(orderId: string, productId: string, since: number) {
  const audit = (await auditRowsAfter(since)).filter((r) => r.subject === orderId).map((r) => r.action);
  return { ...(await returnState(orderId, productId)), audit };
}

async function code(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

/** A received return of `quantity` units, ready for its refund. */
async function receivedReturn(admin: string, order: Awaited<ReturnType<typeof makeDeliveredOrder>>, quantity: number): Promise<string> {
  const asked = await askReturn(order.cookie, order.orderId, { lines: [{ variantId: order.held.variantId, quantity }] });
  const { id } = (await asked.json()) as { id: string };
  await staff(admin, id, "approve");
  await staff(admin, id, "receive");
  return id;
}

describe("returns under attack", () => {
  it("P12 a shopper cannot return another's order or read its returns: one 404 on the API and the page, nothing changes", async () => {
    const victim = await makeDeliveredOrder();
    const attacker = await signUpAndSignIn();
    const since = await lastAuditId();
    const before = await unchanged(victim.orderId, victim.held.productId, since);
    const line = { lines: [{ variantId: victim.held.variantId, quantity: 1 }] };
    const api = await askReturn(attacker.cookie, victim.orderId, line);
    expect(api.status).toBe(404);
    expect(await code(api)).toBe("order_not_found");
    expect((await jsonRequest(attacker.cookie, "GET", `/api/orders/${victim.orderId}/returns`)).status).toBe(404);
    // A guest key that is not the order's, and a forged guest cookie, open nothing either.
    expect((await askReturn(attacker.cookie, victim.orderId, line, { "x-order-key": "A".repeat(48) })).status).toBe(404);
    const page = await request(`/orders/${victim.orderId}/returns`, {
      method: "POST",
      headers: {
        cookie: `${attacker.cookie}; __Host-bastion_order_${victim.orderId}=9999999999.${"A".repeat(43)}`,
        origin: ORIGIN,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: `qty.${victim.held.variantId}=1`,
    });
    expect(page.status).toBe(404);
    expect((await request(`/orders/${victim.orderId}/returns`, { headers: { cookie: attacker.cookie } })).status).toBe(404);
    // No session at all: 401, never the order.
    expect((await askReturn("", victim.orderId, line)).status).toBe(401);
    expect(await unchanged(victim.orderId, victim.held.productId, since)).toEqual(before);
  });

  it("P16 a line of an order not delivered, or outside the return window, cannot be returned: 409, nothing changes", async () => {
    // Paid, not even shipped.
    const paid = await makePaidOrder();
    // Shipped but not delivered.
    const shipped = await makePaidOrder();
    await env.DB.prepare("UPDATE orders SET fulfilment = 'shipped', carrier = 'UPS', tracking_number = '1Z', shipped_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), shipped.orderId)
      .run();
    // Delivered 31 days ago: the default window is 30 days.
    const late = await makeDeliveredOrder(31);
    const since = await lastAuditId();
    for (const [order, expected] of [
      [paid, "order_not_delivered"],
      [shipped, "order_not_delivered"],
      [late, "return_window_closed"],
    ] as const) {
      const before = await unchanged(order.orderId, order.held.productId, since);
      const res = await askReturn(order.cookie, order.orderId, { lines: [{ variantId: order.held.variantId, quantity: 1 }] });
      expect(res.status).toBe(409);
      expect(await code(res)).toBe(expected);
      expect(await unchanged(order.orderId, order.held.productId, since)).toEqual(before);
    }
    // The window is the shop's setting: with returns off (0 days) a fresh delivery takes none either.
    const fresh = await makeDeliveredOrder(0);
    await env.DB.prepare(
      "INSERT INTO shop_settings (id, shop_name, brand_colour, accent_colour, hero_title, hero_text, footer_links, default_currency, default_locale, return_window_days, privacy_policy, terms_policy, shipping_policy, returns_policy, version) " +
        "VALUES (1, 'Bastion', '#1f3a5f', '#c2562b', 'h', 't', '[]', 'USD', 'en-US', 0, '', '', '', '', 'returns-off') " +
        "ON CONFLICT (id) DO UPDATE SET return_window_days = 0, version = 'returns-off'",
    ).run();
    try {
      await new Promise((r) => setTimeout(r, 2_100)); // the settings cache (SETTINGS_TTL_MS)
      const before = await unchanged(fresh.orderId, fresh.held.productId, since);
      const res = await askReturn(fresh.cookie, fresh.orderId, { lines: [{ variantId: fresh.held.variantId, quantity: 1 }] });
      expect(await code(res)).toBe("returns_disabled");
      expect(await unchanged(fresh.orderId, fresh.held.productId, since)).toEqual(before);
    } finally {
      await env.DB.prepare("DELETE FROM shop_settings WHERE id = 1").run();
      await new Promise((r) => setTimeout(r, 2_100)); // the next test reads the defaults again
    }
  });

  it("P13 a return asks for at most what was bought less refunded, of lines the order holds: refused, nothing changes", async () => {
    const admin = { cookie: (await as("admin")).cookie! };
    const order = await makeDeliveredOrder();
    const since = await lastAuditId();
    const before = await unchanged(order.orderId, order.held.productId, since);
    const v = order.held.variantId;
    for (const [body, status, expected] of [
      [{ lines: [{ variantId: v, quantity: 3 }] }, 409, "return_exceeds_quantity"],
      [{ lines: [{ variantId: "var_not_in_this_order", quantity: 1 }] }, 422, "return_line_not_found"],
      [
        {
          lines: [
            { variantId: v, quantity: 1 },
            { variantId: v, quantity: 1 },
          ],
        },
        422,
        "return_line_not_found",
      ],
      [{ lines: [{ variantId: v, quantity: 0 }] }, 422, "validation_failed"],
      [{ lines: [{ variantId: v, quantity: -1 }] }, 422, "validation_failed"],
      [{ lines: [] }, 422, "validation_failed"],
      [{ lines: [{ variantId: v, quantity: 1, restock: true }] }, 422, "validation_failed"],
    ] as const) {
      const res = await askReturn(order.cookie, order.orderId, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(await code(res)).toBe(expected);
    }
    expect(await unchanged(order.orderId, order.held.productId, since)).toEqual(before);
    // One unit refunded on the order desk: only one is left to return.
    expect(
      (await jsonRequest(admin.cookie, "POST", `/api/admin/orders/${order.orderId}/refunds`, { lines: [{ variantId: v, quantity: 1, restock: false }] }))
        .status,
    ).toBe(202);
    const after = await unchanged(order.orderId, order.held.productId, since);
    expect(await code(await askReturn(order.cookie, order.orderId, { lines: [{ variantId: v, quantity: 2 }] }))).toBe("return_exceeds_quantity");
    expect(await unchanged(order.orderId, order.held.productId, since)).toEqual(after);
  });

  it("T06 returns cannot refund more than paid or a line twice: a line refunded meanwhile, two refunds at once, a second return of refunded units", async () => {
    const admin = (await as("admin")).cookie!;
    const order = await makeDeliveredOrder();
    const v = order.held.variantId;
    const first = await receivedReturn(admin, order, 2);
    // Staff refund a unit on the order desk while the return waits: the return's refund would refund it twice.
    expect(
      (await jsonRequest(admin, "POST", `/api/admin/orders/${order.orderId}/refunds`, { lines: [{ variantId: v, quantity: 1, restock: true }] })).status,
    ).toBe(202);
    const since = await lastAuditId();
    const before = await unchanged(order.orderId, order.held.productId, since);
    const twice = await staff(admin, first, "refund", {});
    expect(twice.status).toBe(409);
    expect(await code(twice)).toBe("line_refund_exceeds_quantity");
    expect(await unchanged(order.orderId, order.held.productId, since)).toEqual(before);

    // Another order: two refunds of one return at once make one provider refund, one claim, one restock.
    const other = await makeDeliveredOrder();
    const ret = await receivedReturn(admin, other, 2);
    const [a, b] = await Promise.all([staff(admin, ret, "refund", {}), staff(admin, ret, "refund", {})]);
    expect([a.status, b.status].filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    const state = await returnState(other.orderId, other.held.productId);
    expect(state.claims).toEqual([{ amount_cents: 2250, state: "done" }]);
    expect(state.refundLines).toEqual([{ variant_id: other.held.variantId, quantity: 2, restock: 1, restocked: 1 }]);
    expect(state.order).toEqual([{ status: "refunded", refunded_cents: 2250, fulfilment: "delivered" }]);
    // Everything is refunded: no return can be asked for, and the refunded return cannot be refunded again.
    const since2 = await lastAuditId();
    const after = await unchanged(other.orderId, other.held.productId, since2);
    const more = await askReturn(other.cookie, other.orderId, { lines: [{ variantId: other.held.variantId, quantity: 1 }] });
    expect(more.status).toBe(409);
    expect(await code(more)).toBe("order_not_returnable");
    expect((await staff(admin, ret, "refund", { expectedCents: 1 })).status).toBe(200);
    expect(await unchanged(other.orderId, other.held.productId, since2)).toEqual(after);
  });

  it("P16 shoppers and support cannot approve, refuse, receive or refund a return, and a refund without a recent step-up is refused; nothing changes", async () => {
    const admin = (await as("admin")).cookie!;
    const order = await makeDeliveredOrder();
    const asked = await askReturn(order.cookie, order.orderId, { lines: [{ variantId: order.held.variantId, quantity: 1 }] });
    const { id } = (await asked.json()) as { id: string };
    const since = await lastAuditId();
    const before = await unchanged(order.orderId, order.held.productId, since);
    for (const cookie of [order.cookie, (await as("support")).cookie!, (await as("customer")).cookie!]) {
      expect((await jsonRequest(cookie, "GET", "/api/admin/returns")).status).toBe(403);
      for (const step of ["approve", "receive", "refund"]) expect((await staff(cookie, id, step)).status).toBe(403);
      expect((await staff(cookie, id, "refuse", { reason: "no" })).status).toBe(403);
      expect((await request(`/admin/returns/${id}`, { headers: { cookie } })).status).toBe(403);
    }
    expect(await unchanged(order.orderId, order.held.productId, since)).toEqual(before);
    // An admin whose sign-in is old and who has not stepped up: 403 step_up_required, the return stays received.
    await staff(admin, id, "approve");
    await staff(admin, id, "receive");
    // A fresh admin (the shared one keeps its step-up for the other tests), its sign-in made old.
    const late = await makeStaff("admin");
    await env.DB.prepare("UPDATE session SET created_at = ? WHERE user_id = ?")
      .bind(Date.now() - 30 * 60_000, late.user.id)
      .run();
    await env.DB.prepare("DELETE FROM session_step_up WHERE user_id = ?").bind(late.user.id).run();
    const since2 = await lastAuditId();
    const received = await unchanged(order.orderId, order.held.productId, since2);
    const res = await staff(late.cookie, id, "refund", {});
    expect(res.status).toBe(403);
    expect(await code(res)).toBe("step_up_required");
    expect(await unchanged(order.orderId, order.held.productId, since2)).toEqual(received);
  });
});
