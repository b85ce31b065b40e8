import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Cart } from "../../src/cart/cart";
import { isGuestCartId, newGuestCartId } from "../../src/cart/cart";
import { PRICING_ROW_TTL_MS, forgetPricingRows } from "../../src/catalog/shared-pricing";
import { appJson, as } from "../support/admin";
import { makeProduct, unique } from "../support/factories";
import { request, sendJson } from "../support/http";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { cartIdFrom, cartJson, cartSetCookie, getCart, guestCart, guestState } from "../support/cart";

async function problemCode(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

describe("cart API: basics", () => {
  it("a guest without a cookie sees an empty cart and gets no cookie for a mere look", async () => {
    const res = await request("/api/cart");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      items: [],
      coupon: null,
      subtotalCents: 0,
      discountCents: 0,
      totalCents: 0,
      currency: "USD",
      version: 0,
      couponNotice: null,
      promotion: null,
    });
    expect(cartSetCookie(res)).toBeNull();
  });

  it("the first add issues a __Host- cookie (Secure; HttpOnly; SameSite=Lax; Path=/) with a 128-bit id, and the cart is priced from D1", async () => {
    const p = await makeProduct({ priceCents: 1250 });
    const res = await sendJson("POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 2 });
    expect(res.status).toBe(200);
    const line = cartSetCookie(res)!;
    expect(line).toMatch(/^__Host-bastion_cart=[A-Za-z0-9_-]{22};/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; SameSite=Lax/);
    expect(line).toMatch(/; Path=\//);
    expect(line).not.toMatch(/Domain=/i);
    const cart = (await res.json()) as Cart;
    expect(cart).toMatchObject({
      items: [{ productId: p.id, slug: p.slug, name: p.name, quantity: 2, unitPriceCents: 1250, lineTotalCents: 2500, imageUrl: p.imageUrl }],
      coupon: null,
      subtotalCents: 2500,
      discountCents: 0,
      totalCents: 2500,
      currency: "USD",
    });
    const id = cartIdFrom(res)!;
    expect(isGuestCartId(id)).toBe(true);
    // A change's answer leaves the automatic promotion out (decision 030: one round trip); GET says none applies.
    expect(await getCart(`__Host-bastion_cart=${id}`)).toEqual({ ...cart, promotion: null });
  });

  it("adding again adds to the line and clamps at 99; PUT sets, DELETE removes; each change bumps the version", async () => {
    const p = await makeProduct();
    const { id, cookie } = guestCart();
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 60 })).status).toBe(200);
    const clamped = (await (await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 60 })).json()) as Cart;
    expect(clamped.items[0]!.quantity).toBe(99);
    const set = (await (await cartJson(cookie, "PUT", `/api/cart/items/${p.id}`, { quantity: 3 })).json()) as Cart;
    expect(set.items[0]!.quantity).toBe(3);
    expect(set.version).toBe(3);
    const removed = (await (await cartJson(cookie, "DELETE", `/api/cart/items/${p.id}`)).json()) as Cart;
    expect(removed.items).toEqual([]);
    expect((await guestState(id)).version).toBe(4);
  });

  it("PUT on a product not in the cart is 404; unknown and hidden products cannot be added (404)", async () => {
    const hidden = await makeProduct({ hidden: true });
    const { id, cookie } = guestCart();
    expect((await cartJson(cookie, "PUT", `/api/cart/items/prd_nope`, { quantity: 1 })).status).toBe(404);
    const res = await cartJson(cookie, "POST", "/api/cart/items", { productId: hidden.id, variantId: hidden.variantId, quantity: 1 });
    expect(res.status).toBe(404);
    expect(await problemCode(res)).toBe("product_not_found");
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: "prd_missing", variantId: "var_prd_missing", quantity: 1 })).status).toBe(404);
    expect((await guestState(id)).lines).toEqual([]);
  });

  it("an out-of-stock product cannot be added (422 out_of_stock)", async () => {
    const p = await makeProduct({ stock: 0 });
    const { id, cookie } = guestCart();
    const res = await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 });
    expect(res.status).toBe(422);
    expect(await problemCode(res)).toBe("out_of_stock");
    expect((await guestState(id)).lines).toEqual([]);
  });

  it("a line whose product staff hid, or an operator deleted, is no longer shown, priced or kept (decision 009)", async () => {
    const keep = await makeProduct({ priceCents: 500 });
    const hide = await makeProduct({ priceCents: 700 });
    const remove = await makeProduct({ priceCents: 900 });
    const { id, cookie } = guestCart();
    for (const p of [keep, hide, remove]) await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 });
    // Staff hide it: this isolate forgets its shared pricing rows at once.
    expect((await appJson("PATCH", `/api/admin/products/${hide.id}`, { hidden: true }, await as("admin"))).status).toBe(200);
    expect((await getCart(cookie)).items.map((i) => i.productId)).toEqual([keep.id, remove.id]);
    // An operator deletes a row with SQL: carts see it once the shared row is older than 5 s.
    await env.DB.prepare("DELETE FROM products WHERE id = ?").bind(remove.id).run();
    expect((await getCart(cookie)).items.map((i) => i.productId)).toEqual([keep.id, remove.id]);
    // Really wait the TTL out (not a forget): the cart's object reads D1 again on its own.
    await new Promise((resolve) => setTimeout(resolve, PRICING_ROW_TTL_MS + 50));
    const cart = await getCart(cookie);
    expect(cart.items.map((i) => i.productId)).toEqual([keep.id]);
    expect(cart.subtotalCents).toBe(500);
    expect((await guestState(id)).lines.map((l) => l.productId)).toEqual([keep.id]);
  });

  it("the OpenAPI document describes every cart route and the Cart schema", async () => {
    const doc = (await (await request("/api/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths["/api/cart"] ?? doc.paths["/cart"] ?? {})).toContain("get");
    const paths = Object.keys(doc.paths).join(" ");
    for (const path of ["/cart/items", "/cart/items/{productId}", "/cart/coupon"]) expect(paths).toContain(path);
    expect(doc.components.schemas).toHaveProperty("Cart");
  });

  it("answers JSON only: a form-encoded body is 415", async () => {
    const p = await makeProduct();
    const res = await request("/api/cart/items", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost:8787" },
      body: `productId=${p.id}&quantity=1`,
    });
    expect(res.status).toBe(415);
  });
});

