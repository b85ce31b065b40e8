import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeProduct } from "../support/factories";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { auditRows } from "../support/audit";


async function productsSnapshot(): Promise<string> {
  const { results } = await env.DB.prepare("SELECT * FROM products ORDER BY id").all();
  return JSON.stringify(results);
}

/** Every admin action of API.md, with a body that would succeed for an admin. */
function adminActions(productId: string): { method: string; path: string; body?: unknown; support: boolean }[] {
  return [
    { method: "GET", path: "/api/admin/products", support: false },
    { method: "POST", path: "/api/admin/products", body: { slug: `evil-${crypto.randomUUID().slice(0, 8)}`, name: "Evil", priceCents: 1 }, support: false },
    { method: "PATCH", path: `/api/admin/products/${productId}`, body: { priceCents: 1 }, support: false },
    { method: "GET", path: "/api/admin/coupons", support: false },
    { method: "POST", path: "/api/admin/coupons", body: { code: "EVIL", percentOff: 100 }, support: false },
    { method: "PATCH", path: "/api/admin/coupons/EVIL", body: { active: true }, support: false },
    { method: "POST", path: "/api/admin/orders/ord_x/refund", body: {}, support: false },
    { method: "GET", path: "/api/admin/audit", support: false },
    { method: "GET", path: "/api/admin/audit/verify", support: false },
    { method: "PUT", path: "/api/admin/users/usr_x/role", body: { role: "admin" }, support: false },
  ];
}

async function send(action: { method: string; path: string; body?: unknown }, headers: Record<string, string>): Promise<Response> {
  return action.body === undefined ? request(action.path, { method: action.method, headers }) : sendJson(action.method, action.path, action.body, headers);
}

describe("staff API access", () => {
  it("P16 a guest, a customer and a support user are refused on every admin action, and nothing changes", async () => {
    const product = await makeProduct({ priceCents: 5000 });
    const before = { products: await productsSnapshot(), audit: JSON.stringify(await auditRows()) };
    const callers: [string, Record<string, string>, number, string][] = [
      ["guest", {}, 401, "unauthenticated"],
      ["customer", await as("customer"), 403, "forbidden"],
      ["support", await as("support"), 403, "forbidden"],
    ];
    for (const action of adminActions(product.id)) {
      for (const [who, headers, status, code] of callers) {
        if (who === "support" && action.support) continue;
        const res = await send(action, headers);
        expect(res.status, `${who} ${action.method} ${action.path}`).toBe(status);
        expect(((await res.json()) as { code: string }).code, `${who} ${action.method} ${action.path}`).toBe(code);
      }
    }
    expect(await productsSnapshot()).toBe(before.products);
    expect(JSON.stringify(await auditRows())).toBe(before.audit);
  });

  it("P16 staff without a second factor get 403 mfa_required on every admin action, and nothing changes", async () => {
    const product = await makeProduct();
    const before = { products: await productsSnapshot(), audit: JSON.stringify(await auditRows()) };
    for (const action of adminActions(product.id)) {
      const res = await send(action, await as("admin", { twoFactorEnabled: false }));
      expect(res.status, `${action.method} ${action.path}`).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("mfa_required");
    }
    expect(await productsSnapshot()).toBe(before.products);
    expect(JSON.stringify(await auditRows())).toBe(before.audit);
  });

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
        const res = method === "DELETE" ? await request(path, { method, headers: { ...admin, origin: "http://localhost:8787" } }) : await sendJson(method, path, { actor: "x", detail: {} }, admin);
        expect([404, 405], `${method} ${path}`).toContain(res.status);
      }
    }
    expect(JSON.stringify(await auditRows())).toBe(before);
    const verify = await request("/api/admin/audit/verify", { headers: admin });
    expect(await verify.json()).toMatchObject({ ok: true, count: rows.length });
  });
});
