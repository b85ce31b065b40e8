import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cartStubForUser, mergeGuestCart } from "../../src/cart/cart";
import type { CartState } from "../../src/cart/cart-object";
import { makeProduct, unique } from "../support/factories";
import { cartJson, getCart, guestCart, guestState } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { markEmailVerified, signUpAndSignIn } from "../support/accounts";

describe("CartObject checkout RPC (contract with checkout)", () => {
  it("beginCheckout snapshots lines, coupon and version; an empty cart is cart_empty", async () => {
    const stub = cartStubForUser(env, unique("usr"));
    expect(await stub.beginCheckout(unique("ord"))).toEqual({ ok: false, code: "cart_empty" });
    await stub.addItem("prd_a", 2);
    await stub.applyCoupon("SAVE10");
    const orderId = unique("ord");
    const begun = await stub.beginCheckout(orderId);
    expect(begun).toEqual({ ok: true, snapshot: { lines: [{ productId: "prd_a", variantId: "var_prd_a", quantity: 2 }], couponCode: "SAVE10", version: 2 } });
    expect((await stub.getState()).state).toMatchObject({ status: "checking_out", orderId });
    // The same order asking again (a retry) gets the same snapshot; another order is refused.
    expect(await stub.beginCheckout(orderId)).toEqual(begun);
    expect(await stub.beginCheckout(unique("ord"))).toMatchObject({ ok: false, code: "checkout_in_progress", heldBy: orderId });
  });

  it("T08 snapshot: changes during checkout bump the version but never the snapshot; completing removes only what was bought", async () => {
    const stub = cartStubForUser(env, unique("usr"));
    await stub.addItem("prd_a", 1);
    const orderId = unique("ord");
    const begun = await stub.beginCheckout(orderId);
    expect(begun.ok).toBe(true);
    const snapshot = begun.ok ? begun.snapshot : null;
    await stub.addItem("prd_a", 5);
    await stub.addItem("prd_b", 1);
    expect((await stub.getState()).version).toBe(snapshot!.version + 2);
    expect(await stub.beginCheckout(orderId)).toEqual({ ok: true, snapshot });
    const done = await stub.completeCheckout(orderId);
    expect(done.ok).toBe(true);
    const after = (await stub.getState()) as CartState;
    expect(after.lines).toEqual([
      { productId: "prd_a", variantId: "var_prd_a", quantity: 5 },
      { productId: "prd_b", variantId: "var_prd_b", quantity: 1 },
    ]);
    expect(after.state).toEqual({ status: "open" });
    // Completing twice (webhook retry) removes nothing more.
    expect((await stub.completeCheckout(orderId)).ok).toBe(true);
    expect(((await stub.getState()) as CartState).lines).toEqual(after.lines);
  });

  it("completeCheckout empties an unchanged cart (coupon too) with a new version; a wrong order id changes nothing", async () => {
    const stub = cartStubForUser(env, unique("usr"));
    await stub.addItem("prd_a", 2);
    await stub.applyCoupon("SAVE10");
    const orderId = unique("ord");
    await stub.beginCheckout(orderId);
    const before = await stub.getState();
    expect(await stub.completeCheckout(unique("ord"))).toEqual({ ok: false, code: "not_checking_out" });
    expect(await stub.cancelCheckout(unique("ord"))).toEqual({ ok: false, code: "not_checking_out" });
    expect(await stub.getState()).toEqual(before);
    const done = await stub.completeCheckout(orderId);
    expect(done.ok && done.cart).toMatchObject({ lines: [], couponCode: null, version: before.version + 1, state: { status: "open" } });
  });

  it("cancelCheckout reopens the cart with its lines", async () => {
    const stub = cartStubForUser(env, unique("usr"));
    await stub.addItem("prd_a", 2);
    const orderId = unique("ord");
    await stub.beginCheckout(orderId);
    const cancelled = await stub.cancelCheckout(orderId);
    expect(cancelled.ok && cancelled.cart).toMatchObject({ lines: [{ productId: "prd_a", variantId: "var_prd_a", quantity: 2 }], state: { status: "open" } });
    expect((await stub.beginCheckout(unique("ord"))).ok).toBe(true);
  });

  it("the hold has no clock: an old checkout still blocks another and names its order (checkout asks D1 whether it can still be paid)", async () => {
    const stub = cartStubForUser(env, unique("usr"));
    await stub.addItem("prd_a", 1);
    const first = unique("ord");
    const startedAt = Date.now() - 24 * 60 * 60 * 1000;
    await stub.beginCheckout(first, startedAt);
    expect(await stub.beginCheckout(unique("ord"))).toEqual({ ok: false, code: "checkout_in_progress", heldBy: first, startedAt });
  });
});

