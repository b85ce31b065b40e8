import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { describe, expect, it } from "vitest";
import { couponCustomerKey, normaliseEmail } from "../../src/coupons/customer";
import { getDb } from "../../src/db/client";
import { guestOrderKey } from "../../src/checkout/guest-access";
import { reserveCouponHold } from "../../src/coupons/coupon-hold";
import { shippingRates } from "../../src/shipping/schema";
import { cookiesFrom, makeStaff, markEmailVerified, signUpAndSignIn } from "../support/accounts";
import { cartJson, guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { countRows, makeProduct, unique } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { waitForMail } from "../support/mail";
import type { OrderRow } from "../../src/checkout/schema";
import { completedEventFor, orderRow, stockOf } from "../support/orders";
import { proveMailbox } from "../support/promotions";
import { deliverEvent } from "../support/stripe";

// Shipping rates here are in GBP, a currency no other shared-storage test sells in: an active rate
// makes every checkout in its currency choose one.
const CURRENCY = "GBP";

interface Started {
  orderId: string;
  checkoutUrl: string;
  orderUrl?: string;
}

async function makeRate(fields: Partial<typeof shippingRates.$inferInsert> = {}) {
  const [row] = await getDb(env.DB)
    .insert(shippingRates)
    .values({ id: unique("shr"), name: "Standard", amountCents: 495, currency: CURRENCY, minDays: 2, maxDays: 4, ...fields })
    .returning();
  return row!;
}

/** A guest cart holding `quantity` of a fresh product. */
async function guestWith(opts: { priceCents?: number; quantity?: number; currency?: string; stock?: number } = {}) {
  const product = await makeProduct({ priceCents: opts.priceCents ?? 2000, currency: opts.currency ?? CURRENCY, stock: opts.stock ?? 10 });
  const cart = guestCart();
  const added = await cartJson(cart.cookie, "POST", "/api/cart/items", { productId: product.id, quantity: opts.quantity ?? 1 });
  expect(added.status).toBe(200);
  return { cookie: cart.cookie, product };
}

function checkout(cookie: string | null, body?: unknown): Promise<Response> {
  return cartJson(cookie, "POST", "/api/checkout", body);
}

describe("guest checkout", () => {
  it("a guest pays with an email: the order carries the rate, the address and the email; the receipt links to the order with its key", async () => {
    const rate = await makeRate({ amountCents: 495 });
    const { cookie, product } = await guestWith({ priceCents: 2000, quantity: 2 });
    const email = `${unique("guest").toLowerCase()}@example.com`;
    const res = await checkout(cookie, { email, shippingRateId: rate.id });
    expect(res.status).toBe(201);
    const started = (await res.json()) as Started;
    expect(started.orderUrl).toMatch(new RegExp(`^${ORIGIN}/orders/${started.orderId}\\?key=[A-Za-z0-9_-]{48}$`));
    const pending = (await orderRow(started.orderId))!;
    expect(pending).toMatchObject({ userId: expect.stringMatching(/^guest_[0-9a-f]{64}$/), customerEmail: email, shippingCents: 495, totalCents: 4495 });
    expect(pending.userId).not.toContain(cookie.split("=")[1]!); // the cart cookie (a bearer secret) is never stored
    expect(await stockOf(product.id)).toBe(8);

    expect((await deliverEvent(await completedEventFor(started.orderId))).status).toBe(200);
    const paid = (await orderRow(started.orderId))!;
    expect(paid).toMatchObject({ status: "paid", totalCents: 4495, taxCents: 0 });
    expect(JSON.parse(paid.shippingAddress!)).toMatchObject({ name: "Ada Lovelace", city: "London", country: "US" });

    const number = (await orderRow(started.orderId))!.number;
    const [receipt] = await waitForMail(email, (m) => m.subject === `Your Bastion order #${number}`);
    expect(receipt!.text).toContain("Shipping (Standard): £4.95");
    expect(receipt!.text).toContain("Total paid: £44.95");
    expect(receipt!.text).toContain("12 Analytical Row");
    // The receipt carries its own link (30 days from this mail) and says until when it works.
    expect(receipt!.text).toMatch(new RegExp(`Your order: ${ORIGIN}/orders/${started.orderId}\\?key=[A-Za-z0-9_-]{48}\n`));
    expect(receipt!.text).toContain(`This link opens your order until ${new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10)}`);

    // The link opens the order (page and API) without any session: the page exchanges the key for
    // a cookie and lands on the clean address; the API takes the key in a header.
    const exchange = await request(new URL(started.orderUrl!).pathname + new URL(started.orderUrl!).search, { redirect: "manual" });
    expect(exchange.status).toBe(303);
    expect(exchange.headers.get("location")).toBe(`/orders/${started.orderId}`);
    const page = await request(`/orders/${started.orderId}`, { headers: { cookie: cookiesFrom(exchange) } });
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("private, no-store");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await page.text();
    expect(html).toContain("Ada Lovelace");
    expect(html).toContain("£44.95");
    const key = new URL(started.orderUrl!).searchParams.get("key")!;
    const api = await request(`/api/guest-orders/${started.orderId}`, { headers: { "x-order-key": key } });
    expect(api.status).toBe(200);
    expect(await api.json()).toMatchObject({ id: started.orderId, status: "paid", shippingCents: 495, shippingRate: "Standard", totalCents: 4495, email });
  });

  it("P12 guest order IDOR: the id alone, a wrong key, another order's key or an expired link open nothing (one 404 for all); nothing changes", async () => {
    const rate = await makeRate();
    const a = await guestWith();
    const b = await guestWith();
    const startedA = (await (await checkout(a.cookie, { email: "a@example.com", shippingRateId: rate.id })).json()) as Started;
    const startedB = (await (await checkout(b.cookie, { email: "b@example.com", shippingRateId: rate.id })).json()) as Started;
    const keyB = new URL(startedB.orderUrl!).searchParams.get("key")!;
    const before = await orderRow(startedA.orderId);
    const attempts = [
      `/api/guest-orders/${startedA.orderId}?key=${keyB}`,
      `/api/guest-orders/${startedA.orderId}?key=${"A".repeat(48)}`,
      `/api/guest-orders/${startedA.orderId}?key=x`,
      `/api/guest-orders/${startedA.orderId}`,
      `/orders/${startedA.orderId}?key=${keyB}`,
    ];
    for (const path of attempts) {
      const res = await request(path, { redirect: "manual" });
      expect(res.status, path).toBe(404);
      expect(res.headers.getSetCookie(), path).toEqual([]);
      expect(await res.text()).not.toContain("a@example.com");
    }
    expect((await request(`/api/guest-orders/${startedA.orderId}`, { headers: { "x-order-key": keyB } })).status).toBe(404);
    // The id alone is a signed-in page: a guest is asked to sign in, a stranger's account finds nothing.
    expect((await request(`/api/orders/${startedA.orderId}`)).status).toBe(401);
    const stranger = await signUpAndSignIn();
    expect((await request(`/api/orders/${startedA.orderId}`, { headers: { cookie: stranger.cookie } })).status).toBe(404);
    // Cancelling with another order's key, or its cookie under this order's name, is refused too.
    const cookieB = cookiesFrom(await request(`/orders/${startedB.orderId}?key=${keyB}`, { redirect: "manual" })).split("=")[1]!;
    for (const body of [`key=${keyB}`, ""]) {
      const cancel = await request(`/orders/${startedA.orderId}/cancel`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", cookie: `__Host-bastion_order_${startedA.orderId}=${cookieB}` },
        body,
        redirect: "manual",
      });
      expect(cancel.status).toBe(401);
    }
    // An expired link: a key with the right MAC whose time has passed is refused (the same key a day later opens).
    const orderB = { id: startedB.orderId, guestKeyVersion: 1 };
    const openB = (key: string) => request(`/api/guest-orders/${startedB.orderId}`, { headers: { "x-order-key": key } });
    expect((await openB(await guestOrderKey(env, orderB, Date.now() - 1000))).status).toBe(404);
    expect((await openB(await guestOrderKey(env, orderB, Date.now() + 86_400_000))).status).toBe(200);
    expect(await orderRow(startedA.orderId)).toEqual(before);
  });

  it("P12 a guest order joins an account only once that account signs in with the address verified, never by someone typing it", async () => {
    const email = `${unique("joiner").toLowerCase()}@example.com`;
    const rate = await makeRate();
    const { cookie } = await guestWith();
    const started = (await (await checkout(cookie, { email, shippingRateId: rate.id })).json()) as Started;
    expect((await deliverEvent(await completedEventFor(started.orderId))).status).toBe(200);
    const guestOwner = (await orderRow(started.orderId))!.userId;

    // Someone signs up with that address but cannot verify it: they see nothing.
    const account = await signUpAndSignIn({ email });
    const list = async () => ((await (await request("/api/orders", { headers: { cookie: account.cookie } })).json()) as { items: { id: string }[] }).items;
    expect(await list()).toEqual([]);
    expect((await request(`/api/orders/${started.orderId}`, { headers: { cookie: account.cookie } })).status).toBe(404);
    expect((await orderRow(started.orderId))!.userId).toBe(guestOwner);

    // With the address verified, the next look at their orders brings it in (audited).
    await markEmailVerified(account.user.id);
    expect((await list()).map((o) => o.id)).toEqual([started.orderId]);
    expect((await orderRow(started.orderId))!.userId).toBe(account.user.id);
    const claimed = await env.DB.prepare("SELECT detail FROM audit_events WHERE action = 'order.claimed' AND actor = ?")
      .bind(account.user.id)
      .first<{ detail: string }>();
    expect(claimed?.detail).toContain(started.orderId);
  });

  it("P10 per-customer coupon limits count a mailbox, not an account: a guest proving an alias of an account that used it is refused; nothing is held", async () => {
    const email = `${unique("saver").toLowerCase()}@gmail.com`;
    const coupon = await makeCoupon({ perCustomerLimit: 1, percentOff: 10 });
    // The account used its one redemption.
    const used = await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: await couponCustomerKey(email) });
    expect(used.ok).toBe(true);
    const rate = await makeRate();
    const { cookie, product } = await guestWith();
    const [local, domain] = email.split("@") as [string, string];
    const alias = `${local.slice(0, 2)}.${local.slice(2)}+deal@${domain}`;
    expect(normaliseEmail(alias)).toBe(normaliseEmail(email));
    // A guest proves the alias mailbox (it is theirs): it is the same customer.
    await proveMailbox(cookie, alias);
    const ordersBefore = await countRows("orders");
    const applied = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code });
    expect(applied.status).toBe(422);
    expect(((await applied.json()) as { code: string }).code).toBe("coupon_already_used");
    expect(await countRows("orders")).toBe(ordersBefore);
    expect(await stockOf(product.id)).toBe(10);
    // Another proven mailbox may still use it.
    const other = await guestWith();
    const otherEmail = `${unique("other")}@example.com`;
    await proveMailbox(other.cookie, otherEmail);
    expect((await cartJson(other.cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
    expect((await checkout(other.cookie, { email: otherEmail, shippingRateId: rate.id })).status).toBe(201);
  });

  it("a guest needs an email; a caller with neither account nor cart is 401", async () => {
    const rate = await makeRate();
    const { cookie } = await guestWith();
    const res = await checkout(cookie, { shippingRateId: rate.id });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe("email_required");
    const bad = await checkout(cookie, { shippingRateId: rate.id, email: "not-an-address" });
    expect(bad.status).toBe(422);
    expect((await checkout(null, { email: "x@example.com" })).status).toBe(401);
  });
});