describe("cart API: attacks", () => {
  it("P13 quantity tampering: -1, 0, 1.5, '2', 1e9, null (NaN), 100 and a missing quantity are refused with 422 and nothing changes", async () => {
    const p = await makeProduct();
    const { id, cookie } = guestCart();
    await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 2 });
    const before = await guestState(id);
    const bad: unknown[] = [-1, 0, 1.5, "2", 1e9, null, Number.NaN, 100, "NaN", true, [1], { n: 1 }];
    for (const quantity of bad) {
      for (const [method, path, body] of [
        ["POST", "/api/cart/items", { productId: p.id, quantity }],
        ["PUT", `/api/cart/items/${p.id}`, { quantity }],
      ] as const) {
        const res = await cartJson(cookie, method, path, body);
        expect(res.status, `${method} ${JSON.stringify(quantity)}`).toBe(422);
        expect(await problemCode(res)).toBe("validation_failed");
      }
    }
    const missing = await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id });
    expect(missing.status).toBe(422);
    expect((await cartJson(cookie, "PUT", `/api/cart/items/${p.id}`, {})).status).toBe(422);
    expect(await guestState(id)).toEqual(before);
    const cart = await getCart(cookie);
    expect(cart.items).toMatchObject([{ productId: p.id, variantId: p.variantId, quantity: 2 }]);
  });

  it("P13 quantity tampering: the CartObject itself refuses invalid quantities (defence in depth)", async () => {
    const { id } = guestCart();
    const stub = env.CART.getByName(`guest:${id}`) as unknown as DurableObjectStub<import("../../src/cart/cart-object").CartObject>;
    for (const q of [-1, 0, 1.5, 100, Number.NaN, 1e9]) {
      expect(await stub.addItem("prd_x", q)).toEqual({ ok: false, code: "invalid_quantity" });
    }
    expect((await stub.getState()).lines).toEqual([]);
  });

  it("P13 line overflow: the 51st different product is refused with 409 cart_full and the cart keeps 50 lines", async () => {
    const products = await Promise.all(Array.from({ length: 51 }, (_, i) => makeProduct({ priceCents: 100 + i })));
    const { id, cookie } = guestCart();
    for (const p of products.slice(0, 50)) {
      expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 })).status).toBe(200);
    }
    const before = await guestState(id);
    const res = await cartJson(cookie, "POST", "/api/cart/items", { productId: products[50]!.id, quantity: 1 });
    expect(res.status).toBe(409);
    expect(await problemCode(res)).toBe("cart_full");
    expect(await guestState(id)).toEqual(before);
    expect((await getCart(cookie)).items).toHaveLength(50);
    // Adding to an existing line is still fine.
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: products[0]!.id, quantity: 1 })).status).toBe(200);
  });

  it("P11 price manipulation: priceCents, unitPriceCents, totalCents, discountCents in bodies are ignored; totals are D1 price × qty", async () => {
    const p = await makeProduct({ priceCents: 4321 });
    const { id, cookie } = guestCart();
    const res = await cartJson(cookie, "POST", "/api/cart/items", {
      productId: p.id,
      quantity: 3,
      priceCents: 1,
      unitPriceCents: 1,
      lineTotalCents: 1,
      totalCents: 0,
      subtotalCents: 0,
      discountCents: 999999,
      currency: "JPY",
    });
    expect(res.status).toBe(200);
    const cart = (await res.json()) as Cart;
    expect(cart).toMatchObject({ subtotalCents: 12963, discountCents: 0, totalCents: 12963, currency: "USD" });
    expect(cart.items[0]).toMatchObject({ unitPriceCents: 4321, lineTotalCents: 12963 });
    const put = (await (await cartJson(cookie, "PUT", `/api/cart/items/${p.id}`, { quantity: 2, unitPriceCents: 1, totalCents: 1 })).json()) as Cart;
    expect(put).toMatchObject({ subtotalCents: 8642, totalCents: 8642 });
    // The object stores only product ids and quantities: there is no price to tamper with.
    expect(await guestState(id)).toMatchObject({ lines: [{ productId: p.id, variantId: p.variantId, quantity: 2 }] });
    expect(JSON.stringify(await guestState(id))).not.toMatch(/Cents/);
    // D1 is the only source of prices: a staff price change shows on the next read.
    expect((await appJson("PATCH", `/api/admin/products/${p.id}`, { priceCents: 1000 }, await as("admin"))).status).toBe(200);
    expect(await getCart(cookie)).toMatchObject({ subtotalCents: 2000, totalCents: 2000 });
    // A change made with SQL shows once the shared row is past its 5 s (decision 009).
    await env.DB.prepare("UPDATE product_variants SET price_cents = 1500 WHERE id = ?").bind(p.variantId).run();
    forgetPricingRows(env.DB);
    expect(await getCart(cookie)).toMatchObject({ subtotalCents: 3000, totalCents: 3000 });
  });

  it("P12 IDOR: another shopper's cart is unreachable; cart ids in the query, body or path are ignored", async () => {
    const p = await makeProduct();
    const alice = guestCart();
    const bob = guestCart();
    await cartJson(alice.cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 5 });
    const aliceBefore = await guestState(alice.id);
    // Bob names Alice's cart everywhere he can think of.
    const viaQuery = await request(`/api/cart?cartId=${alice.id}&cart=${alice.id}&id=guest:${alice.id}`, { headers: { cookie: bob.cookie } });
    expect(((await viaQuery.json()) as Cart).items).toEqual([]);
    const viaBody = await cartJson(bob.cookie, "POST", "/api/cart/items", { productId: p.id, quantity: 1, cartId: alice.id, cart: `guest:${alice.id}` });
    expect(((await viaBody.json()) as Cart).items).toMatchObject([{ quantity: 1 }]);
    const viaPath = await request(`/api/cart/${alice.id}`, { headers: { cookie: bob.cookie } });
    expect(viaPath.status).toBe(404);
    const del = await cartJson(bob.cookie, "DELETE", `/api/cart/items/${p.id}?cartId=${alice.id}`);
    expect(del.status).toBe(200);
    expect(await guestState(alice.id)).toEqual(aliceBefore);
    expect((await getCart(alice.cookie)).items).toMatchObject([{ productId: p.id, variantId: p.variantId, quantity: 5 }]);
    expect((await guestState(bob.id)).lines).toEqual([]);
  });

  it("P12 forged cookie: a cart id we could not have issued gets a fresh empty cart, a new cookie, and one audit event", async () => {
    const p = await makeProduct();
    const victim = guestCart();
    await cartJson(victim.cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 });
    const victimBefore = await guestState(victim.id);
    const forged = [
      `guest:${victim.id}`,
      `${victim.id}A`,
      victim.id.slice(0, 21),
      "../../user:1",
      "user:usr_1",
      "x".repeat(500),
      "%00",
      "AAAAAAAAAAAAAAAAAAAAAB",
    ];
    for (const [i, value] of forged.entries()) {
      const before = await lastAuditId();
      // One address per attempt: refused requests are audited at most 5 times per address (flooding).
      const ip = `203.0.113.${50 + i}`;
      const res = await request("/api/cart", { headers: { cookie: `__Host-bastion_cart=${value}`, "cf-connecting-ip": ip } });
      expect(res.status, value).toBe(200);
      expect(((await res.json()) as Cart).items, value).toEqual([]);
      const fresh = cartIdFrom(res);
      expect(fresh, value).not.toBeNull();
      expect(isGuestCartId(fresh!)).toBe(true);
      expect(fresh).not.toBe(victim.id);
      const events = await auditRowsAfter(before);
      expect(
        events.map((e) => e.action),
        value,
      ).toEqual(["cart.cookie.rejected"]);
      expect(events[0]).toMatchObject({ actor: "anonymous", ip });
    }
    expect(await guestState(victim.id)).toEqual(victimBefore);
  });

  it("P12 stale cookie: a well-formed id nobody used is just an empty cart of its own, not another's", async () => {
    const stale = newGuestCartId();
    const cart = await getCart(`__Host-bastion_cart=${stale}`);
    expect(cart.items).toEqual([]);
  });

  it("P12 CSRF: a cart change with the cookie from another origin is refused with 403 and changes nothing", async () => {
    const p = await makeProduct();
    const { id, cookie } = guestCart();
    await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 });
    const before = await guestState(id);
    const res = await request("/api/cart/items", {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ productId: p.id, variantId: p.variantId, quantity: 5 }),
    });
    expect(res.status).toBe(403);
    expect(await guestState(id)).toEqual(before);
  });

  it("T08 race: 30 concurrent adds to one cart lose no update", async () => {
    const p = await makeProduct();
    const { id, cookie } = guestCart();
    await Promise.all(Array.from({ length: 30 }, () => cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 3 })));
    expect((await guestState(id)).lines).toEqual([{ productId: p.id, variantId: p.variantId, quantity: 90 }]);
    expect((await guestState(id)).version).toBe(30);
  });

  it("T08 race: concurrent adds of different products keep every line (none is taken for a deleted product)", async () => {
    // Each add reads D1 for the lines it saw; lines added meanwhile must be re-read, not dropped.
    const products = await Promise.all(Array.from({ length: 12 }, () => makeProduct()));
    const { id, cookie } = guestCart();
    const answers = await Promise.all(
      products.map((p) => cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 })),
    );
    expect(answers.map((r) => r.status)).toEqual(products.map(() => 200));
    const state = await guestState(id);
    expect(state.lines.map((l) => l.productId).sort()).toEqual(products.map((p) => p.id).sort());
    expect(state.version).toBe(12);
    const cart = await getCart(cookie);
    expect(cart.items).toHaveLength(12);
    expect(cart.subtotalCents).toBe(products.reduce((sum, p) => sum + p.priceCents, 0));
  });

  it("the id in the cookie is 128 random bits: ids do not repeat", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newGuestCartId()));
    expect(ids.size).toBe(1000);
    expect([...ids].every((id) => isGuestCartId(id))).toBe(true);
    expect(unique("x")).not.toBe(unique("x"));
  });
});