describe("guest cart merge on sign-in", () => {
  it("adds quantities (clamped at 99), drops hidden and deleted products, keeps the account's coupon, retires the guest cart", async () => {
    const shared = await makeProduct();
    const guestOnly = await makeProduct();
    const hidden = await makeProduct();
    const deleted = await makeProduct();
    const guest = guestCart();
    for (const [p, q] of [
      [shared, 60],
      [guestOnly, 2],
      [hidden, 1],
      [deleted, 1],
    ] as const) {
      expect((await cartJson(guest.cookie, "POST", "/api/cart/items", { productId: p.id, quantity: q })).status).toBe(200);
    }
    const guestCoupon = await makeCoupon();
    await cartJson(guest.cookie, "PUT", "/api/cart/coupon", { code: guestCoupon.code });
    await env.DB.prepare("UPDATE products SET status = 'draft' WHERE id = ?").bind(hidden.id).run();
    await env.DB.prepare("DELETE FROM products WHERE id = ?").bind(deleted.id).run();
    const userId = unique("usr");
    const account = cartStubForUser(env, userId);
    await account.addItem(shared.id, 50);
    await account.applyCoupon("ACCOUNT-CODE");

    await mergeGuestCart(env, guest.id, userId);

    const merged = await account.getState();
    expect(merged.lines).toEqual([
      { productId: shared.id, variantId: shared.variantId, quantity: 99 },
      { productId: guestOnly.id, variantId: guestOnly.variantId, quantity: 2 },
    ]);
    expect(merged.couponCode).toBe("ACCOUNT-CODE");
    expect(await guestState(guest.id)).toMatchObject({ lines: [], couponCode: null });
    expect((await getCart(guest.cookie)).items).toEqual([]);
    // Merging again (a retried sign-in) adds nothing.
    await mergeGuestCart(env, guest.id, userId);
    expect((await account.getState()).lines).toEqual(merged.lines);
  });

  it("carries the guest's coupon when the account's cart has none; a malformed guest id does nothing", async () => {
    const p = await makeProduct();
    const guest = guestCart();
    await cartJson(guest.cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 });
    const coupon = await makeCoupon();
    await cartJson(guest.cookie, "PUT", "/api/cart/coupon", { code: coupon.code });
    const userId = unique("usr");
    await mergeGuestCart(env, "not-an-id", userId);
    expect((await cartStubForUser(env, userId).getState()).lines).toEqual([]);
    await mergeGuestCart(env, guest.id, userId);
    expect(await cartStubForUser(env, userId).getState()).toMatchObject({
      lines: [{ productId: p.id, variantId: p.variantId, quantity: 1 }],
      couponCode: coupon.code,
    });
  });
});

describe("signed-in shoppers", () => {
  it("P12 IDOR: a signed-in shopper's cart is the account's (user:<id>), not the guest cookie's, and another account cannot see it", async () => {
    const p = await makeProduct({ priceCents: 300 });
    const alice = await signUpAndSignIn();
    const bob = await signUpAndSignIn();
    const guest = guestCart();
    await cartJson(guest.cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 7 });
    const guestBefore = await guestState(guest.id);
    const res = await cartJson(`${alice.cookie}; ${guest.cookie}`, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 2 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ items: [{ productId: p.id, variantId: p.variantId, quantity: 2 }], totalCents: 600 });
    expect((await cartStubForUser(env, alice.user.id).getState()).lines).toEqual([{ productId: p.id, variantId: p.variantId, quantity: 2 }]);
    expect(await guestState(guest.id)).toEqual(guestBefore);
    // Bob, naming Alice's user id everywhere, sees only his own (empty) cart.
    const bobView = await cartJson(bob.cookie, "GET", `/api/cart?userId=${alice.user.id}&cartId=user:${alice.user.id}`);
    expect(((await bobView.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await cartStubForUser(env, alice.user.id).getState()).lines).toEqual([{ productId: p.id, variantId: p.variantId, quantity: 2 }]);
  });

  it("P10/T07 per-customer limit: a signed-in customer who has used up a per-customer coupon is refused with coupon_already_used", async () => {
    const { reserveCouponHold } = await import("../../src/coupons/coupon-hold");
    const p = await makeProduct();
    const shopper = await signUpAndSignIn();
    await markEmailVerified(shopper.user.id);
    const coupon = await makeCoupon({ perCustomerLimit: 1 });
    const { couponCustomerKey } = await import("../../src/coupons/customer");
    const customer = await couponCustomerKey(shopper.user.email);
    expect((await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: customer })).ok).toBe(true);
    await cartJson(shopper.cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 });
    const res = await cartJson(shopper.cookie, "PUT", "/api/cart/coupon", { code: coupon.code });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe("coupon_already_used");
    expect((await cartStubForUser(env, shopper.user.id).getState()).couponCode).toBeNull();
    // Another customer may still use it.
    const other = await signUpAndSignIn();
    await markEmailVerified(other.user.id);
    await cartJson(other.cookie, "POST", "/api/cart/items", { productId: p.id, variantId: p.variantId, quantity: 1 });
    expect((await cartJson(other.cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
  });
});