describe("shipping rates at checkout", () => {
  it("P11 shipping-rate tampering: a missing, unknown, retired or other-currency rate and any price in the body are refused; nothing is taken", async () => {
    await makeRate();
    const retired = await makeRate({ active: false });
    const euro = await makeRate({ currency: "EUR", active: false });
    const { cookie, product } = await guestWith();
    const ordersBefore = await countRows("orders");
    const email = "tamper@example.com";
    const cases: [unknown, string][] = [
      [{ email }, "shipping_rate_required"],
      [{ email, shippingRateId: "shr_nope" }, "shipping_rate_invalid"],
      [{ email, shippingRateId: retired.id }, "shipping_rate_invalid"],
      [{ email, shippingRateId: euro.id }, "shipping_rate_invalid"],
      [{ email, shippingRateId: retired.id, shippingCents: 0 }, "validation_failed"],
      [{ email, amountCents: 1 }, "validation_failed"],
    ];
    for (const [body, code] of cases) {
      const res = await checkout(cookie, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(((await res.json()) as { code: string }).code).toBe(code);
    }
    expect(await countRows("orders")).toBe(ordersBefore);
    expect(await stockOf(product.id)).toBe(10);
    // The cart is not left locked by the refusals.
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 1 })).status).toBe(200);
  });

  it("a rate is free from its threshold (on the goods after discount); the public list prices it the same way", async () => {
    const rate = await makeRate({ amountCents: 700, freeAboveCents: 5000, sortOrder: 0 });
    const list = await request(`/api/shipping-rates?currency=${CURRENCY}&goodsCents=6000`);
    expect(list.status).toBe(200);
    const offered = ((await list.json()) as { items: { id: string; amountCents: number }[] }).items.find((r) => r.id === rate.id);
    expect(offered?.amountCents).toBe(0);
    const { cookie } = await guestWith({ priceCents: 3000, quantity: 2 });
    const started = (await (await checkout(cookie, { email: "free@example.com", shippingRateId: rate.id })).json()) as Started;
    expect(await orderRow(started.orderId)).toMatchObject({ shippingCents: 0, totalCents: 6000, shippingRateName: "Standard" });
    const small = await guestWith({ priceCents: 1000, quantity: 1 });
    const startedSmall = (await (await checkout(small.cookie, { email: "paid@example.com", shippingRateId: rate.id })).json()) as Started;
    expect(await orderRow(startedSmall.orderId)).toMatchObject({ shippingCents: 700, totalCents: 1700 });
  });
});

