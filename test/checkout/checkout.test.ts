import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import app from "../../src/index";
import { cartStubForUser } from "../../src/cart/cart";
import { getAs, signUpAndSignIn, type SignedIn } from "../support/accounts";
import { countRows, makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { orderRow, stockOf } from "../support/orders";

interface Started {
  orderId: string;
  checkoutUrl: string;
}

async function shopperWithCart(
  lines: { stock?: number; priceCents?: number; quantity: number; hidden?: boolean }[],
): Promise<{ who: SignedIn; productIds: string[] }> {
  const who = await signUpAndSignIn();
  const cart = cartStubForUser(env, who.user.id);
  const productIds: string[] = [];
  for (const l of lines) {
    const p = await makeProduct({ stock: l.stock ?? 10, priceCents: l.priceCents ?? 1000 });
    const added = await cart.addItem(p.id, l.quantity);
    expect(added.ok).toBe(true);
    if (l.hidden) await env.DB.prepare("UPDATE products SET status = 'draft' WHERE id = ?").bind(p.id).run();
    productIds.push(p.id);
  }
  return { who, productIds };
}

function checkout(cookie: string, key?: string): Promise<Response> {
  return request("/api/checkout", {
    method: "POST",
    headers: { cookie, origin: ORIGIN, ...(key ? { "idempotency-key": key } : {}) },
  });
}

async function pay(checkoutUrl: string, outcome: "paid" | "expired"): Promise<Response> {
  return request(new URL(checkoutUrl).pathname, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
    body: `outcome=${outcome}`,
    redirect: "manual",
  });
}

