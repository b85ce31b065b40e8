import { auditRefusalWithBudget } from "../accounts/login-guard";
import { fromBase64Url, toBase64Url } from "../platform/base64url";
import { clientAddressKey } from "../platform/client-address";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { getSessionUser } from "../accounts/session";
import { recordAudit } from "../audit/audit";
import { pricingVariantsQuery } from "../catalog/pricing-queries";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import type { CartObject } from "./cart-object";

export {
  cartCurrency,
  DEFAULT_CURRENCY,
  emptyCart,
  loadPricingRows,
  priceFromRows,
  type Cart,
  type CartItem,
  type PricingRows,
} from "./pricing";

/** The guest cart cookie (P12): `__Host-` so no subdomain or plain-HTTP page can set or read it. */
export const CART_COOKIE = "__Host-bastion_cart";
const CART_COOKIE_MAX_AGE = 30 * 24 * 60 * 60;

/** Which cart a request uses and whether the response must (re)issue the guest cookie. */
export interface CartRef {
  stub: DurableObjectStub<CartObject>;
  /** `user:<id>` or `guest:<id>`. */
  name: string;
  userId: string | null;
  /** The signed-in shopper's address (their coupon customer, src/coupons/customer.ts); a guest's is unknown until checkout. */
  email: string | null;
}

function cartNamespace(env: Env): DurableObjectNamespace<CartObject> {
  return env.CART as unknown as DurableObjectNamespace<CartObject>;
}

/** The cart of a signed-in user: its name comes from the user id the server resolved, never from the request. */
export function cartStubForUser(env: Env, userId: string): DurableObjectStub<CartObject> {
  return cartNamespace(env).getByName(`user:${userId}`);
}

/** The cart an order froze, by the object id stored on it (guest carts have no user to find them by). */
export function cartStubById(env: Env, objectIdHex: string): DurableObjectStub<CartObject> {
  const ns = cartNamespace(env);
  return ns.get(ns.idFromString(objectIdHex));
}

/** The cart behind a guest cart id (already validated with `isGuestCartId`). */
export function cartStubForGuest(env: Env, guestCartId: string): DurableObjectStub<CartObject> {
  return cartNamespace(env).getByName(`guest:${guestCartId}`);
}

/** A fresh guest cart id: 128 random bits, base64url without padding (22 characters). */
export function newGuestCartId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * True only for ids `newGuestCartId` can produce: 22 base64url characters that decode to exactly
 * 16 bytes and re-encode to themselves (no other spelling of the same bytes is accepted).
 */
export function isGuestCartId(value: string): boolean {
  if (!/^[A-Za-z0-9_-]{22}$/.test(value)) return false;
  const bytes = fromBase64Url(value);
  return bytes.length === 16 && toBase64Url(bytes) === value;
}

/** The guest cart id in this request's cookie, or null when absent or not a well-formed id. */
export function guestCartIdFromCookie(c: Context<AppEnv>): string | null {
  const raw = getCookie(c, CART_COOKIE);
  return raw !== undefined && isGuestCartId(raw) ? raw : null;
}

/** Sets the guest cart cookie: Secure; HttpOnly; SameSite=Lax; Path=/; no Domain (API.md). */
export function setGuestCartCookie(c: Context<AppEnv>, guestCartId: string): void {
  setCookie(c, CART_COOKIE, guestCartId, { path: "/", secure: true, httpOnly: true, sameSite: "Lax", maxAge: CART_COOKIE_MAX_AGE });
}

/** Removes the guest cart cookie (after a sign-in merge). */
export function clearGuestCartCookie(c: Context<AppEnv>): void {
  deleteCookie(c, CART_COOKIE, { path: "/", secure: true });
}

/**
 * Finds this request's cart (P12): the account's cart when signed in, else the guest cart of
 * the cookie. No cart id is ever read from the body, query or path. A cookie that is not an id
 * we could have issued is refused: the shopper gets a fresh empty cart and a new cookie, and the
 * event is audited (it only happens when someone edits the cookie).
 *
 * With `create: false` (reads), a guest without a cookie gets `null` (an empty cart, and no
 * object or cookie is made for a mere look).
 */
export async function resolveCart(c: Context<AppEnv>, options: { create: boolean }): Promise<CartRef | null> {
  const user = await getSessionUser(c);
  if (user) return { stub: cartStubForUser(c.env, user.id), name: `user:${user.id}`, userId: user.id, email: user.email };
  const raw = getCookie(c, CART_COOKIE);
  if (raw !== undefined && isGuestCartId(raw)) {
    return { stub: cartStubForGuest(c.env, raw), name: `guest:${raw}`, userId: null, email: null };
  }
  if (raw !== undefined) {
    // Audited at most 5 times per 15 minutes per address (a forged cookie costs an attacker nothing).
    await auditRefusalWithBudget(
      c.env,
      `${clientAddressKey(c)}:cart_cookie`,
      () =>
        recordAudit(c.env, {
          actor: "anonymous",
          action: "cart.cookie.rejected",
          detail: { reason: "malformed_cart_id", length: raw.length },
          ip: c.req.header("cf-connecting-ip") ?? null,
        }),
      null,
    );
  }
  if (!options.create && raw === undefined) return null;
  const id = newGuestCartId();
  setGuestCartCookie(c, id);
  return { stub: cartStubForGuest(c.env, id), name: `guest:${id}`, userId: null, email: null };
}

/**
 * Sign-in merge (API.md "Sessions and cookies"): the guest cart's visible products are added to
 * the account's cart (quantities add up, clamped at 99; variants of products that are not active, or gone, are dropped),
 * the guest's coupon is carried over only when the account's cart has none, and the guest cart
 * is emptied so the old cookie no longer holds anything. A malformed id does nothing.
 * The caller (sign-in) should also clear the guest cookie (`clearGuestCartCookie`).
 */
export async function mergeGuestCart(env: Env, guestCartId: string, userId: string): Promise<void> {
  if (!isGuestCartId(guestCartId)) return;
  const guest = cartStubForGuest(env, guestCartId);
  const state = await guest.getState();
  if (state.lines.length === 0 && state.couponCode === null) return;
  const forSale =
    state.lines.length === 0
      ? []
      : await pricingVariantsQuery(
          getDb(env.DB),
          state.lines.map((l) => l.variantId),
        );
  const productOf = new Map(forSale.map((v) => [v.variantId, v.productId]));
  const lines = state.lines
    .filter((l) => productOf.get(l.variantId) === l.productId)
    .map((l) => ({ productId: l.productId, variantId: l.variantId, quantity: l.quantity }));
  await cartStubForUser(env, userId).mergeFrom(lines, state.couponCode);
  await guest.clear();
}
