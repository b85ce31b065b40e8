import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cookieJar, createBastionClient } from "../../client";
import { makeStaff, STRONG_PASSWORD } from "../support/accounts";
import { makeCoupon } from "../support/coupons";
import { makeProduct, unique } from "../support/factories";
import { ORIGIN, randomTestAddress } from "../support/http";
import { matchesDocument } from "../support/openapi";

/** The typed client over the worker's fetch, from one client address, keeping its cookies; every answer is checked against the document. */
function shopper(cookie?: string) {
  const address = randomTestAddress();
  const jar = cookieJar(ORIGIN);
  for (const pair of cookie?.split(/;\s*/).filter(Boolean) ?? []) jar.cookies.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
  const client = createBastionClient({
    baseUrl: `${ORIGIN}/api`,
    fetch: (request) => {
      request.headers.set("cf-connecting-ip", address);
      return exports.default.fetch(request);
    },
  });
  client.use(jar, matchesDocument);
  return client;
}

describe("the typed client drives the shop (generated from openapi/openapi.json)", () => {
  it("signs up, browses, fills a cart with a coupon, checks out, pays and reads the paid order; staff read it", async () => {
    const product = await makeProduct({ name: `Client mug ${unique("m")}`, priceCents: 1250, stock: 7 });
    const coupon = await makeCoupon({ percentOff: 20 });
    const api = shopper();

    const email = `${unique("client").toLowerCase()}@example.com`;
    const signUp = await api.POST("/auth/sign-up/email", { body: { email, password: STRONG_PASSWORD, name: "Client Shopper" } });
    expect(signUp.response.status).toBe(200);
    const signIn = await api.POST("/auth/sign-in/email", { body: { email, password: STRONG_PASSWORD } });
    expect(signIn.data && "user" in signIn.data ? signIn.data.user.email : null).toBe(email);
    const me = await api.GET("/me");
    expect(me.data?.user.role).toBe("customer");

    const list = await api.GET("/products", { params: { query: { q: product.name } } });
    expect(list.data?.items.map((p) => p.slug)).toEqual([product.slug]);
    const one = await api.GET("/products/{slug}", { params: { path: { slug: product.slug } } });
    expect(one.data?.priceCents).toBe(1250);

    const added = await api.POST("/cart/items", { body: { productId: product.id, quantity: 2 } });
    expect(added.data?.items).toHaveLength(1);
    const discounted = await api.PUT("/cart/coupon", { body: { code: coupon.code } });
    expect(discounted.data?.discountCents).toBe(500);
    expect(discounted.data?.totalCents).toBe(2000);

    const started = await api.POST("/checkout", { params: { header: { "idempotency-key": crypto.randomUUID() } } });
    expect(started.response.status).toBe(201);
    const { orderId, checkoutUrl } = started.data!;
    const pending = await api.GET("/orders/{id}", { params: { path: { id: orderId } } });
    expect(pending.data?.status).toBe("pending");

    // The simulator's hosted page (not part of the API): pay, which delivers a signed webhook.
    const paid = await exports.default.fetch(
      new Request(checkoutUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
        body: "outcome=paid",
        redirect: "manual",
      }),
    );
    expect(paid.status).toBe(303);

    const order = await api.GET("/orders/{id}", { params: { path: { id: orderId } } });
    expect(order.data).toMatchObject({ id: orderId, status: "paid", totalCents: 2000 });
    const mine = await api.GET("/orders");
    expect(mine.data?.items.map((o) => o.id)).toContain(orderId);
    const cart = await api.GET("/cart");
    expect(cart.data?.items).toEqual([]);

    const admin = shopper((await makeStaff("admin")).cookie);
    const staffView = await admin.GET("/admin/orders/{id}", { params: { path: { id: orderId } } });
    expect(staffView.data?.status).toBe("paid");

    const out = await api.POST("/auth/sign-out");
    expect(out.response.status).toBe(200);
    expect((await api.GET("/me")).response.status).toBe(401);
  });
});
