import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import { getDb } from "../../src/db/client";
import { shippingRates } from "../../src/shipping/schema";
import { formatMoney } from "../../src/web/format";
import { cartJson, guestCart } from "../support/cart";
import { makeProduct, unique } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { orderRow } from "../support/orders";

// Rates here are in SEK, a currency no other shared-storage test sells in: an active rate makes
// every checkout in its currency choose one.
const CURRENCY = "SEK";

async function makeRate(fields: Partial<typeof shippingRates.$inferInsert> = {}) {
  const [row] = await getDb(env.DB)
    .insert(shippingRates)
    .values({ id: unique("shr"), name: "Standard", amountCents: 4900, currency: CURRENCY, minDays: 2, maxDays: 4, ...fields })
    .returning();
  forgetCatalogVersion();
  return row!;
}

const money = (minor: number) => formatMoney(minor, CURRENCY, "en-US");
const totalOf = (html: string) => /data-total="true"><strong>([^<]+)</.exec(html)?.[1];

describe("the cart's shipping and total (what the payment page charges)", () => {
  it("shows the chosen rate's shipping and a total equal to the order checkout makes, for either rate", async () => {
    const standard = await makeRate({ name: "Standard", amountCents: 4900, sortOrder: 0, freeAboveCents: 1_000_000 });
    const express = await makeRate({ name: "Express", amountCents: 12900, sortOrder: 1, minDays: 1, maxDays: 1 });
    const product = await makeProduct({ priceCents: 25000, currency: CURRENCY });
    for (const [rate, query] of [
      [standard, ""],
      [express, `?rate=${express.id}`],
    ] as const) {
      const { cookie } = guestCart();
      expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 2 })).status).toBe(200);
      const html = await (await request(`/cart${query}`, { headers: { cookie } })).text();
      expect(html).toContain(`<dd data-shipping="true">${money(rate.amountCents)}</dd>`);
      expect(html).toMatch(new RegExp(`value="${rate.id}" checked`));
      expect(totalOf(html)).toBe(money(50000 + rate.amountCents));
      // Each radio carries its own shipping and total for the page's script (never computed in the browser).
      expect(html).toContain(`data-total-text="${money(50000 + express.amountCents)}"`);
      expect(html).not.toContain("data-tax");
      const started = await cartJson(cookie, "POST", "/api/checkout", { email: `${unique("g").toLowerCase()}@example.com`, shippingRateId: rate.id });
      expect(started.status).toBe(201);
      const order = (await orderRow(((await started.json()) as { orderId: string }).orderId))!;
      expect(money(order.totalCents)).toBe(totalOf(html));
    }
  });

  it("a rate free above the goods' value shows Free and adds nothing; with Stripe Tax on, the cart says tax is calculated at payment", async () => {
    const free = await makeRate({ name: "Free over 400", amountCents: 4900, freeAboveCents: 40000, sortOrder: -1 });
    const product = await makeProduct({ priceCents: 45000, currency: CURRENCY });
    const { cookie } = guestCart();
    await cartJson(cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 1 });
    const html = await (await request(`/cart?rate=${free.id}`, { headers: { cookie } })).text();
    expect(html).toContain('<dd data-shipping="true">Free</dd>');
    expect(totalOf(html)).toBe(money(45000));
    const ctx = createExecutionContext();
    const taxed = await worker.fetch(new Request(`${ORIGIN}/cart`, { headers: { cookie } }), { ...env, STRIPE_TAX: "automatic" } as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await taxed.text()).toContain('<dt>Tax</dt><dd data-tax="true">Calculated at payment</dd>');
  });

  it("lays the cart out as stacked lines with a thumbnail, a quantity stepper and Remove (no table to scroll sideways)", async () => {
    const product = await makeProduct({ priceCents: 1000, currency: CURRENCY, imageUrl: "/images/canvas-tote.svg" });
    const { cookie } = guestCart();
    await cartJson(cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 2 });
    const html = await (await request("/cart", { headers: { cookie } })).text();
    expect(html).not.toContain("<table");
    expect(html).toContain(`<li class="cart-line" data-line="${product.variantId}">`);
    expect(html).toContain('<img src="/images/canvas-tote.svg" alt=""');
    expect(html).toContain(`aria-label="One fewer ${product.name}"`);
    expect(html).toContain(`aria-label="One more ${product.name}"`);
    expect(html).toContain('<input type="hidden" name="quantity" value="1"/>');
    expect(html).toContain('<input type="hidden" name="quantity" value="3"/>');
    expect(html).toContain(`aria-label="Remove ${product.name}"`);
  });
});

describe("product pages: a few left, delivery estimate, the way to the cart", () => {
  it("says Only N left at or below five, In stock above, and lists the shipping rates' delivery estimates", async () => {
    await makeRate({ name: "Post", amountCents: 5900, minDays: 3, maxDays: 5, sortOrder: 5 });
    const few = await makeProduct({ stock: 3, currency: CURRENCY });
    const many = await makeProduct({ stock: 40, currency: CURRENCY });
    const fewPage = await (await request(`/products/${few.slug}`)).text();
    expect(fewPage).toContain("Only 3 left");
    expect(fewPage).not.toContain(">In stock<");
    expect(fewPage).toMatch(/<strong>Post<\/strong>: 3–5 business days · SEK\s?59\.00/);
    expect(fewPage).toContain('<a class="button secondary view-cart" href="/cart" data-view-cart="true" hidden="">');
    const manyPage = await (await request(`/products/${many.slug}`)).text();
    expect(manyPage).toContain(">In stock<");
    expect(manyPage).not.toContain("left</p>");
    // A sale at the low level changes the page on the next request (the catalog version moves).
    await env.DB.prepare("UPDATE product_variants SET stock = 2, stock_reason = 'sale', stock_actor = 'test' WHERE id = ?").bind(few.variantId).run();
    forgetCatalogVersion();
    expect(await (await request(`/products/${few.slug}`)).text()).toContain("Only 2 left");
  });
});
