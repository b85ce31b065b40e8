import { describe, expect, it } from "vitest";
import { cookiesFrom, signIn, signUpAndSignIn } from "../support/accounts";
import { cartJson, cartSetCookie, getCart, guestCart } from "../support/cart";
import { makeProduct } from "../support/factories";

describe("guest cart merge on sign-in", () => {
  it("signing in merges the guest cart into the account's cart (quantities added and clamped), clears the guest cookie and issues a new session", async () => {
    const a = await makeProduct({ priceCents: 500, stock: 500 });
    const b = await makeProduct({ priceCents: 700, stock: 500 });
    const who = await signUpAndSignIn();
    expect((await cartJson(who.cookie, "POST", "/api/cart/items", { productId: a.id, quantity: 60 })).status).toBe(200);

    const guest = guestCart();
    await cartJson(guest.cookie, "POST", "/api/cart/items", { productId: a.id, quantity: 50 });
    await cartJson(guest.cookie, "POST", "/api/cart/items", { productId: b.id, quantity: 2 });

    const { res, cookie } = await signIn(who.email, who.password, { cookie: guest.cookie });
    expect(res.status).toBe(200);
    expect(cartSetCookie(res)).toMatch(/Max-Age=0/i);
    expect(cookie).not.toContain("__Host-bastion_cart=");
    expect(cookie).not.toBe(who.cookie);

    const cart = await getCart(cookie);
    const qty = Object.fromEntries(cart.items.map((l) => [l.productId, l.quantity]));
    expect(qty).toEqual({ [a.id]: 99, [b.id]: 2 });
    // The retired guest cart is empty: its old cookie no longer holds the items.
    expect((await getCart(guest.cookie)).items).toEqual([]);
  });

  it("P12 a guest cart cookie cannot be used to read a signed-in user's cart", async () => {
    const p = await makeProduct({ priceCents: 900, stock: 50 });
    const who = await signUpAndSignIn();
    await cartJson(who.cookie, "POST", "/api/cart/items", { productId: p.id, quantity: 3 });
    const guest = guestCart();
    expect((await getCart(guest.cookie)).items).toEqual([]);
    // The account's cart is derived from the user id on the server, not from any cookie value.
    const session = who.cookie.split("; ").find((c) => c.startsWith("__Host-bastion.session_token="))!;
    expect((await getCart(cookiesFrom(new Response(), `${session}`))).items.map((l) => l.quantity)).toEqual([3]);
  });
});