describe("POST /api/checkout", () => {
  it("builds the order from the cart snapshot and D1 prices, takes stock, and returns the simulator URL", async () => {
    const { who, productIds } = await shopperWithCart([
      { quantity: 2, priceCents: 1250, stock: 5 },
      { quantity: 1, priceCents: 300, stock: 1 },
    ]);
    const res = await checkout(who.cookie);
    expect(res.status).toBe(201);
    const body = (await res.json()) as Started;
    expect(body.checkoutUrl).toMatch(new RegExp(`^${ORIGIN}/dev/pay/cs_test_[a-z0-9]+$`));
    const order = await orderRow(body.orderId);
    expect(order).toMatchObject({ userId: who.user.id, status: "pending", subtotalCents: 2800, totalCents: 2800, currency: "USD", provider: "simulator" });
    expect(order?.paymentSessionId).toBe(body.checkoutUrl.split("/").pop());
    expect(await stockOf(productIds[0]!)).toBe(3);
    expect(await stockOf(productIds[1]!)).toBe(0);

    const api = (await (await getAs(who.cookie, `/api/orders/${body.orderId}`)).json()) as Record<string, unknown>;
    expect(api).toMatchObject({ id: body.orderId, status: "pending", subtotalCents: 2800, discountCents: 0, totalCents: 2800, couponCode: null, paidAt: null });
    expect(api.items).toEqual([
      {
        productId: productIds[0],
        variantId: `var_${productIds[0]}`,
        name: expect.any(String),
        sku: null,
        options: {},
        quantity: 2,
        unitPriceCents: 1250,
        lineTotalCents: 2500,
      },
      {
        productId: productIds[1],
        variantId: `var_${productIds[1]}`,
        name: expect.any(String),
        sku: null,
        options: {},
        quantity: 1,
        unitPriceCents: 300,
        lineTotalCents: 300,
      },
    ]);
  });

  it("end to end with the simulator: paid order, cart emptied; the success page shows the real status", async () => {
    const { who } = await shopperWithCart([{ quantity: 1 }]);
    const { orderId, checkoutUrl } = (await (await checkout(who.cookie)).json()) as Started;
    const pending = await getAs(who.cookie, `/orders/${orderId}?status=success`);
    expect(pending.headers.get("refresh")).toContain(`/orders/${orderId}?status=success`);
    expect(await pending.text()).toContain("Awaiting payment");

    const paid = await pay(checkoutUrl, "paid");
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`${ORIGIN}/orders/${orderId}?status=success`);
    expect((await orderRow(orderId))?.status).toBe("paid");
    expect((await cartStubForUser(env, who.user.id).getState()).lines).toEqual([]);
    const page = await getAs(who.cookie, `/orders/${orderId}?status=success`);
    expect(page.headers.get("refresh")).toBeNull();
    expect(await page.text()).toContain("Payment received");
    const list = (await (await getAs(who.cookie, "/api/orders")).json()) as { items: { id: string; status: string; paidAt: string | null }[] };
    expect(list.items[0]).toMatchObject({ id: orderId, status: "paid" });
    expect(list.items[0]?.paidAt).not.toBeNull();
  });

  it("an expired session gives back stock and unlocks the cart for a new checkout", async () => {
    const { who, productIds } = await shopperWithCart([{ quantity: 2, stock: 2 }]);
    const first = (await (await checkout(who.cookie)).json()) as Started;
    expect(await stockOf(productIds[0]!)).toBe(0);
    await pay(first.checkoutUrl, "expired");
    expect((await orderRow(first.orderId))?.status).toBe("expired");
    expect(await stockOf(productIds[0]!)).toBe(2);
    expect((await checkout(who.cookie)).status).toBe(201);
  });

  it("the same Idempotency-Key from the same user returns the same 201 result and one order", async () => {
    const { who } = await shopperWithCart([{ quantity: 1 }]);
    const ordersBefore = await countRows("orders");
    const a = await checkout(who.cookie, "key-123");
    const b = await checkout(who.cookie, "key-123");
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(await b.json()).toEqual(await a.json());
    expect(await countRows("orders")).toBe(ordersBefore + 1);
  });

  it("409 cart_empty and checkout_in_progress; 401 when signed out", async () => {
    const empty = await signUpAndSignIn();
    const res = await checkout(empty.cookie);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe("cart_empty");

    const { who } = await shopperWithCart([{ quantity: 1 }]);
    expect((await checkout(who.cookie)).status).toBe(201);
    const again = await checkout(who.cookie);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe("checkout_in_progress");

    const anon = await request("/api/checkout", { method: "POST", headers: { origin: ORIGIN } });
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { code: string }).code).toBe("unauthenticated");
  });

  it("T08 out of stock: 422 out_of_stock, no order, no stock taken from any line, cart usable again", async () => {
    const { who, productIds } = await shopperWithCart([
      { quantity: 1, stock: 5 },
      { quantity: 3, stock: 2 },
    ]);
    const ordersBefore = await countRows("orders");
    const res = await checkout(who.cookie);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe("out_of_stock");
    expect(await countRows("orders")).toBe(ordersBefore);
    expect(await stockOf(productIds[0]!)).toBe(5);
    expect(await stockOf(productIds[1]!)).toBe(2);
    expect((await cartStubForUser(env, who.user.id).getState()).state.status).toBe("open");
  });

  it("T08 two shoppers race for the last item: exactly one order takes it, stock never negative", async () => {
    const product = await makeProduct({ stock: 1 });
    const shoppers = await Promise.all([signUpAndSignIn(), signUpAndSignIn(), signUpAndSignIn()]);
    for (const s of shoppers) await cartStubForUser(env, s.user.id).addItem(product.id, 1);
    const results = await Promise.all(shoppers.map((s) => checkout(s.cookie)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 422, 422]);
    expect(await stockOf(product.id)).toBe(0);
  });

  it("P04 hidden products are not sold: only visible lines are ordered", async () => {
    const { who, productIds } = await shopperWithCart([
      { quantity: 1, priceCents: 500 },
      { quantity: 1, priceCents: 900, hidden: true },
    ]);
    const { orderId } = (await (await checkout(who.cookie)).json()) as Started;
    const order = (await (await getAs(who.cookie, `/api/orders/${orderId}`)).json()) as { items: { productId: string }[]; totalCents: number };
    expect(order.items.map((i) => i.productId)).toEqual([productIds[0]]);
    expect(order.totalCents).toBe(500);
  });

  it("the storefront form POST /checkout 303s to the checkout URL", async () => {
    const { who } = await shopperWithCart([{ quantity: 1 }]);
    const res = await request("/checkout", {
      method: "POST",
      headers: { cookie: who.cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: "idempotencyKey=form-key-1",
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(new RegExp(`^${ORIGIN}/dev/pay/cs_test_`));
  });
});

describe("payment provider failure", () => {
  it("Stripe refusing the session: 502 payment_unavailable, stock given back, order cancelled, cart open again", async () => {
    const { who, productIds } = await shopperWithCart([{ quantity: 2, stock: 4 }]);
    const spy = vi
      .spyOn(globalThis, "fetch")
      .mockImplementation(
        async () =>
          new Response(JSON.stringify({ error: { type: "api_error", message: "down" } }), { status: 400, headers: { "content-type": "application/json" } }),
      );
    try {
      const ctx = createExecutionContext();
      const stripeEnv = { ...env, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_fake_for_vitest" } as Env;
      const res = await app.fetch(new Request(`${ORIGIN}/api/checkout`, { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } }), stripeEnv, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { code: string }).code).toBe("payment_unavailable");
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(await stockOf(productIds[0]!)).toBe(4);
    const { results } = await env.DB.prepare("SELECT status FROM orders WHERE user_id = ?").bind(who.user.id).all<{ status: string }>();
    expect(results.map((r) => r.status)).toEqual(["cancelled"]);
    expect((await cartStubForUser(env, who.user.id).getState()).state.status).toBe("open");
  });
});

describe("orders are private (P12)", () => {
  it("P12 another user's order id is 404 on the API and the page, and absent from their list", async () => {
    const { who } = await shopperWithCart([{ quantity: 1 }]);
    const { orderId } = (await (await checkout(who.cookie)).json()) as Started;
    const other = await signUpAndSignIn();
    const api = await getAs(other.cookie, `/api/orders/${orderId}`);
    expect(api.status).toBe(404);
    const missing = await getAs(other.cookie, "/api/orders/ord_doesnotexist");
    expect(await api.json()).toEqual({ ...((await missing.json()) as object) });
    expect((await getAs(other.cookie, `/orders/${orderId}`)).status).toBe(404);
    expect(((await (await getAs(other.cookie, "/api/orders")).json()) as { items: unknown[] }).items).toEqual([]);
    expect((await getAs(who.cookie, `/api/orders/${orderId}`)).status).toBe(200);
  });

  it("signed-out callers get 401 on orders", async () => {
    const res = await request("/api/orders");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("unauthenticated");
    expect((await request("/orders")).status).toBe(401);
  });

  it("the order history page lists the shopper's orders", async () => {
    const { who } = await shopperWithCart([{ quantity: 1 }]);
    const { orderId } = (await (await checkout(who.cookie)).json()) as Started;
    const html = await (await getAs(who.cookie, "/orders")).text();
    expect(html).toContain(orderId);
  });
});
