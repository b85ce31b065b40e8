import { fromCanonicalBase64Url, toBase64Url } from "../platform/base64url";
import { hmacSha256Key } from "../platform/hmac";
import type { OrderRow } from "./schema";

/**
 * How long a guest's order link opens the order, counted from the mail (or checkout answer) that
 * carries it: every mail about the order (receipt, shipping, refund) carries a fresh link, and
 * says until when it works. After that the shopper signs up with the address to see the order.
 */
export const GUEST_LINK_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;
/** How long the cookie a link is exchanged for opens the order page (then the link is needed again). */
export const GUEST_ORDER_COOKIE_LIFETIME_S = 60 * 60;

/** What the guest-access rules read of an order row. */
export type GuestOrder = Pick<OrderRow, "id" | "userId" | "guestKeyVersion" | "guestAccessExpiresAt">;

/**
 * A guest order is opened only by its link (P12): `/orders/{id}?key=…`. The key is 36 bytes in
 * base64url (48 characters, no spare bits): the link's expiry (Unix seconds, 4 bytes) and an
 * HMAC-SHA-256 over the order id, the order's key version and that expiry, under a key derived
 * from BETTER_AUTH_SECRET. Nothing secret is stored; the key version (orders.guest_key_version)
 * is bumped when staff revoke the links and when the order joins an account, which kills every
 * link and cookie issued before. The page exchanges the key for a short-lived cookie and
 * redirects to the clean URL, so the key is in one request's URL only.
 */
function signingKey(env: Env): Promise<CryptoKey> {
  return hmacSha256Key(`guest-order:${env.BETTER_AUTH_SECRET ?? "development"}`);
}

const KEY_BYTES = 36;
const MAC_BYTES = 32;
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

function keyMessage(order: Pick<GuestOrder, "id" | "guestKeyVersion">, expiresAtS: number): Uint8Array {
  return encode(`guest-order.v2|${order.id}|${order.guestKeyVersion}|${expiresAtS}`);
}

/** Links issued before key versions (90 days, no version): valid while the order's version is still 0. */
function legacyKeyMessage(orderId: string, expiresAtMs: number): Uint8Array {
  return encode(`guest-order.v1|${orderId}|${expiresAtMs}`);
}

function cookieMessage(order: Pick<GuestOrder, "id" | "guestKeyVersion">, expiresAtS: number): Uint8Array {
  return encode(`guest-order-cookie.v1|${order.id}|${order.guestKeyVersion}|${expiresAtS}`);
}

export function isGuestOwner(userId: string): boolean {
  return userId.startsWith("guest_");
}

/** The owner id of a guest's orders: the cart object's id, never the cart cookie's value. */
export function guestOwnerId(cartObjectIdHex: string): string {
  return `guest_${cartObjectIdHex}`;
}

/** The key of a guest order's link that works until `expiresAtMs` (rounded down to the second). */
export async function guestOrderKey(env: Env, order: Pick<GuestOrder, "id" | "guestKeyVersion">, expiresAtMs: number): Promise<string> {
  const expiresAtS = Math.floor(expiresAtMs / 1000);
  const bytes = new Uint8Array(KEY_BYTES);
  new DataView(bytes.buffer).setUint32(0, expiresAtS);
  bytes.set(new Uint8Array(await crypto.subtle.sign("HMAC", await signingKey(env), keyMessage(order, expiresAtS))), 4);
  return toBase64Url(bytes);
}

/**
 * Does `key` open this order now? Only a guest order (a claimed one is its account's), only the
 * key's one canonical spelling, only before its expiry and only under the order's current key
 * version; the MAC is compared in constant time.
 */
export async function guestKeyOpens(env: Env, order: GuestOrder, key: string, now = Date.now()): Promise<boolean> {
  if (!isGuestOwner(order.userId)) return false;
  const bytes = fromCanonicalBase64Url(key, KEY_BYTES);
  if (bytes) {
    const expiresAtS = new DataView(bytes.buffer).getUint32(0);
    if (expiresAtS * 1000 <= now) return false;
    return crypto.subtle.verify("HMAC", await signingKey(env), bytes.slice(4), keyMessage(order, expiresAtS));
  }
  const legacy = fromCanonicalBase64Url(key, MAC_BYTES);
  const legacyExpiry = order.guestAccessExpiresAt;
  if (!legacy || order.guestKeyVersion !== 0 || legacyExpiry === null || legacyExpiry <= now) return false;
  return crypto.subtle.verify("HMAC", await signingKey(env), legacy, legacyKeyMessage(order.id, legacyExpiry));
}

/** The path that opens a guest order for the link lifetime from `now` (relative: callers prefix the origin), or null for an account's order. */
export async function guestOrderPath(env: Env, order: Pick<GuestOrder, "id" | "userId" | "guestKeyVersion">, now = Date.now()): Promise<string | null> {
  if (!isGuestOwner(order.userId)) return null;
  return `/orders/${encodeURIComponent(order.id)}?key=${await guestOrderKey(env, order, now + GUEST_LINK_LIFETIME_MS)}`;
}

/** Order ids as the shop makes them; anything else never names a cookie. */
const COOKIE_SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * The name of the cookie that opens one guest order's page: one cookie per order (a shopper may
 * have two orders open), `__Host-` (Secure, Path=/, no Domain; browsers treat http://localhost as
 * secure), or null for an id that cannot be part of a cookie name.
 */
export function guestOrderCookieName(orderId: string): string | null {
  return COOKIE_SAFE_ID.test(orderId) ? `__Host-bastion_order_${orderId}` : null;
}

/** The value of the cookie a valid link is exchanged for: `<expiry s>.<HMAC over id, key version, expiry>`. */
export async function guestOrderCookieValue(env: Env, order: Pick<GuestOrder, "id" | "guestKeyVersion">, now = Date.now()): Promise<string> {
  const expiresAtS = Math.floor(now / 1000) + GUEST_ORDER_COOKIE_LIFETIME_S;
  const mac = await crypto.subtle.sign("HMAC", await signingKey(env), cookieMessage(order, expiresAtS));
  return `${expiresAtS}.${toBase64Url(new Uint8Array(mac))}`;
}

/** Does this cookie value open this order now (same rules as a key: guest order, canonical, unexpired, current version)? */
export async function guestCookieOpens(env: Env, order: GuestOrder, value: string, now = Date.now()): Promise<boolean> {
  const match = /^([0-9]{1,10})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match || !isGuestOwner(order.userId)) return false;
  const expiresAtS = Number(match[1]);
  const mac = fromCanonicalBase64Url(match[2]!, MAC_BYTES);
  if (!mac || expiresAtS * 1000 <= now || expiresAtS * 1000 > now + GUEST_ORDER_COOKIE_LIFETIME_S * 1000 + 1000) return false;
  return crypto.subtle.verify("HMAC", await signingKey(env), mac, cookieMessage(order, expiresAtS));
}
