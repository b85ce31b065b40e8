import { auditRefusalWithBudget } from "../accounts/login-guard";
import { fromBase64Url, toBase64Url } from "../platform/base64url";
import { clientAddressKey } from "../platform/client-address";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { getSessionUser } from "../accounts/session";
import { recordAudit } from "../audit/audit";
import { findProductsByIds, pricingProductsQuery, type PricingProduct } from "../catalog/queries";
import { rememberPricingRows, sharedPricingRows } from "../catalog/shared-pricing";
import {
  computeDiscountCents,
  couponByCodeQuery,
  couponDefinitionRefusal,
  findNormalisedCoupon,
  normaliseCouponCode,
  type CouponRefusal,
} from "../coupons/coupons";
import type { CouponRow } from "../coupons/schema";
import type { Database } from "../db/client";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import type { CartLine, CartObject, CartState } from "./cart-object";

/** The guest cart cookie (P12): `__Host-` so no subdomain or plain-HTTP page can set or read it. */
export const CART_COOKIE = "__Host-bastion_cart";
const CART_COOKIE_MAX_AGE = 30 * 24 * 60 * 60;
/** The currency of an empty cart (the shop's catalog is priced in one currency by default). */
export const DEFAULT_CURRENCY = "USD";

/** One priced cart line (API.md `Cart.items`). */
export interface CartItem {
  productId: string;
  slug: string;
  name: string;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
}

/**
 * The API.md `Cart`, priced from D1 only (P11). Extensions: `version` (the cart's version) and
 * `couponNotice`, which says why a coupon the cart holds gives no discount any more.
 */
export interface Cart {
  items: CartItem[];
  coupon: { code: string; discountCents: number } | null;
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
  currency: string;
  version: number;
  couponNotice: CouponRefusal | null;
}

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

/** The D1 rows a cart's price depends on: its lines' visible products and its coupon's definition. */
export interface PricingRows {
  products: PricingProduct[];
  coupon: CouponRow | null;
}

/**
 * The rows `priceFromRows` needs, in at most one D1 round trip (a batch of two selects when the
 * cart holds a coupon). `productIds` may hold ids that are not in the cart yet (an add). Visible
 * products' rows this isolate read less than 5 s ago are reused (decision 009: every D1 read here
 * used to be most of a cart add's cost); the rest, and the coupon's definition, are read now.
 */
export async function loadPricingRows(db: Database, productIds: string[], couponCode: string | null, now: number = Date.now()): Promise<PricingRows> {
  const { rows: shared, missing, generation } = sharedPricingRows(db.$client, [...new Set(productIds)], now);
  const code = couponCode ? normaliseCouponCode(couponCode) : null;
  let read: PricingProduct[] = [];
  let coupon: CouponRow | null = null;
  if (missing.length > 0 && code) {
    const [rows, couponRows] = await db.batch([pricingProductsQuery(db, missing), couponByCodeQuery(db, code)]);
    read = rows;
    coupon = couponRows[0] ?? null;
  } else if (missing.length > 0) {
    read = await pricingProductsQuery(db, missing);
  } else if (code) {
    coupon = await findNormalisedCoupon(db, code);
  }
  rememberPricingRows(db.$client, read, generation, now);
  return { products: [...shared, ...read], coupon };
}

/** A cart's currency: its first line whose product is still visible (null when there is none). */
export function cartCurrency(lines: CartLine[], products: Map<string, PricingProduct>): string | null {
  for (const line of lines) {
    const product = products.get(line.productId);
    if (product) return product.currency;
  }
  return null;
}

/**
 * Prices a cart from D1's rows only (P11), as `loadPricingRows` read them (pure: no I/O): unit
 * prices are the products' current `priceCents`, lines whose product is hidden or gone are left
 * out (and listed in `goneProductIds`), the discount comes from the coupon's D1 definition at
 * `now` (the server's clock). Integers throughout; `total = max(0, subtotal − discount)`. The
 * cart's currency is its first priced line's; a line in another currency is left out.
 */
export function priceFromRows(
  state: Pick<CartState, "lines" | "couponCode" | "version">,
  rows: PricingRows,
  now: Date,
): { cart: Cart; goneProductIds: string[] } {
  const byId = new Map(rows.products.map((r) => [r.id, r]));
  const items: CartItem[] = [];
  const goneProductIds: string[] = [];
  const currency = cartCurrency(state.lines, byId);
  for (const line of state.lines) {
    const product = byId.get(line.productId);
    if (!product) {
      goneProductIds.push(line.productId);
      continue;
    }
    if (product.currency !== currency) continue;
    items.push({
      productId: product.id,
      slug: product.slug,
      name: product.name,
      quantity: line.quantity,
      unitPriceCents: product.priceCents,
      lineTotalCents: product.priceCents * line.quantity,
    });
  }
  const subtotalCents = items.reduce((sum, item) => sum + item.lineTotalCents, 0);
  let coupon: Cart["coupon"] = null;
  let couponNotice: CouponRefusal | null = null;
  if (state.couponCode) {
    const definition = rows.coupon;
    const refusal = definition ? couponDefinitionRefusal(definition, now, currency) : "coupon_invalid";
    if (definition && !refusal) coupon = { code: definition.code, discountCents: computeDiscountCents(definition, subtotalCents, currency) };
    else couponNotice = refusal;
  }
  const discountCents = coupon?.discountCents ?? 0;
  const cart: Cart = {
    items,
    coupon,
    subtotalCents,
    discountCents,
    totalCents: Math.max(0, subtotalCents - discountCents),
    currency: currency ?? DEFAULT_CURRENCY,
    version: state.version,
    couponNotice,
  };
  return { cart, goneProductIds };
}

/** The empty cart, priced (a guest who has none yet). */
export function emptyCart(): Cart {
  return { items: [], coupon: null, subtotalCents: 0, discountCents: 0, totalCents: 0, currency: DEFAULT_CURRENCY, version: 0, couponNotice: null };
}

/**
 * Sign-in merge (API.md "Sessions and cookies"): the guest cart's visible products are added to
 * the account's cart (quantities add up, clamped at 99; hidden or deleted products are dropped),
 * the guest's coupon is carried over only when the account's cart has none, and the guest cart
 * is emptied so the old cookie no longer holds anything. A malformed id does nothing.
 * The caller (sign-in) should also clear the guest cookie (`clearGuestCartCookie`).
 */
export async function mergeGuestCart(env: Env, guestCartId: string, userId: string): Promise<void> {
  if (!isGuestCartId(guestCartId)) return;
  const guest = cartStubForGuest(env, guestCartId);
  const state = await guest.getState();
  if (state.lines.length === 0 && state.couponCode === null) return;
  const visible = await findProductsByIds(
    getDb(env.DB),
    state.lines.map((l) => l.productId),
  );
  const visibleIds = new Set(visible.map((p) => p.id));
  const lines = state.lines.filter((l) => visibleIds.has(l.productId)).map((l) => ({ productId: l.productId, quantity: l.quantity }));
  await cartStubForUser(env, userId).mergeFrom(lines, state.couponCode);
  await guest.clear();
}
