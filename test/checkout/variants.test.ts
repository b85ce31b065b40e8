import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CartObject } from "../../src/cart/cart-object";
import { cartJson, cartObject, getCart, guestCart, guestState } from "../support/cart";
import { makeProduct, makeProductWithOptions, unique } from "../support/factories";
import { ORIGIN, request } from "../support/http";

// Options and variants end to end over HTTP (decision 025): attacks assert the refusal and that
// nothing changed (the cart's stored state, the variants' stock, the ledger, orders).

interface Problem {
  code: string;
}
interface Started {
  orderId: string;
  checkoutUrl: string;
  orderUrl?: string;
}

async function variantRow(id: string): Promise<{ stock: number; price_cents: number } | null> {
  return env.DB.prepare("SELECT stock, price_cents FROM product_variants WHERE id = ?").bind(id).first();
}
async function ledgerOf(variantId: string): Promise<{ delta: number; reason: string; actor: string; ref: string | null }[]> {
  const { results } = await env.DB.prepare("SELECT delta, reason, actor, ref FROM inventory_ledger WHERE variant_id = ? ORDER BY id").bind(variantId).all();
  return results as { delta: number; reason: string; actor: string; ref: string | null }[];
}
async function ordersOf(productId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM order_lines WHERE product_id = ?").bind(productId).first<{ n: number }>();
  return row?.n ?? 0;
}
function guestCheckout(cookie: string): Promise<Response> {
  return cartJson(cookie, "POST", "/api/checkout", { email: `${unique("buyer").toLowerCase()}@example.com` });
}
async function pay(checkoutUrl: string): Promise<Response> {
  return request(new URL(checkoutUrl).pathname, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
    body: "outcome=paid",
    redirect: "manual",
  });
}

