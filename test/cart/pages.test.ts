import { describe, expect, it } from "vitest";
import { makeProduct } from "../support/factories";
import { request } from "../support/http";
import { cartIdFrom, cartJson, guestCart, guestState, postForm } from "../support/cart";
import { makeCoupon } from "../support/coupons";

async function page(cookie: string, query = ""): Promise<string> {
  const res = await request(`/cart${query}`, { headers: { cookie } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/text\/html/);
  return res.text();
}

describe("cart page (works without JavaScript)", () => {
  it("a guest adds from the product page form: 303 to /cart with a new cart cookie; the page lists lines, totals and a checkout form", async () => {
    const p = await makeProduct({ name: "Brass Compass", priceCents: 2599 });
    const res = await postForm("/cart/items", { productId: p.id, quantity: "2" }, null);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/cart?m=added");
    const id = cartIdFrom(res)!;
    const html = await page(`__Host-bastion_cart=${id}`, "?m=added");
    expect(html).toContain("Brass Compass");
    expect(html).toContain("$51.98");
    expect(html).toContain("Added to your cart.");
    expect(html).toContain('action="/checkout"');
    expect(html).toContain(`action="/cart/items/${p.variantId}/quantity"`);
  });

  it("update, remove, coupon apply and remove through forms", async () => {
    const p = await makeProduct({ priceCents: 1000 });
    const coupon = await makeCoupon({ percentOff: 10 });
    const { id, cookie } = guestCart();
    await postForm("/cart/items", { productId: p.id, quantity: "1" }, cookie);
    expect((await postForm(`/cart/items/${p.id}/quantity`, { quantity: "4" }, cookie)).headers.get("location")).toBe("/cart?m=updated");
    expect((await guestState(id)).lines).toEqual([{ productId: p.id, variantId: p.variantId, quantity: 4 }]);
    expect((await postForm("/cart/coupon", { code: coupon.code.toLowerCase() }, cookie)).headers.get("location")).toBe("/cart?m=coupon_applied");
    const html = await page(cookie);
    expect(html).toContain(coupon.code);
    expect(html).toContain("$36.00");
    expect((await postForm("/cart/coupon/remove", {}, cookie)).status).toBe(303);
    expect((await guestState(id)).couponCode).toBeNull();
    expect((await postForm(`/cart/items/${p.id}/remove`, {}, cookie)).headers.get("location")).toBe("/cart?m=removed");
    expect((await guestState(id)).lines).toEqual([]);
    expect(await page(cookie)).toContain("Your cart is empty.");
  });

  it("P13 quantity tampering via forms: bad quantities redirect with a clear message and change nothing", async () => {
    const p = await makeProduct();
    const { id, cookie } = guestCart();
    await cartJson(cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 2 });
    const before = await guestState(id);
    for (const quantity of ["-1", "0", "1.5", "100", "1e9", "NaN", "", "0x10", "٣"]) {
      const res = await postForm(`/cart/items/${p.id}/quantity`, { quantity }, cookie);
      expect(res.status, quantity).toBe(303);
      expect(res.headers.get("location"), quantity).toBe("/cart?m=validation_failed");
    }
    expect(await guestState(id)).toEqual(before);
    expect(await page(cookie, "?m=validation_failed")).toContain("Quantities are whole numbers from 1 to 99.");
  });

  it("coupon refusals are explained on the page", async () => {
    const expired = await makeCoupon({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    const { cookie } = guestCart();
    const res = await postForm("/cart/coupon", { code: expired.code }, cookie);
    expect(res.headers.get("location")).toBe("/cart?m=coupon_expired");
    expect(await page(cookie, "?m=coupon_expired")).toContain("This coupon has expired.");
  });

  it("the message key is never echoed: an unknown key shows nothing", async () => {
    const { cookie } = guestCart();
    const html = await page(cookie, `?m=${encodeURIComponent("<script>alert(1)</script>")}`);
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).not.toContain("alert(1)");
  });

  it("P12 CSRF: a form posted from another site (even without cookies) is refused and no cart is made", async () => {
    const p = await makeProduct();
    const res = await postForm("/cart/items", { productId: p.id, quantity: "1" }, null, "https://evil.example");
    expect(res.status).toBe(403);
    expect(cartIdFrom(res)).toBeNull();
    const { id, cookie } = guestCart();
    const withCookie = await postForm("/cart/items", { productId: p.id, quantity: "1" }, cookie, "https://evil.example");
    expect(withCookie.status).toBe(403);
    expect((await guestState(id)).lines).toEqual([]);
  });
});
