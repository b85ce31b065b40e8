import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { verifyAuditChain } from "../../src/audit/audit";
import { makeProduct, unique } from "../support/factories";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { auditRows, auditRowsAfter, lastAuditId } from "../support/audit";
import { makeHeldOrder, stockOf } from "../support/orders";
import { deliverEvent, sessionEvent } from "../support/stripe";

interface AdminProductJson {
  id: string;
  slug: string;
  name: string;
  priceCents: number;
  stock: number;
  hidden: boolean;
  createdAt: string;
}

async function productRow(id: string): Promise<unknown> {
  return env.DB.prepare("SELECT * FROM products WHERE id = ?").bind(id).first();
}

describe("staff API: products", () => {
  it("an admin creates a product; the audit event names the admin, the product and the values", async () => {
    const admin = await as("admin");
    const adminId = ((await (await request("/api/me", { headers: admin })).json()) as { user: { id: string } }).user.id;
    const before = await lastAuditId();
    const slug = unique("kettle").toLowerCase();
    const res = await sendJson(
      "POST",
      "/api/admin/products",
      { slug, name: "Kettle", priceCents: 2500, stock: 3 },
      { ...admin, "cf-connecting-ip": "198.51.100.7" },
    );
    expect(res.status).toBe(201);
    const created = (await res.json()) as AdminProductJson;
    expect(created).toMatchObject({ slug, name: "Kettle", priceCents: 2500, stock: 3, hidden: false });
    const [event] = await auditRowsAfter(before);
    expect(event).toMatchObject({ actor: adminId, action: "product.created", subject: created.id, ip: "198.51.100.7" });
    expect(JSON.parse(event!.detail)).toMatchObject({ after: { slug, priceCents: 2500, stock: 3 } });
  });

  it("lists hidden products too, for staff", async () => {
    const hidden = await makeProduct({ hidden: true });
    const res = await request("/api/admin/products?limit=100", { headers: await as("admin") });
    const ids: string[] = [];
    let body = (await res.json()) as { items: AdminProductJson[]; nextCursor: string | null };
    ids.push(...body.items.map((p) => p.id));
    while (body.nextCursor) {
      body = (await (await request(`/api/admin/products?limit=100&cursor=${body.nextCursor}`, { headers: await as("admin") })).json()) as typeof body;
      ids.push(...body.items.map((p) => p.id));
    }
    expect(ids).toContain(hidden.id);
  });

  it("edits, hides and restocks; the audit event holds before/after of the changed fields only", async () => {
    const p = await makeProduct({ priceCents: 1000, stock: 5 });
    const before = await lastAuditId();
    const res = await sendJson("PATCH", `/api/admin/products/${p.id}`, { priceCents: 1200, hidden: true, stock: 5 }, await as("admin"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: p.id, priceCents: 1200, hidden: true, stock: 5 });
    const [event] = await auditRowsAfter(before);
    expect(event).toMatchObject({ action: "product.updated", subject: p.id });
    expect(JSON.parse(event!.detail)).toEqual({ changes: { priceCents: { from: 1000, to: 1200 }, hidden: { from: false, to: true } } });
    expect((await verifyAuditChain(env.DB)).ok).toBe(true);
  });

  it("refuses a taken slug with 409 and an unknown product with 404", async () => {
    const a = await makeProduct();
    const b = await makeProduct();
    const clash = await sendJson("PATCH", `/api/admin/products/${b.id}`, { slug: a.slug }, await as("admin"));
    expect(clash.status).toBe(409);
    const dup = await sendJson("POST", "/api/admin/products", { slug: a.slug, name: "Dup", priceCents: 1 }, await as("admin"));
    expect(dup.status).toBe(409);
    const missing = await sendJson("PATCH", "/api/admin/products/prd_nope", { stock: 1 }, await as("admin"));
    expect(missing.status).toBe(404);
  });

  it("P16 mass assignment: id, createdAt, role and other unknown fields on create and update are refused with 422, nothing changes", async () => {
    const p = await makeProduct({ priceCents: 700 });
    const rowBefore = JSON.stringify(await productRow(p.id));
    const auditBefore = JSON.stringify(await auditRows());
    const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM products").first<{ n: number }>())!.n;
    const countBefore = await count();
    const patches = [
      { id: "prd_mine" },
      { createdAt: "2000-01-01T00:00:00.000Z" },
      { updatedAt: "x" },
      { role: "admin" },
      { priceCents: 1, __proto__x: 1 },
      { price_cents: 1 },
    ];
    for (const patch of patches) {
      const res = await sendJson("PATCH", `/api/admin/products/${p.id}`, patch, await as("admin"));
      expect(res.status, JSON.stringify(patch)).toBe(422);
      expect(((await res.json()) as { code: string }).code).toBe("validation_failed");
    }
    const create = await sendJson(
      "POST",
      "/api/admin/products",
      { id: "prd_chosen", slug: unique("x").toLowerCase(), name: "X", priceCents: 1, createdAt: "2000-01-01" },
      await as("admin"),
    );
    expect(create.status).toBe(422);
    for (const bad of [{ priceCents: -1 }, { priceCents: 1.5 }, { stock: -3 }, { currency: "usd" }, { imageUrl: "javascript:alert(1)" }, {}]) {
      expect((await sendJson("PATCH", `/api/admin/products/${p.id}`, bad, await as("admin"))).status, JSON.stringify(bad)).toBe(422);
    }
    expect(JSON.stringify(await productRow(p.id))).toBe(rowBefore);
    expect(await count()).toBe(countBefore);
    expect(JSON.stringify(await auditRows())).toBe(auditBefore);
  });

  it("T10 forged audit line through a crafted product name: one event, the name stays one escaped field, the chain verifies", async () => {
    const before = await lastAuditId();
    const name = 'Mug"},{"id":1,"actor":"admin","action":"user.role_changed"}\n2026-01-01T00:00:00Z admin user.role_changed usr_eve\r\u2028';
    const res = await sendJson("POST", "/api/admin/products", { slug: unique("mug").toLowerCase(), name, priceCents: 900 }, await as("admin"));
    expect(res.status).toBe(201);
    const events = await auditRowsAfter(before);
    expect(events).toHaveLength(1);
    expect(events[0]!.action).toBe("product.created");
    const stored = (JSON.parse(events[0]!.detail) as { after: { name: string } }).after.name;
    expect(stored).not.toMatch(/[\n\r\u2028]/);
    expect(stored).toContain("\\u000a2026-01-01");
    const verify = await request("/api/admin/audit/verify", { headers: await as("admin") });
    expect(await verify.json()).toMatchObject({ ok: true });
  });

  it("pages the audit log with a cursor and shows the API shape", async () => {
    await makeProduct();
    for (let i = 0; i < 3; i++) await sendJson("PATCH", `/api/admin/products/${(await makeProduct()).id}`, { stock: 40 + i }, await as("admin"));
    const first = (await (await request("/api/admin/audit?limit=2", { headers: await as("admin") })).json()) as {
      items: { id: number; prevHash: string; hash: string }[];
      nextCursor: string;
    };
    expect(first.items).toHaveLength(2);
    expect(first.items[1]!.prevHash).toBe(first.items[0]!.hash);
    const second = (await (await request(`/api/admin/audit?limit=2&cursor=${first.nextCursor}`, { headers: await as("admin") })).json()) as typeof first;
    expect(second.items[0]!.id).toBe(first.items[1]!.id + 1);
    expect((await request("/api/admin/audit?cursor=-5", { headers: await as("admin") })).status).toBe(400);
  });
});