describe("choosing a variant", () => {
  it("P11 variant tampering: another product's variant, a draft product's variant and a client's price change nothing", async () => {
    const shirt = await makeProductWithOptions();
    const other = await makeProductWithOptions();
    const draft = await makeProductWithOptions({ status: "draft" });
    const { id, cookie } = guestCart();
    const green = shirt.variants[0]!;
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: shirt.product.id, variantId: green.id, quantity: 1 })).status).toBe(200);
    const before = await guestState(id);
    const stockBefore = await Promise.all([...other.variants, ...draft.variants].map((v) => variantRow(v.id)));

    // Another product's variant, named under this product: refused by name, never bought instead.
    const foreign = await cartJson(cookie, "POST", "/api/cart/items", { productId: shirt.product.id, variantId: other.variants[0]!.id, quantity: 1 });
    expect([foreign.status, ((await foreign.json()) as Problem).code]).toEqual([404, "variant_not_found"]);
    // A draft product's variant, under its own product: as unknown as a product that does not exist.
    const hidden = await cartJson(cookie, "POST", "/api/cart/items", { productId: draft.product.id, variantId: draft.variants[0]!.id, quantity: 1 });
    expect([hidden.status, ((await hidden.json()) as Problem).code]).toEqual([404, "product_not_found"]);
    // A product with options needs its variant named.
    const unnamed = await cartJson(cookie, "POST", "/api/cart/items", { productId: shirt.product.id, quantity: 1 });
    expect([unnamed.status, ((await unnamed.json()) as Problem).code]).toEqual([422, "variant_required"]);
    // A price in the body is not read: the line costs what D1 says.
    const priced = await cartJson(cookie, "POST", "/api/cart/items", {
      productId: shirt.product.id,
      variantId: green.id,
      quantity: 1,
      priceCents: 1,
      unitPriceCents: 1,
    });
    expect(priced.status).toBe(200);
    const cart = await getCart(cookie);
    const d1Price = (await variantRow(green.id))!.price_cents;
    expect(cart.items).toEqual([
      expect.objectContaining({ variantId: green.id, sku: green.sku, quantity: 2, unitPriceCents: d1Price, lineTotalCents: d1Price * 2 }),
    ]);

    const after = await guestState(id);
    expect(after.lines).toEqual([{ ...before.lines[0]!, quantity: 2 }]);
    expect(JSON.stringify(after)).not.toMatch(/Cents/);
    expect(await Promise.all([...other.variants, ...draft.variants].map((v) => variantRow(v.id)))).toEqual(stockBefore);
    expect(await ordersOf(other.product.id)).toBe(0);
    expect(await ordersOf(draft.product.id)).toBe(0);
  });

  it("P04 a variant whose product became a draft after it was added is not sold: checkout orders nothing of it", async () => {
    const shirt = await makeProductWithOptions();
    const { cookie } = guestCart();
    const v = shirt.variants[1]!;
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: shirt.product.id, variantId: v.id, quantity: 1 })).status).toBe(200);
    await env.DB.prepare("UPDATE products SET status = 'draft' WHERE id = ?").bind(shirt.product.id).run();
    const res = await guestCheckout(cookie);
    expect([res.status, ((await res.json()) as Problem).code]).toEqual([409, "cart_empty"]);
    expect((await variantRow(v.id))!.stock).toBe(v.stock);
    expect(await ordersOf(shirt.product.id)).toBe(0);
    expect((await ledgerOf(v.id)).map((l) => l.reason)).toEqual(["opening_balance"]);
  });

  it("an order line freezes the variant's SKU and option values; the receipt page and API show them; the ledger records the sale", async () => {
    const shirt = await makeProductWithOptions();
    const v = shirt.variants.find((x) => x.values.join("/") === "Navy/M")!;
    const { cookie } = guestCart();
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: shirt.product.id, variantId: v.id, quantity: 2 })).status).toBe(200);
    const res = await guestCheckout(cookie);
    expect(res.status).toBe(201);
    const started = (await res.json()) as Started;
    expect((await pay(started.checkoutUrl)).status).toBe(303);
    const line = await env.DB.prepare("SELECT variant_id, sku, option_values, quantity FROM order_lines WHERE order_id = ?").bind(started.orderId).first();
    expect(line).toEqual({ variant_id: v.id, sku: v.sku, option_values: JSON.stringify({ Color: "Navy", Size: "M" }), quantity: 2 });
    // Staff renaming the SKU later does not change what was sold.
    await env.DB.prepare("UPDATE product_variants SET sku = ? WHERE id = ?").bind(`${v.sku}-NEW`, v.id).run();
    const key = new URL(started.orderUrl!).searchParams.get("key")!;
    const api = (await (await request(`/api/guest-orders/${started.orderId}`, { headers: { "x-order-key": key } })).json()) as {
      items: { sku: string; options: Record<string, string> }[];
    };
    expect(api.items).toEqual([expect.objectContaining({ sku: v.sku, options: { Color: "Navy", Size: "M" } })]);
    expect((await variantRow(v.id))!.stock).toBe(v.stock - 2);
    expect((await ledgerOf(v.id)).slice(1)).toEqual([expect.objectContaining({ delta: -2, reason: "sale", ref: started.orderId })]);
  });

  it("P13 50 shoppers race for the last 3 units of one variant: exactly 3 orders, stock never below zero, the other variants untouched", async () => {
    const shirt = await makeProductWithOptions({ stockOf: (values) => (values.join("/") === "Green/L" ? 3 : 40) });
    const last = shirt.variants.find((x) => x.values.join("/") === "Green/L")!;
    const carts = Array.from({ length: 50 }, () => guestCart());
    for (const c of carts) {
      expect((await cartJson(c.cookie, "POST", "/api/cart/items", { productId: shirt.product.id, variantId: last.id, quantity: 1 })).status).toBe(200);
    }
    const others = await Promise.all(shirt.variants.filter((v) => v.id !== last.id).map((v) => variantRow(v.id)));
    const results = await Promise.all(carts.map((c) => guestCheckout(c.cookie)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect([r.status, ((await r.json()) as Problem).code]).toEqual([422, "out_of_stock"]);
    }
    expect((await variantRow(last.id))!.stock).toBe(0);
    expect(await ordersOf(shirt.product.id)).toBe(3);
    expect((await ledgerOf(last.id)).filter((l) => l.reason === "sale").map((l) => l.delta)).toEqual([-1, -1, -1]);
    expect(await Promise.all(shirt.variants.filter((v) => v.id !== last.id).map((v) => variantRow(v.id)))).toEqual(others);
  }, 120_000);

  it("a cart stored before variants (layout 1) reads with each line's default variant and prices it", async () => {
    const product = await makeProduct({ priceCents: 1234 });
    const name = `guest:${unique("layout")}`;
    const stub = cartObject(name);
    await runInDurableObject(stub, (_instance: CartObject, state) => {
      state.storage.kv.put("cart", { lines: [{ productId: product.id, quantity: 3 }], couponCode: null, version: 4, state: { status: "open" } });
    });
    expect(await stub.getState()).toEqual({
      layout: 2,
      lines: [{ productId: product.id, variantId: product.variantId, quantity: 3 }],
      couponCode: null,
      version: 4,
      state: { status: "open" },
    });
    const priced = await stub.getPriced();
    expect(priced.ok && priced.cart.items).toEqual([expect.objectContaining({ variantId: product.variantId, quantity: 3, lineTotalCents: 3702 })]);
    // A checkout held in layout 1 keeps its snapshot's lines, upgraded the same way.
    const held = cartObject(`guest:${unique("layout")}`);
    await runInDurableObject(held, (_instance: CartObject, state) => {
      const snapshot = { lines: [{ productId: product.id, quantity: 1 }], couponCode: null, version: 1 };
      state.storage.kv.put("cart", {
        lines: snapshot.lines,
        couponCode: null,
        version: 1,
        state: { status: "checking_out", orderId: "ord_x", startedAt: 1, snapshot },
      });
    });
    const begun = await held.beginCheckout("ord_x");
    expect(begun).toEqual({
      ok: true,
      snapshot: { lines: [{ productId: product.id, variantId: product.variantId, quantity: 1 }], couponCode: null, version: 1 },
    });
  });
});
