import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Cart } from "../../src/cart/cart";
import { reserveCouponHold } from "../../src/coupons/coupon-hold";
import { makeProduct, unique } from "../support/factories";
import { cartJson, getCart, guestCart, guestState } from "../support/cart";
import { ledger, makeCoupon } from "../support/coupons";

async function problemCode(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

/** A guest cart holding `quantity` × a product at `priceCents`. */
async function filledCart(priceCents: number, quantity = 1): Promise<{ id: string; cookie: string }> {
  const p = await makeProduct({ priceCents });
  const cart = guestCart();
  const res = await cartJson(cart.cookie, "POST", "/api/cart/items", { productId: p.id, quantity });
  expect(res.status).toBe(200);
  return cart;
}

describe("cart coupons", () => {
  it("applies a percent coupon (case-insensitive), rounding the discount down; DELETE removes it", async () => {
    const coupon = await makeCoupon({ percentOff: 15 });
    const { id, cookie } = await filledCart(999);
    const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: ` ${coupon.code.toLowerCase()} ` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ coupon: { code: coupon.code, discountCents: 149 }, subtotalCents: 999, discountCents: 149, totalCents: 850 });
    expect((await guestState(id)).couponCode).toBe(coupon.code);
    const removed = (await (await cartJson(cookie, "DELETE", "/api/cart/coupon")).json()) as Cart;
    expect(removed).toMatchObject({ coupon: null, discountCents: 0, totalCents: 999 });
    expect((await guestState(id)).couponCode).toBeNull();
  });

  it("an amount coupon larger than the subtotal makes the total 0, never negative", async () => {
    const coupon = await makeCoupon({ amountOffCents: 10_000 });
    const { cookie } = await filledCart(1234, 2);
    const cart = (await (await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).json()) as Cart;
    expect(cart).toMatchObject({ subtotalCents: 2468, discountCents: 2468, totalCents: 0 });
  });

  it("P11 price manipulation: totals == D1 price × qty − server discount; a discountCents in the body is ignored", async () => {
    const coupon = await makeCoupon({ percentOff: 10 });
    const { cookie } = await filledCart(2000, 3);
    const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code, discountCents: 6000, percentOff: 100, totalCents: 0 });
    expect(await res.json()).toMatchObject({ subtotalCents: 6000, discountCents: 600, totalCents: 5400, coupon: { code: coupon.code, discountCents: 600 } });
  });

  it("T07 stacking: after applying A then B the cart holds only B and only B's discount counts", async () => {
    const a = await makeCoupon({ percentOff: 50 });
    const b = await makeCoupon({ amountOffCents: 100 });
    const { id, cookie } = await filledCart(1000);
    expect((await cartJson(cookie, "PUT", "/api/cart/coupon", { code: a.code })).status).toBe(200);
    const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: b.code });
    expect(await res.json()).toMatchObject({ coupon: { code: b.code, discountCents: 100 }, discountCents: 100, totalCents: 900 });
    expect((await guestState(id)).couponCode).toBe(b.code);
    // A list of codes is not a code.
    const list = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: [a.code, b.code] });
    expect(list.status).toBe(422);
    const joined = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: `${a.code},${b.code}` });
    expect(await problemCode(joined)).toBe("coupon_invalid");
    expect((await guestState(id)).couponCode).toBe(b.code);
    expect(await getCart(cookie)).toMatchObject({ discountCents: 100, totalCents: 900 });
  });

  it("T07 expired or inactive coupons are refused by the server's clock (422) and the cart is unchanged", async () => {
    const expired = await makeCoupon({ expiresAt: new Date(Date.now() - 60_000).toISOString() });
    const inactive = await makeCoupon({ active: false });
    const notYet = await makeCoupon({ startsAt: new Date(Date.now() + 86_400_000).toISOString() });
    const { id, cookie } = await filledCart(1000);
    const before = await guestState(id);
    const cases: [string, string][] = [
      [expired.code, "coupon_expired"],
      [inactive.code, "coupon_invalid"],
      [notYet.code, "coupon_invalid"],
      [
        "NOPE-" +
          unique("X")
            .toUpperCase()
            .replaceAll(/[^A-Z0-9-]/g, ""),
        "coupon_invalid",
      ],
      ["' OR 1=1 --", "coupon_invalid"],
    ];
    for (const [code, expected] of cases) {
      // A Date header from the client cannot move the server's clock.
      const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code, now: "2000-01-01T00:00:00Z" });
      expect(res.status, code).toBe(422);
      expect(await problemCode(res)).toBe(expected);
    }
    expect(await guestState(id)).toEqual(before);
  });

  it("a coupon that expires after it was applied stops discounting and the cart says why", async () => {
    const coupon = await makeCoupon({ percentOff: 20 });
    const { cookie } = await filledCart(1000);
    await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code });
    await env.DB.prepare("UPDATE coupons SET expires_at = ? WHERE code = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), coupon.code)
      .run();
    expect(await getCart(cookie)).toMatchObject({ coupon: null, discountCents: 0, totalCents: 1000, couponNotice: "coupon_expired" });
  });

  it("T07 exhausted: a used-up single-use coupon (reserved by someone's checkout) is refused with coupon_exhausted", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 1 });
    expect((await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: unique("usr") })).ok).toBe(true);
    const { id, cookie } = await filledCart(1000);
    const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code });
    expect(res.status).toBe(422);
    expect(await problemCode(res)).toBe("coupon_exhausted");
    expect((await guestState(id)).couponCode).toBeNull();
    expect((await ledger(coupon.code).snapshot()).reserved).toBe(1);
  });

  it("an amount coupon in another currency is not valid for the cart", async () => {
    const coupon = await makeCoupon({ amountOffCents: 500, currency: "EUR" });
    const { cookie } = await filledCart(1000);
    const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code });
    expect(await problemCode(res)).toBe("coupon_invalid");
  });
});
