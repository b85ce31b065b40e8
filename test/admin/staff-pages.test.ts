import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeStaff, markEmailVerified, signUpAndSignIn } from "../support/accounts";
import { appRequest, as } from "../support/admin";
import { auditRows, auditRowsAfter, lastAuditId } from "../support/audit";
import { makeCoupon } from "../support/coupons";
import { unique } from "../support/factories";
import { makePendingOrder, orderRow } from "../support/orders";

function postForm(path: string, fields: Record<string, string>, headers: Record<string, string>): Promise<Response> {
  return appRequest(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost:8787", ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

function intent(): string {
  return `pi_test_${crypto.randomUUID().replaceAll("-", "")}`;
}

describe("staff pages: coupons, orders, users", { timeout: 30_000 }, () => {
  it("P16 every new page and form is behind the guard; support may only read the order pages", async () => {
    const coupon = await makeCoupon();
    const { order } = await makePendingOrder({ status: "paid", paymentIntentId: intent() });
    const callers: [string, Record<string, string>][] = [
      ["guest", {}],
      ["customer", await as("customer")],
      ["support", await as("support")],
      ["no second factor", await as("admin", { twoFactorEnabled: false })],
    ];
    const target = await signUpAndSignIn();
    const before = { coupon: await env.DB.prepare("SELECT * FROM coupons WHERE code = ?").bind(coupon.code).first() };
    for (const [who, headers] of callers) {
      const expected = who === "guest" ? 401 : 403;
      for (const path of ["/admin/coupons", `/admin/coupons/${coupon.code}`, "/admin/users", "/admin/orders", `/admin/orders/${order.id}`]) {
        const res = await appRequest(path, { headers });
        const readable = who === "support" && path.startsWith("/admin/orders");
        expect(res.status, `${who} ${path}`).toBe(readable ? 200 : expected);
      }
      const posts: [string, Record<string, string>][] = [
        ["/admin/coupons", { code: unique("EVIL").replaceAll("-", ""), kind: "percent", value: "100", active: "on" }],
        [`/admin/coupons/${coupon.code}`, { kind: "percent", value: "100", active: "on" }],
        [`/admin/coupons/${coupon.code}/active`, { active: "false" }],
        [`/admin/orders/${order.id}/refund`, {}],
        [`/admin/users/${target.user.id}/role`, { role: "admin" }],
      ];
      const mark = JSON.stringify(await auditRows());
      for (const [path, fields] of posts) {
        expect((await postForm(path, fields, headers)).status, `${who} POST ${path}`).toBe(expected);
      }
      expect(JSON.stringify(await auditRows())).toBe(mark);
    }
    expect(await env.DB.prepare("SELECT * FROM coupons WHERE code = ?").bind(coupon.code).first()).toEqual(before.coupon);
    expect((await orderRow(order.id))!.status).toBe("paid");
    expect((await env.DB.prepare("SELECT role FROM user WHERE id = ?").bind(target.user.id).first<{ role: string }>())!.role).toBe("customer");
    // The support page shows no refund button.
    const html = await (await appRequest(`/admin/orders/${order.id}`, { headers: await as("support") })).text();
    expect(html).not.toContain("/refund");
  }, 30_000);

  it("an admin creates, edits and deactivates a coupon through forms, and sees its redemptions", async () => {
    const admin = await as("admin");
    const before = await lastAuditId();
    const code = unique("form")
      .replaceAll(/[^A-Za-z0-9]/g, "")
      .slice(0, 30);
    const created = await postForm(
      "/admin/coupons",
      {
        code: code.toLowerCase(),
        kind: "amount",
        value: "300",
        currency: "USD",
        maxRedemptions: "",
        perCustomerLimit: "2",
        startsAt: "",
        expiresAt: "2031-05-01T12:00",
        active: "on",
      },
      admin,
    );
    expect(created.status).toBe(303);
    const location = created.headers.get("location")!;
    expect(location).toBe(`/admin/coupons/${code.toUpperCase()}`);
    expect(
      await env.DB.prepare("SELECT amount_off_cents, per_customer_limit, max_redemptions, expires_at, active FROM coupons WHERE code = ?")
        .bind(code.toUpperCase())
        .first(),
    ).toEqual({
      amount_off_cents: 300,
      per_customer_limit: 2,
      max_redemptions: null,
      expires_at: "2031-05-01T12:00:00.000Z",
      active: 1,
    });
    const edited = await postForm(
      location,
      { kind: "percent", value: "15", maxRedemptions: "", perCustomerLimit: "2", startsAt: "", expiresAt: "2031-05-01T12:00", active: "on" },
      admin,
    );
    expect(edited.status).toBe(303);
    const off = await postForm(`${location}/active`, { active: "false" }, admin);
    expect(off.status).toBe(303);
    expect(await env.DB.prepare("SELECT percent_off, amount_off_cents, active FROM coupons WHERE code = ?").bind(code.toUpperCase()).first()).toEqual({
      percent_off: 15,
      amount_off_cents: null,
      active: 0,
    });
    expect((await auditRowsAfter(before)).map((e) => e.action)).toEqual(["coupon.created", "coupon.updated", "coupon.updated"]);

    const orderId = unique("ord");
    await env.DB.prepare("INSERT INTO coupon_redemptions (code, order_id, user_id) VALUES (?, ?, ?)").bind(code.toUpperCase(), orderId, "usr_page").run();
    const page = await (await appRequest(location, { headers: admin })).text();
    expect(page).toContain(orderId);
    expect(page).toContain("inactive");
    const locked = await postForm(
      location,
      { kind: "percent", value: "15", maxRedemptions: "10", perCustomerLimit: "2", startsAt: "", expiresAt: "", active: "on" },
      admin,
    );
    expect(locked.status).toBe(409);
    const bad = await postForm("/admin/coupons", { code: "bad code!", kind: "percent", value: "10" }, admin);
    expect(bad.status).toBe(422);
  });

  it("an admin searches orders, opens one with its timeline and refunds it with the form", async () => {
    const admin = await makeStaff("admin");
    const headers = { cookie: admin.cookie };
    const shopper = await signUpAndSignIn();
    const { order } = await makePendingOrder({ userId: shopper.user.id, status: "paid", paymentIntentId: intent() });
    const list = await (await appRequest(`/admin/orders?status=paid&customer=${encodeURIComponent(shopper.email)}`, { headers })).text();
    expect(list).toContain(order.id);
    const detail = await (await appRequest(`/admin/orders/${order.id}`, { headers })).text();
    expect(detail).toContain(shopper.email);
    expect(detail).toContain(`/admin/orders/${order.id}/refund`);
    // The form asks for a confirmation naming the amount; its POST refunds (a sign-in just now is the step-up).
    const confirm = await (await appRequest(`/admin/orders/${order.id}/refund?mode=rest`, { headers })).text();
    expect(confirm).toContain('data-confirm-amount="2500"');
    const key = /name="idempotencyKey" value="([^"]+)"/.exec(confirm)![1]!;
    const res = await postForm(`/admin/orders/${order.id}/refund`, { mode: "rest", expectedCents: "2500", idempotencyKey: key }, headers);
    expect(res.status).toBe(303);
    expect((await orderRow(order.id))!.status).toBe("refunded");
    expect(await (await appRequest(`/admin/orders/${order.id}`, { headers })).text()).toContain("charge.refunded");
  });

  it("an admin changes a role with the form; a stale sign-in is refused on the page too", async () => {
    const admin = await makeStaff("admin");
    const target = await signUpAndSignIn({ name: "Role <Target>" });
    await markEmailVerified(target.user.id); // staff roles go only to verified addresses (decision 012)
    const page = await (await appRequest(`/admin/users?q=${target.user.id}`, { headers: { cookie: admin.cookie } })).text();
    expect(page).toContain("Role &lt;Target&gt;");
    const res = await postForm(`/admin/users/${target.user.id}/role`, { role: "support" }, { cookie: admin.cookie });
    expect(res.status).toBe(303);
    expect((await env.DB.prepare("SELECT role FROM user WHERE id = ?").bind(target.user.id).first<{ role: string }>())!.role).toBe("support");

    await env.DB.prepare("UPDATE session SET created_at = created_at - 660000 WHERE user_id = ?").bind(admin.user.id).run();
    const before = await lastAuditId();
    const stale = await postForm(`/admin/users/${target.user.id}/role`, { role: "admin" }, { cookie: admin.cookie });
    expect(stale.status).toBe(403);
    expect(await stale.text()).toContain("Sign in again");
    expect((await env.DB.prepare("SELECT role FROM user WHERE id = ?").bind(target.user.id).first<{ role: string }>())!.role).toBe("support");
    expect(await lastAuditId()).toBe(before);
  });
});

describe("staff tables", () => {
  it("every table header on the staff pages names its column for screen readers (scope)", async () => {
    const admin = await as("admin");
    const { order } = await makePendingOrder();
    await makeCoupon();
    for (const path of ["/admin/products", "/admin/coupons", "/admin/orders", `/admin/orders/${order.id}`, "/admin/users", "/admin/audit"]) {
      const html = await (await appRequest(path, { headers: admin })).text();
      const headers = [...html.matchAll(/<th\b[^>]*>/g)].map((m) => m[0]);
      expect(headers.length, path).toBeGreaterThan(0);
      for (const th of headers) expect(th, path).toMatch(/scope="(col|row)"/);
    }
  });
});

describe("staff home", () => {
  it("is the dashboard for support and admins (issue 32); a customer is refused", async () => {
    const support = await appRequest("/admin", { headers: await as("support"), redirect: "manual" });
    expect(support.status).toBe(200);
    expect(await support.text()).toContain('data-tile="to-ship"');
    const admin = await appRequest("/admin", { headers: await as("admin"), redirect: "manual" });
    expect(admin.status).toBe(200);
    const customer = await appRequest("/admin", { headers: await as("customer"), redirect: "manual" });
    expect(customer.status).toBe(403);
  });
});