describe("the webhook re-checks shipping, tax and address (P15)", () => {
  async function pendingShippedOrder() {
    const rate = await makeRate({ amountCents: 500 });
    const { cookie } = await guestWith({ priceCents: 2000 });
    const started = (await (await checkout(cookie, { email: `${unique("w")}@example.com`, shippingRateId: rate.id })).json()) as Started;
    return (await orderRow(started.orderId))!;
  }

  /**
   * A completed payment that disagrees with its order never pays it: the order closes (it can no
   * longer be paid by that session) with its holds back, and the money is kept once for a refund.
   */
  async function expectRefused(order: OrderRow, overrides: Parameters<typeof completedEventFor>[1], reason: string) {
    expect((await deliverEvent(await completedEventFor(order.id, overrides))).status).toBe(200);
    expect(await orderRow(order.id)).toMatchObject({ status: "cancelled", paidAt: null, paymentIntentId: null, shippingAddress: null, taxCents: 0 });
    const audit = await env.DB.prepare("SELECT action, detail FROM audit_events WHERE subject = ? AND action LIKE 'payment.%mismatch' ORDER BY id DESC LIMIT 1")
      .bind(order.id)
      .first<{ action: string; detail: string }>();
    expect(JSON.parse(audit!.detail).reason).toBe(reason);
    const stray = await env.DB.prepare("SELECT reason, refund_state FROM stray_payments WHERE order_id = ?").bind(order.id).all();
    expect(stray.results).toEqual([{ reason, refund_state: "none" }]);
  }

  it("P15 shipping amount mismatch: a session whose shipping differs from the rate we priced does not pay the order, even when the total matches", async () => {
    // Shipping moved into the goods: same total, different breakdown.
    await expectRefused(await pendingShippedOrder(), { amountShipping: 0 }, "amount_shipping");
    const order = await pendingShippedOrder();
    await expectRefused(order, { amountShipping: 1, amountTotal: order.totalCents - 499 }, "amount_shipping");
  });

  it("P15 tax/shipping amount mismatch: tax in a payment of an order made without Stripe Tax, or a total that is not goods + shipping + tax, is refused", async () => {
    const order = await pendingShippedOrder();
    await expectRefused(order, { amountTax: 300, amountTotal: order.totalCents + 300 }, "amount_tax");
    // With Stripe Tax on the order, a total that does not add up is refused too.
    const taxed = await pendingShippedOrder();
    await env.DB.prepare("UPDATE orders SET tax_mode = 'automatic' WHERE id = ?").bind(taxed.id).run();
    await expectRefused(taxed, { amountTax: 300, amountTotal: taxed.totalCents + 200 }, "amount_total");
  });

  it("P15 an address outside the shop's shipping countries does not pay the order", async () => {
    await expectRefused(
      await pendingShippedOrder(),
      { shippingDetails: { name: "Eve", address: { line1: "1 Elsewhere", city: "Nowhere", country: "KP" } } },
      "shipping_address",
    );
    await expectRefused(await pendingShippedOrder(), { shippingDetails: null }, "shipping_address");
  });

  it("with Stripe Tax, the tax Stripe charged is stored and the total is what was charged", async () => {
    const order = await pendingShippedOrder();
    await env.DB.prepare("UPDATE orders SET tax_mode = 'automatic' WHERE id = ?").bind(order.id).run();
    expect((await deliverEvent(await completedEventFor(order.id, { amountTax: 200, amountTotal: order.totalCents + 200 }))).status).toBe(200);
    expect(await orderRow(order.id)).toMatchObject({ status: "paid", taxCents: 200, totalCents: order.totalCents + 200, shippingCents: 500 });
    const api = await request(`/api/guest-orders/${order.id}`, { headers: { "x-order-key": "x" } });
    expect(api.status).toBe(404);
  });
});

