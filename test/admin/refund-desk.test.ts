import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeStaff } from "../support/accounts";
import { as, appRequest as request } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";
import { makePaidOrder, orderRow, stockOf } from "../support/orders";
import { unspentTotp } from "../support/totp";

// Issue 32: refunds staff can trust. Orders from makePaidOrder: 2 units at 12.50, 10 % off → 22.50 paid.

type Staff = Awaited<ReturnType<typeof makeStaff>>;

const json = (cookie: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  request(path, {
    method,
    headers: { cookie: cookie ?? "", origin: ORIGIN, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const refunds = (cookie: string | undefined, orderId: string, body?: unknown, key?: string) =>
  json(cookie, "POST", `/api/admin/orders/${orderId}/refunds`, body, key ? { "idempotency-key": key } : {});

/** Everything a refund could have changed: claims, their lines, the order, the product's stock, the audit log after `since`. */
async function moneyState(orderId: string, productId: string, since: number) {
  const claims = (await env.DB.prepare("SELECT amount_cents, state FROM order_refunds WHERE order_id = ? ORDER BY created_at").bind(orderId).all()).results;
  const lines = (
    await env.DB.prepare("SELECT product_id, quantity, amount_cents, restock, restocked_at IS NOT NULL AS restocked FROM order_refund_lines WHERE order_id = ?")
      .bind(orderId)
      .all()
  ).results;
  const order = await orderRow(orderId);
  const audit = (await auditRowsAfter(since)).filter((r) => r.subject === orderId).map((r) => r.action);
  return { claims, lines, status: order?.status, refundedCents: order?.refundedCents, stock: await stockOf(productId), audit };
}

/**
 * A code the shop accepts now: the helpers spend the current and next windows at sign-in, so the
 * first unspent one may be the previous window's, which expires at the next boundary; near one,
 * wait for the next window (a busy machine makes the boundary come quickly).
 */
async function acceptableCode(secret: string): Promise<string> {
  const intoWindow = Date.now() % 30_000;
  if (intoWindow > 20_000) await new Promise((r) => setTimeout(r, 30_000 - intoWindow + 500));
  return unspentTotp(secret);
}

/** A staff session whose sign-in is older than the step-up window: money actions need a code. */
async function ageSession(staff: Staff): Promise<void> {
  await env.DB.prepare("UPDATE session SET created_at = ? WHERE user_id = ?")
    .bind(Date.now() - 30 * 60_000, staff.user.id)
    .run();
  await env.DB.prepare("DELETE FROM session_step_up WHERE user_id = ?").bind(staff.user.id).run();
}

describe("explicit refunds (POST /api/admin/orders/{id}/refunds)", () => {
  it("an amount must be given: an empty body, an empty object or a null amount is 422 and moves nothing", async () => {
    const admin = await as("admin");
    const { orderId, held } = await makePaidOrder();
    const since = await lastAuditId();
    const before = await moneyState(orderId, held.productId, since);
    for (const body of [
      undefined,
      {},
      { amountCents: null },
      { amountCents: 0 },
      { refundRest: false },
      { lines: [] },
      { amountCents: 100, refundRest: true },
    ]) {
      const res = await refunds(admin.cookie, orderId, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    expect(await moneyState(orderId, held.productId, since)).toEqual(before);
  });

  it("a line refund with restock gives back the line's paid part, puts the unit back once, and shows partially_refunded to staff and shopper with its history", async () => {
    const admin = await as("admin");
    const { orderId, held, cookie } = await makePaidOrder();
    const stockBefore = await stockOf(held.productId);
    const res = await refunds(admin.cookie, orderId, { lines: [{ productId: held.productId, quantity: 1, restock: true }] });
    expect(res.status).toBe(202);
    // 2 × 12.50 less 2.50 off → 22.50 for the line; one unit stands for half of it.
    expect(await res.json()).toMatchObject({ amountCents: 1125, status: "paid", refundedCents: 1125, remainingCents: 1125 });
    expect(await stockOf(held.productId)).toBe(stockBefore + 1);
    const staffView = (await (await request(`/api/admin/orders/${orderId}`, { headers: admin })).json()) as Record<string, unknown>;
    expect(staffView).toMatchObject({ status: "paid", paymentState: "partially_refunded", refundedCents: 1125 });
    expect((staffView.refunds as { lines: unknown[] }[])[0]!.lines).toEqual([
      { productId: held.productId, variantId: held.variantId, name: expect.any(String), quantity: 1, amountCents: 1125, restock: true, restocked: true },
    ]);
    const shopperView = (await (await request(`/api/orders/${orderId}`, { headers: { cookie } })).json()) as Record<string, unknown>;
    expect(shopperView).toMatchObject({
      paymentState: "partially_refunded",
      refundedCents: 1125,
      refunds: [{ amountCents: 1125, lines: [{ productId: held.productId, variantId: held.variantId, quantity: 1 }] }],
    });
    const shopperPage = await (await request(`/orders/${orderId}`, { headers: { cookie } })).text();
    expect(shopperPage).toContain("Partially refunded");
    expect(shopperPage).toContain("data-refunds");
    const staffPage = await (await request(`/admin/orders/${orderId}`, { headers: admin })).text();
    expect(staffPage).toContain('data-payment-state="partially_refunded"');
    expect(staffPage).toContain("partially refunded");
    // The second unit, not restocked: the line's paid amount in full, the order refunded, the shelf unchanged.
    const rest = await refunds(admin.cookie, orderId, { lines: [{ productId: held.productId, quantity: 1, restock: false }] });
    expect(await rest.json()).toMatchObject({ amountCents: 1125, status: "refunded", remainingCents: 0 });
    expect(await stockOf(held.productId)).toBe(stockBefore + 1);
  });

  it("T06 a line cannot be refunded twice or beyond its quantity: 409, and nothing changes (claims, lines, stock, audit)", async () => {
    const admin = await as("admin");
    const { orderId, held } = await makePaidOrder();
    expect((await refunds(admin.cookie, orderId, { lines: [{ productId: held.productId, quantity: 2, restock: true }] })).status).toBe(202);
    const since = await lastAuditId();
    const before = await moneyState(orderId, held.productId, since);
    const again = await refunds(admin.cookie, orderId, { lines: [{ productId: held.productId, quantity: 1, restock: true }] });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe("order_not_refundable");
    expect(await moneyState(orderId, held.productId, since)).toEqual(before);

    const other = await makePaidOrder();
    const since2 = await lastAuditId();
    const before2 = await moneyState(other.orderId, other.held.productId, since2);
    const tooMany = await refunds(admin.cookie, other.orderId, { lines: [{ productId: other.held.productId, quantity: 3, restock: true }] });
    expect(tooMany.status).toBe(409);
    expect(((await tooMany.json()) as { code: string }).code).toBe("line_refund_exceeds_quantity");
    const unknown = await refunds(admin.cookie, other.orderId, { lines: [{ productId: "prd_not_on_this_order", quantity: 1, restock: true }] });
    expect(unknown.status).toBe(422);
    expect(await moneyState(other.orderId, other.held.productId, since2)).toEqual(before2);
    // One unit refunded by amount first: a line refund then finds less left on the order than its paid part.
    expect((await refunds(admin.cookie, other.orderId, { amountCents: 2000 })).status).toBe(202);
    const since3 = await lastAuditId();
    const before3 = await moneyState(other.orderId, other.held.productId, since3);
    const beyond = await refunds(admin.cookie, other.orderId, { lines: [{ productId: other.held.productId, quantity: 1, restock: true }] });
    expect(beyond.status).toBe(409);
    expect(((await beyond.json()) as { code: string }).code).toBe("refund_exceeds_remaining");
    expect(await moneyState(other.orderId, other.held.productId, since3)).toEqual(before3);
  });

  it("T06 two refunds of the same line at once make one: one claim, the unit restocked once, one refund_requested", async () => {
    const admin = await as("admin");
    const { orderId, held } = await makePaidOrder();
    const stockBefore = await stockOf(held.productId);
    const since = await lastAuditId();
    const body = { lines: [{ productId: held.productId, quantity: 2, restock: true }] };
    const answers = await Promise.all([refunds(admin.cookie, orderId, body), refunds(admin.cookie, orderId, body), refunds(admin.cookie, orderId, body)]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409]);
    const after = await moneyState(orderId, held.productId, since);
    expect(after.claims).toEqual([{ amount_cents: 2250, state: "done" }]);
    expect(after.lines).toEqual([{ product_id: held.productId, quantity: 2, amount_cents: 2250, restock: 1, restocked: 1 }]);
    expect(after.stock).toBe(stockBefore + 2);
    expect(after.audit.filter((a) => a === "order.refund_requested")).toHaveLength(1);
  });

  it("`expectedCents` guards the confirmed amount: another amount now is 409 refund_amount_changed and nothing moves", async () => {
    const admin = await as("admin");
    const { orderId, held } = await makePaidOrder();
    const since = await lastAuditId();
    const before = await moneyState(orderId, held.productId, since);
    const res = await refunds(admin.cookie, orderId, { refundRest: true, expectedCents: 1000 });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe("refund_amount_changed");
    expect(await moneyState(orderId, held.productId, since)).toEqual(before);
    const rest = await refunds(admin.cookie, orderId, { refundRest: true, expectedCents: 2250 });
    expect(await rest.json()).toMatchObject({ amountCents: 2250, status: "refunded" });
  });
});

describe("step-up for money actions", () => {
  it("P16 step-up cannot be skipped: an old sign-in without a code is 403 step_up_required (new and old route), a wrong or reused code opens nothing, a right code holds 15 minutes", async () => {
    const staff = await makeStaff("admin");
    await ageSession(staff);
    const { orderId, held } = await makePaidOrder();
    const since = await lastAuditId();
    const before = await moneyState(orderId, held.productId, since);
    const res = await refunds(staff.cookie, orderId, { amountCents: 500 });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("step_up_required");
    const old = await json(staff.cookie, "POST", `/api/admin/orders/${orderId}/refund`, { amountCents: 500 });
    expect(((await old.json()) as { code: string }).code).toBe("reauth_required");
    for (const code of ["000000", "12345", "abcdef", ""]) {
      expect((await json(staff.cookie, "POST", "/api/admin/step-up", { code })).status, code).not.toBe(200);
    }
    expect((await refunds(staff.cookie, orderId, { amountCents: 500 })).status).toBe(403);
    expect(await moneyState(orderId, held.productId, since)).toEqual(before);
    const code = await acceptableCode(staff.totpSecret!);
    const stepped = await json(staff.cookie, "POST", "/api/admin/step-up", { code });
    expect(stepped.status, await stepped.clone().text()).toBe(200);
    expect((await refunds(staff.cookie, orderId, { amountCents: 500 })).status).toBe(202);
    // The same code again is refused (RFC 6238 §5.2), whatever else it would open.
    await env.DB.prepare("DELETE FROM session_step_up WHERE user_id = ?").bind(staff.user.id).run();
    const reused = await json(staff.cookie, "POST", "/api/admin/step-up", { code });
    expect(((await reused.json()) as { code: string }).code).toBe("step_up_invalid_code");
    // An expired step-up (16 minutes ago) is no step-up.
    await env.DB.prepare("INSERT INTO session_step_up (session_id, user_id, method, verified_at) SELECT id, user_id, 'otp', ? FROM session WHERE user_id = ?")
      .bind(Date.now() - 16 * 60_000, staff.user.id)
      .run();
    const since2 = await lastAuditId();
    const before2 = await moneyState(orderId, held.productId, since2);
    expect((await refunds(staff.cookie, orderId, { amountCents: 500 })).status).toBe(403);
    expect(await moneyState(orderId, held.productId, since2)).toEqual(before2);
    expect((await auditRowsAfter(since)).some((r) => r.action === "auth.step_up" && r.actor === staff.user.id)).toBe(true);
  });

  it("P16 the refund page asks for the code in place, keeps the choice, and refunds only after the confirmation step; forged fields skip nothing", async () => {
    const staff = await makeStaff("admin");
    await ageSession(staff);
    const { orderId, held } = await makePaidOrder();
    const form = { mode: "lines", [`qty.${held.variantId}`]: "1", [`restock.${held.variantId}`]: "on" };
    const confirm = await request(`/admin/orders/${orderId}/refund?${new URLSearchParams(form)}`, { headers: { cookie: staff.cookie } });
    expect(confirm.status).toBe(200);
    const page = await confirm.text();
    expect(page).toContain('data-confirm-amount="1125"');
    expect(page).toContain("$11.25");
    expect(page).toContain('name="code"');
    const key = /name="idempotencyKey" value="([^"]+)"/.exec(page)?.[1];
    if (!key) throw new Error(page.slice(page.indexOf("<main"), page.indexOf("</main>")));
    const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      request(`/admin/orders/${orderId}/refund`, {
        method: "POST",
        headers: { cookie: staff.cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(fields),
        redirect: "manual",
      });
    const since = await lastAuditId();
    const before = await moneyState(orderId, held.productId, since);
    // No code: back to the confirmation page (a GET address) with the choice kept.
    const noCode = await post({ ...form, expectedCents: "1125", idempotencyKey: key });
    expect(noCode.status).toBe(303);
    const back = new URL(noCode.headers.get("location")!, ORIGIN);
    expect(back.pathname).toBe(`/admin/orders/${orderId}/refund`);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({ ...form, error: "step_up_required", key });
    // Forged fields claiming a step-up or a confirmation, a wrong code, another site's form: nothing.
    expect((await post({ ...form, expectedCents: "1125", idempotencyKey: key, stepUp: "ok", stepUpVerified: "1", confirmed: "true" })).status).toBe(303);
    expect((await post({ ...form, expectedCents: "1125", idempotencyKey: key, code: "000000" })).headers.get("location")).toContain("error=invalid_code");
    expect((await post({ ...form, expectedCents: "1125", idempotencyKey: key, code: "123456" }, { origin: "https://evil.example" })).status).toBe(403);
    expect(await moneyState(orderId, held.productId, since)).toEqual(before);
    // The right code on the confirmation: the refund is made, the unit restocked.
    const done = await post({ ...form, expectedCents: "1125", idempotencyKey: key, code: await acceptableCode(staff.totpSecret!) });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(`/admin/orders/${orderId}?refunded=1125`);
    expect((await orderRow(orderId))?.refundedCents).toBe(1125);
    // Within the window the next confirmation asks for no code; without its amount (skipping the confirmation step) nothing moves.
    const since2 = await lastAuditId();
    const before2 = await moneyState(orderId, held.productId, since2);
    const skipped = await post({ mode: "rest", idempotencyKey: crypto.randomUUID() });
    expect(skipped.headers.get("location")).toContain("error=confirm");
    expect(await moneyState(orderId, held.productId, since2)).toEqual(before2);
    const second = await (await request(`/admin/orders/${orderId}/refund?mode=rest`, { headers: { cookie: staff.cookie } })).text();
    expect(second).not.toContain('name="code"');
    expect(second).toContain('data-confirm-amount="1125"');
  });
});

describe("who may refund", () => {
  it("P16 support and customers cannot refund, step up, open the refund page or export orders; nothing changes", async () => {
    const support = await as("support");
    const customer = await as("customer");
    const { orderId, held } = await makePaidOrder();
    const since = await lastAuditId();
    const before = await moneyState(orderId, held.productId, since);
    for (const who of [support, customer]) {
      expect((await refunds(who.cookie, orderId, { amountCents: 100 })).status).toBe(403);
      expect((await json(who.cookie, "POST", `/api/admin/orders/${orderId}/refund`, { amountCents: 100 })).status).toBe(403);
      expect((await json(who.cookie, "POST", "/api/admin/step-up", { code: "123456" })).status).toBe(403);
      expect((await request(`/admin/orders/${orderId}/refund?mode=rest`, { headers: who })).status).toBe(403);
      expect((await request("/admin/orders/export.csv", { headers: who })).status).toBe(403);
      const post = await request(`/admin/orders/${orderId}/refund`, {
        method: "POST",
        headers: { ...who, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ mode: "rest", expectedCents: "2250", code: "123456" }),
        redirect: "manual",
      });
      expect(post.status).toBe(403);
    }
    // Support reads the order desk; a customer does not.
    expect((await request("/admin", { headers: support })).status).toBe(200);
    expect((await request("/admin", { headers: customer })).status).toBe(403);
    expect(await moneyState(orderId, held.productId, since)).toEqual(before);
  });
});