describe("stock that staff edit is what is on the shelf (issue 20 §6, P13)", { timeout: 60_000 }, () => {
  it("P13 stock edits are on hand: with 2 units held, a recount setting on hand to 4 leaves 2 sellable, and when the order closes unpaid sellable is 4 — never 6", async () => {
    const admin = await as("admin");
    const h = await makeHeldOrder(); // 2 units held, 3 sellable (5 were on the shelf)
    const shown = (await (await request(`/api/admin/products?limit=100`, { headers: admin })).json()) as {
      items: { id: string; stock: number; held: number; sellable: number }[];
    };
    expect(shown.items.find((p) => p.id === h.productId)).toMatchObject({ stock: 5, held: 2, sellable: 3 });
    // A recount finds one unit less on the shelf: staff set on hand to 4.
    const before = await lastAuditId();
    const res = await sendJson("PATCH", `/api/admin/products/${h.productId}`, { stock: 4 }, admin);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ stock: 4, held: 2, sellable: 2 });
    expect(await stockOf(h.productId)).toBe(2);
    const [event] = await auditRowsAfter(before);
    expect(JSON.parse(event!.detail)).toEqual({ changes: { stock: { from: 5, to: 4 } }, stock: { onHand: { from: 5, to: 4 }, heldAtEdit: 2, sellable: 2 } });
    // The held order expires: its 2 units come back, and sellable equals the shelf again.
    const expired = sessionEvent({
      type: "checkout.session.expired",
      sessionId: h.sessionId,
      orderId: h.order.id,
      amountTotal: h.order.totalCents,
      currency: "usd",
      paymentStatus: "unpaid",
    });
    expect((await deliverEvent(expired)).status).toBe(200);
    expect(await stockOf(h.productId)).toBe(4);
    const page = await (await request(`/admin/products/${h.productId}`, { headers: admin })).text();
    expect(page).toContain('data-stock-held="0"');
    expect(page).toContain('data-stock-sellable="4"');
  });

  it("P13 on hand below the held units is refused with 409 stock_below_held and changes nothing; the form says why", async () => {
    const admin = await as("admin");
    const h = await makeHeldOrder();
    const before = await lastAuditId();
    const row = await productRow(h.productId);
    const res = await sendJson("PATCH", `/api/admin/products/${h.productId}`, { stock: 1 }, admin);
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { code: string }).code).toBe("stock_below_held");
    expect(await productRow(h.productId)).toEqual(row);
    expect(await lastAuditId()).toBe(before);
    const product = (await (await request(`/api/admin/products?limit=100`, { headers: admin })).json()) as {
      items: { id: string; slug: string; name: string; priceCents: number }[];
    };
    const p = product.items.find((i) => i.id === h.productId)!;
    const form = await request(`/admin/products/${h.productId}`, {
      method: "POST",
      headers: { ...admin, origin: "http://localhost:8787", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        slug: p.slug,
        name: p.name,
        description: "",
        price: (p.priceCents / 100).toFixed(2),
        currency: "USD",
        stock: "1",
      }).toString(),
    });
    expect(form.status).toBe(409);
    expect(await form.text()).toContain("held by unpaid orders");
    expect(await productRow(h.productId)).toEqual(row);
  });
});

