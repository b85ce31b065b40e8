import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cartStubForUser } from "../../src/cart/cart";
import { CHECKOUT_LIMITS } from "../../src/checkout/buyer";
import { COUPON_ATTEMPTS } from "../../src/cart/operations";
import { signUpAndSignIn } from "../support/accounts";
import { cartJson, getCart, guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { countRows, makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";

describe("abuse limits", () => {
  it("T07 coupon guessing: one address gets 429 with Retry-After after 20 tries in 15 minutes, even for a real code, and the cart keeps no coupon", async () => {
    const ip = "2001:db8:c0:1::1";
    const guest = guestCart();
    const real = await makeCoupon({ percentOff: 100 });
    const statuses: number[] = [];
    for (let i = 0; i < COUPON_ATTEMPTS.max; i++) {
      const res = await request("/api/cart/coupon", {
        method: "PUT",
        headers: { cookie: guest.cookie, origin: ORIGIN, "content-type": "application/json", "cf-connecting-ip": ip.replace("::1", `::${i + 1}`) },
        body: JSON.stringify({ code: `GUESS${i}` }),
      });
      statuses.push(res.status);
    }
    expect(statuses.every((s) => s === 422)).toBe(true);
    const blocked = await request("/api/cart/coupon", {
      method: "PUT",
      headers: { cookie: guest.cookie, origin: ORIGIN, "content-type": "application/json", "cf-connecting-ip": "2001:db8:c0:1::ff" },
      body: JSON.stringify({ code: real.code }),
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await getCart(guest.cookie)).coupon).toBeNull();
  });

  it("T08 stock hoarding: a shopper's 11th checkout within 10 minutes gets 429 and takes no stock", async () => {
    const who = await signUpAndSignIn();
    const p = await makeProduct({ priceCents: 500, stock: 1000 });
    const cart = cartStubForUser(env, who.user.id);
    for (let i = 0; i < CHECKOUT_LIMITS.perUser.max; i++) {
      await cart.addItem(p.id, 1);
      const res = await request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } });
      expect([201, 409]).toContain(res.status);
      if (res.status === 201) {
        const { orderId } = (await res.json()) as { orderId: string };
        await cart.cancelCheckout(orderId);
      }
    }
    await cartJson(who.cookie, "POST", "/api/cart/items", { productId: p.id, quantity: 1 });
    const ordersBefore = await countRows("orders");
    const stockBefore = (await env.DB.prepare("SELECT stock FROM products WHERE id = ?").bind(p.id).first<{ stock: number }>())!.stock;
    const res = await request("/api/checkout", { method: "POST", headers: { cookie: who.cookie, origin: ORIGIN } });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { code: string }).code).toBe("too_many_checkouts");
    expect(await countRows("orders")).toBe(ordersBefore);
    expect((await env.DB.prepare("SELECT stock FROM products WHERE id = ?").bind(p.id).first<{ stock: number }>())!.stock).toBe(stockBefore);
  }, 60_000);
});
