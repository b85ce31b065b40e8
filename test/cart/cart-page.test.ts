import { describe, expect, it } from "vitest";
import { makeProduct } from "../support/factories";
import { request } from "../support/http";
import { cartJson, guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";

async function cartPage(cookie: string): Promise<string> {
  const res = await request("/cart", { headers: { cookie } });
  expect(res.status).toBe(200);
  return res.text();
}

describe("the cart page's totals", () => {
  it("shows a discount line only when the cart has a discount, and total = subtotal − discount", async () => {
    const p = await makeProduct({ priceCents: 2000 });
    const { cookie } = guestCart();
    expect((await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, quantity: 2 })).status).toBe(200);
    const plain = await cartPage(cookie);
    expect(plain).not.toContain("data-discount");
    expect(plain).not.toContain("<dt>Discount</dt>");
    expect(plain).toMatch(/data-subtotal="true">\$40\.00</);
    expect(plain).toMatch(/data-total="true"><strong>\$40\.00</);
    const coupon = await makeCoupon({ percentOff: 25 });
    expect((await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
    const discounted = await cartPage(cookie);
    expect(discounted).toMatch(/<dt>Discount<\/dt><dd data-discount="true">−\$10\.00</);
    expect(discounted).toMatch(/data-total="true"><strong>\$30\.00</);
  });
});