describe("prices the payment provider cannot charge are refused when staff save them (issue 29 item 8)", () => {
  const count = async (): Promise<number> => (await env.DB.prepare("SELECT count(*) AS n FROM products").first<{ n: number }>())!.n;

  it("POST /api/admin/products: a KWD price off its 10-fils step, a price over the 8-digit maximum and a currency the shop cannot charge are 422 with a stable code; nothing is written", async () => {
    const admin = await as("admin");
    const cases: [Record<string, unknown>, string][] = [
      [{ currency: "KWD", priceCents: 5125 }, "amount_not_chargeable"],
      [{ currency: "BHD", priceCents: 1 }, "amount_not_chargeable"],
      [{ currency: "USD", priceCents: 100_000_000 }, "amount_above_maximum"],
      [{ currency: "ISK", priceCents: 1_000_000 }, "amount_above_maximum"], // 1,000,000 ISK is 100,000,000 of Stripe's hundredths
      [{ currency: "ZZZ", priceCents: 1000 }, "currency_not_chargeable"],
      [{ currency: "IQD", priceCents: 1000 }, "currency_not_chargeable"],
    ];
    const countBefore = await count();
    const auditBefore = await lastAuditId();
    for (const [fields, code] of cases) {
      const slug = unique("unchargeable").toLowerCase();
      const res = await sendJson("POST", "/api/admin/products", { slug, name: "Unchargeable", ...fields }, admin);
      expect(res.status, JSON.stringify(fields)).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code, JSON.stringify(fields)).toBe(code);
    }
    expect(await count()).toBe(countBefore);
    expect(await lastAuditId()).toBe(auditBefore);
    // The same currencies on their steps and under the maximum are fine.
    for (const fields of [
      { currency: "KWD", priceCents: 5120 },
      { currency: "USD", priceCents: 99_999_999 },
      { currency: "ISK", priceCents: 999_999 },
    ]) {
      const res = await sendJson("POST", "/api/admin/products", { slug: unique("chargeable").toLowerCase(), name: "Fine", ...fields }, admin);
      expect(res.status, JSON.stringify(fields)).toBe(201);
    }
  });

  it("PATCH checks the price against the currency it will have: a new price, a new currency, or both; the row and the audit log stay as they were", async () => {
    const admin = await as("admin");
    const p = await makeProduct({ priceCents: 1005, currency: "USD" });
    const rowBefore = JSON.stringify(await productRow(p.id));
    const auditBefore = await lastAuditId();
    for (const [patch, code] of [
      [{ currency: "KWD" }, "amount_not_chargeable"], // 1005 is 1.005 KWD: off the 10-fils step
      [{ priceCents: 100_000_000 }, "amount_above_maximum"],
      [{ currency: "JOD", priceCents: 999 }, "amount_not_chargeable"],
      [{ currency: "XTS" }, "currency_not_chargeable"],
    ] as const) {
      const res = await sendJson("PATCH", `/api/admin/products/${p.id}`, patch, admin);
      expect(res.status, JSON.stringify(patch)).toBe(422);
      expect(((await res.json()) as { code: string }).code, JSON.stringify(patch)).toBe(code);
    }
    expect(JSON.stringify(await productRow(p.id))).toBe(rowBefore);
    expect(await lastAuditId()).toBe(auditBefore);
    const ok = await sendJson("PATCH", `/api/admin/products/${p.id}`, { currency: "KWD", priceCents: 1010 }, admin);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ currency: "KWD", priceCents: 1010 });
  });

  it("the staff form says why and writes nothing: 5.125 KWD cannot be charged, 5.120 can", async () => {
    const admin = await as("admin");
    const form = (path: string, fields: Record<string, string>) =>
      request(path, {
        method: "POST",
        headers: { ...admin, origin: "http://localhost:8787", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
        redirect: "manual",
      });
    const slug = unique("dinar").toLowerCase();
    const countBefore = await count();
    const auditBefore = await lastAuditId();
    const refused = await form("/admin/products", { slug, name: "Dinar lamp", price: "5.125", currency: "KWD", stock: "1" });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain("multiples of 10 minor units");
    expect(await count()).toBe(countBefore);
    expect(await lastAuditId()).toBe(auditBefore);
    const created = await form("/admin/products", { slug, name: "Dinar lamp", price: "5.120", currency: "KWD", stock: "1" });
    expect(created.status).toBe(303);
    const id = decodeURIComponent(created.headers.get("location")!.split("/").pop()!);
    expect(await env.DB.prepare("SELECT price_cents, currency FROM products WHERE id = ?").bind(id).first()).toEqual({ price_cents: 5120, currency: "KWD" });
    const edit = await form(`/admin/products/${id}`, { slug, name: "Dinar lamp", price: "5.125", currency: "KWD", stock: "1" });
    expect(edit.status).toBe(422);
    expect(await edit.text()).toContain("multiples of 10 minor units");
    expect(await env.DB.prepare("SELECT price_cents FROM products WHERE id = ?").bind(id).first()).toEqual({ price_cents: 5120 });
  });
});
