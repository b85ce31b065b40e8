import type { Context } from "hono";
import { consumeRateLimit } from "../accounts/rate-limits";
import { getSessionUser, type SessionUser } from "../accounts/session";
import { cartStubForGuest, cartStubForUser, guestCartIdFromCookie } from "../cart/cart";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { guestOwnerId } from "./guest-access";

/**
 * Who is paying: a signed-in account, or a guest by the cart of their cookie and the address they
 * gave (Stripe Checkout shows it locked; the receipt and the order's link go there).
 */
export type Buyer = { kind: "account"; user: SessionUser } | { kind: "guest"; guestCartId: string; email: string };

/** The id a buyer's orders are owned by (and checkouts throttled by): the user id, or the guest cart object's id. */
export function buyerOwnerId(env: Env, buyer: Buyer): string {
  return buyer.kind === "account" ? buyer.user.id : guestOwnerId(cartStubForGuest(env, buyer.guestCartId).id.toString());
}

/**
 * The buyer of this request: the signed-in account, else a guest with a cart cookie and an email.
 * A caller with neither is 401 `unauthenticated`; a guest without an address, 422 `email_required`.
 */
export async function resolveBuyer(c: Context<AppEnv>, email: string | undefined): Promise<Buyer> {
  const user = await getSessionUser(c);
  if (user) return { kind: "account", user };
  const guestCartId = guestCartIdFromCookie(c);
  // Neither an account nor a guest cart: nobody to sell to (API.md's 401 for a signed-out caller).
  if (!guestCartId) throw new ProblemError(401, "unauthenticated", "Sign in, or add something to a cart first.");
  if (!email) throw new ProblemError(422, "email_required", "Give the email address your receipt should go to.");
  return { kind: "guest", guestCartId, email };
}

/** A buyer's cart, owner id (orders.user_id) and the mailbox the order belongs to. */
export function buyerParts(env: Env, buyer: Buyer) {
  if (buyer.kind === "account") {
    const cart = cartStubForUser(env, buyer.user.id);
    return { cart, ownerId: buyer.user.id, email: buyer.user.email.toLowerCase(), cartObjectId: cart.id.toString() };
  }
  const cart = cartStubForGuest(env, buyer.guestCartId);
  const cartObjectId = cart.id.toString();
  return { cart, ownerId: guestOwnerId(cartObjectId), email: buyer.email.trim().toLowerCase(), cartObjectId };
}

/** Checkouts per shopper and per client address (IPv6 /64), each per 10 minutes. */
export const CHECKOUT_LIMITS = { perUser: { window: 600, max: 10 }, perAddress: { window: 600, max: 30 } } as const;

/**
 * Refuses a burst of checkouts (429): each one holds stock and a coupon while its session is open
 * and calls Stripe, so an unthrottled loop could hoard stock or use up the Stripe rate limit.
 */
export async function limitCheckoutAttempts(env: Env, userId: string, addressKey: string): Promise<void> {
  const [perUser, perAddress] = await Promise.all([
    consumeRateLimit(env, "checkout-user", userId, CHECKOUT_LIMITS.perUser),
    consumeRateLimit(env, "checkout-address", addressKey, CHECKOUT_LIMITS.perAddress),
  ]);
  const refused = [perUser, perAddress].find((r) => !r.allowed);
  if (refused) {
    throw new ProblemError(429, "too_many_checkouts", "Too many checkouts in a short time. Please wait a few minutes.", {
      headers: { "retry-after": String(refused.retryAfter ?? 60) },
    });
  }
}
