import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeProduct } from "../support/factories";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { auditRows } from "../support/audit";
import { signUpAndSignIn } from "../support/accounts";
import { makeCoupon } from "../support/coupons";
import { makePendingOrder } from "../support/orders";

async function productsSnapshot(): Promise<string> {
  const { results } = await env.DB.prepare("SELECT * FROM products ORDER BY id").all();
  return JSON.stringify(results);
}

/** Everything an admin action could change: products, coupons, orders, roles, sessions, audit. */
async function stateSnapshot(): Promise<Record<string, string>> {
  const all = async (sql: string) => JSON.stringify((await env.DB.prepare(sql).all()).results);
  return {
    products: await productsSnapshot(),
    coupons: await all("SELECT * FROM coupons ORDER BY code"),
    orders: await all("SELECT id, status, updated_at FROM orders ORDER BY id"),
    users: await all("SELECT id, role FROM user ORDER BY id"),
    sessions: await all("SELECT id FROM session ORDER BY id"),
    paymentEvents: await all("SELECT id FROM payment_events ORDER BY id"),
    audit: JSON.stringify(await auditRows()),
  };
}

interface Target {
  couponCode: string;
  orderId: string;
  userId: string;
}

/** Real objects for the admin actions to aim at, so a refusal is not just a 404 in disguise. */
async function makeTargets(): Promise<Target> {
  const coupon = await makeCoupon();
  const { order } = await makePendingOrder({ status: "paid", paymentIntentId: `pi_test_${crypto.randomUUID().replaceAll("-", "")}` });
  const victim = await signUpAndSignIn();
  return { couponCode: coupon.code, orderId: order.id, userId: victim.user.id };
}

/** Every admin action of API.md, with a body that would succeed for an admin. */
function adminActions(
  productId: string,
  target: Target = { couponCode: "EVIL", orderId: "ord_x", userId: "usr_x" },
): { method: string; path: string; body?: unknown; support: boolean }[] {
  return [
    { method: "GET", path: "/api/admin/products", support: false },
    { method: "POST", path: "/api/admin/products", body: { slug: `evil-${crypto.randomUUID().slice(0, 8)}`, name: "Evil", priceCents: 1 }, support: false },
    { method: "PATCH", path: `/api/admin/products/${productId}`, body: { priceCents: 1 }, support: false },
    { method: "GET", path: "/api/admin/coupons", support: false },
    { method: "GET", path: `/api/admin/coupons/${target.couponCode}`, support: false },
    { method: "POST", path: "/api/admin/coupons", body: { code: "EVIL", percentOff: 100 }, support: false },
    { method: "PATCH", path: `/api/admin/coupons/${target.couponCode}`, body: { active: false }, support: false },
    { method: "GET", path: "/api/admin/orders", support: true },
    { method: "GET", path: `/api/admin/orders/${target.orderId}`, support: true },
    { method: "POST", path: `/api/admin/orders/${target.orderId}/refund`, body: {}, support: false },
    { method: "POST", path: `/api/admin/orders/${target.orderId}/refund`, support: false },
    { method: "GET", path: "/api/admin/users", support: false },
    { method: "PUT", path: `/api/admin/users/${target.userId}/role`, body: { role: "admin" }, support: false },
    { method: "GET", path: "/api/admin/audit", support: false },
    { method: "GET", path: "/api/admin/audit/verify", support: false },
    { method: "POST", path: "/api/admin/audit/restored", body: { note: "nothing happened" }, support: false },
    { method: "PUT", path: "/api/admin/users/usr_x/role", body: { role: "admin" }, support: false },
  ];
}

async function send(action: { method: string; path: string; body?: unknown }, headers: Record<string, string>): Promise<Response> {
  // From the shop's own origin, so the CSRF check passes and the staff guard is what answers.
  return action.body === undefined
    ? request(action.path, { method: action.method, headers: { ...headers, origin: "http://localhost:8787" } })
    : sendJson(action.method, action.path, action.body, headers);
}

describe("staff API access", () => {
  it("P16 a guest, a customer and a support user are refused on every admin action, and nothing changes", async () => {
    const product = await makeProduct({ priceCents: 5000 });
    const target = await makeTargets();
    // Callers sign in first: their sign-ins are audited, and are not what this test is about.
    const callers: [string, Record<string, string>, number, string][] = [
      ["guest", {}, 401, "unauthenticated"],
      ["customer", await as("customer"), 403, "forbidden"],
      ["support", await as("support"), 403, "forbidden"],
    ];
    const before = await stateSnapshot();
    for (const action of adminActions(product.id, target)) {
      for (const [who, headers, status, code] of callers) {
        if (who === "support" && action.support) continue;
        const res = await send(action, headers);
        expect(res.status, `${who} ${action.method} ${action.path}`).toBe(status);
        expect(((await res.json()) as { code: string }).code, `${who} ${action.method} ${action.path}`).toBe(code);
      }
    }
    expect(await stateSnapshot()).toEqual(before);
  }, 30_000);

  it("P16 staff without a second factor get 403 mfa_required on every admin action, and nothing changes", async () => {
    const product = await makeProduct();
    const target = await makeTargets();
    const noSecondFactor = await as("admin", { twoFactorEnabled: false });
    const before = await stateSnapshot();
    for (const action of adminActions(product.id, target)) {
      const res = await send(action, noSecondFactor);
      expect(res.status, `${action.method} ${action.path}`).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("mfa_required");
    }
    expect(await stateSnapshot()).toEqual(before);
  }, 30_000);

  it("support may read orders (the policy lets them past the guard)", async () => {
    const res = await request("/api/admin/orders", { headers: await as("support") });
    expect([200, 404]).toContain(res.status);
    expect(((await res.json()) as { code?: string }).code).not.toBe("forbidden");
  });

  it("T10/M-009 no route edits or deletes an audit event: PUT/PATCH/DELETE/POST on the audit log are 404/405 and the chain is unchanged", async () => {
    const admin = await as("admin");
    await sendJson("POST", "/api/admin/products", { slug: `audit-${crypto.randomUUID().slice(0, 8)}`, name: "Audited", priceCents: 100 }, admin);
    const rows = await auditRows();
    expect(rows.length).toBeGreaterThan(0);
    const id = rows[rows.length - 1]!.id;
    const before = JSON.stringify(rows);
    for (const method of ["PUT", "PATCH", "DELETE", "POST"]) {
      for (const path of ["/api/admin/audit", `/api/admin/audit/${id}`, "/api/admin/audit/verify"]) {
        const res =
          method === "DELETE"
            ? await request(path, { method, headers: { ...admin, origin: "http://localhost:8787" } })
            : await sendJson(method, path, { actor: "x", detail: {} }, admin);
        expect([404, 405], `${method} ${path}`).toContain(res.status);
      }
    }
    expect(JSON.stringify(await auditRows())).toBe(before);
    const verify = await request("/api/admin/audit/verify", { headers: admin });
    expect(await verify.json()).toMatchObject({ ok: true, count: rows.length });
  });
});
