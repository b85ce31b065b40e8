import { fromBase64Url, toBase64Url } from "../platform/base64url";
import { hmacSha256Key } from "../platform/hmac";
import type { OrderRow } from "./schema";

/** How long a guest's order link opens the order: long enough for a return or a late delivery. */
export const GUEST_LINK_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

/**
 * A guest order is opened only by its link (P12): `/orders/{id}?key=…`, where the key is an
 * HMAC-SHA-256 over the order id and the link's expiry, under a key derived from
 * BETTER_AUTH_SECRET. Nothing secret is stored (the receipt mail, sent later by the webhook,
 * rebuilds the same link); the order id alone opens nothing; past its expiry the key is refused.
 */
function signingKey(env: Env): Promise<CryptoKey> {
  return hmacSha256Key(`guest-order:${env.BETTER_AUTH_SECRET ?? "development"}`);
}

function message(orderId: string, expiresAt: number): Uint8Array {
  return new TextEncoder().encode(`guest-order.v1|${orderId}|${expiresAt}`);
}

/** The key of a guest order's link (43 base64url characters). */
export async function guestOrderKey(env: Env, orderId: string, expiresAt: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await signingKey(env), message(orderId, expiresAt));
  return toBase64Url(new Uint8Array(mac));
}

/** Does `key` open this order now? Only a guest order within its link's lifetime; compared in constant time. */
export async function guestKeyOpens(env: Env, order: Pick<OrderRow, "id" | "guestAccessExpiresAt">, key: string, now = Date.now()): Promise<boolean> {
  const expiresAt = order.guestAccessExpiresAt;
  if (expiresAt === null || expiresAt <= now || !/^[A-Za-z0-9_-]{43}$/.test(key)) return false;
  return crypto.subtle.verify("HMAC", await signingKey(env), fromBase64Url(key), message(order.id, expiresAt));
}

/** The path that opens a guest order (relative: callers prefix the configured origin). */
export async function guestOrderPath(env: Env, order: Pick<OrderRow, "id" | "guestAccessExpiresAt">): Promise<string | null> {
  if (order.guestAccessExpiresAt === null) return null;
  return `/orders/${encodeURIComponent(order.id)}?key=${await guestOrderKey(env, order.id, order.guestAccessExpiresAt)}`;
}

/** The owner id of a guest's orders: the cart object's id, never the cart cookie's value. */
export function guestOwnerId(cartObjectIdHex: string): string {
  return `guest_${cartObjectIdHex}`;
}

export function isGuestOwner(userId: string): boolean {
  return userId.startsWith("guest_");
}