describe("a single-currency shop (SHOP_CURRENCY)", () => {
  /** The worker with SHOP_CURRENCY=EUR, as `wrangler.toml` [vars] would set it. */
  async function euroShop(path: string, init: RequestInit): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`${ORIGIN}${path}`, init), { ...env, SHOP_CURRENCY: "EUR" } as Env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("refuses a checkout, a product and a shipping rate in any other currency; nothing is written", async () => {
    const { cookie, product } = await guestWith({ currency: "USD" });
    const ordersBefore = await countRows("orders");
    const res = await euroShop("/api/checkout", {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ email: "euro@example.com" }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe("currency_not_accepted");
    expect(await countRows("orders")).toBe(ordersBefore);
    expect(await stockOf(product.id)).toBe(10);
    const admin = await makeStaff("admin");
    const productsBefore = await countRows("products");
    const created = await euroShop("/api/admin/products", {
      method: "POST",
      headers: { cookie: admin.cookie, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ slug: unique("usd-thing").toLowerCase(), name: "Dollar thing", priceCents: 100, currency: "USD" }),
    });
    expect(created.status).toBe(422);
    expect(((await created.json()) as { code: string }).code).toBe("currency_not_accepted");
    expect(await countRows("products")).toBe(productsBefore);
    const rate = await euroShop("/api/admin/shipping-rates", {
      method: "POST",
      headers: { cookie: admin.cookie, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ name: "Dollar post", amountCents: 100, currency: "USD" }),
    });
    expect(rate.status).toBe(422);
    const euro = await euroShop("/api/admin/products", {
      method: "POST",
      headers: { cookie: admin.cookie, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ slug: unique("eur-thing").toLowerCase(), name: "Euro thing", priceCents: 100, currency: "EUR" }),
    });
    expect(euro.status).toBe(201);
  });
});
