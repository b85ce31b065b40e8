import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { logEvent } from "../platform/log";
import { ProblemError } from "../platform/problem";
import { clientAddressKey } from "../platform/client-address";
import { cancelPendingOrderForUser } from "./cancel";
import { buyerOwnerId, limitCheckoutAttempts, resolveBuyer } from "./buyer";
import { startCheckout } from "./checkout";
import { IdempotencyKey } from "./replay";
import { GUEST_ORDER_COOKIE_LIFETIME_S, guestOrderCookieName, guestOrderCookieValue } from "./guest-access";
import { requireUser } from "../accounts/session";
import { OrderPage, OrdersPage, orderHref } from "./order-views";
import { claimGuestOrders, findOrderByGuestKey, findOrderForUser, guestOrderRow, listOrdersForUser, type Order } from "./orders";

/** Checkout form fields: an unusable optional field is no field (the checks that matter run in startCheckout). */
const CheckoutForm = z.object({
  idempotencyKey: IdempotencyKey.optional().catch(undefined),
  shippingRateId: z.string().min(1).max(100).optional().catch(undefined),
  email: z.email().max(254).optional().catch(undefined),
});

/** Refusals the cart page explains (src/cart/pages.tsx MESSAGES). */
const CART_FIXABLE = new Set([
  "shipping_rate_required",
  "shipping_rate_invalid",
  "email_required",
  "cart_empty",
  "out_of_stock",
  "currency_mismatch",
  "currency_not_accepted",
  "coupon_needs_proof",
  "too_many_held_units",
]);

function noStoreNoReferrer(c: Context<AppEnv>): void {
  c.header("cache-control", "private, no-store");
  c.header("referrer-policy", "no-referrer");
}

/** The value of this order's guest cookie, or null. */
function guestOrderCookie(c: Context<AppEnv>, orderId: string): string | null {
  const name = guestOrderCookieName(orderId);
  return (name && getCookie(c, name)) || null;
}

/** The guest order this request's cookie opens, or null (no cookie, or one that no longer opens it: expired, revoked, claimed). */
async function guestOrderFromCookie(c: Context<AppEnv>, orderId: string): Promise<Order | null> {
  const cookie = guestOrderCookie(c, orderId);
  return cookie ? findOrderByGuestKey(c.env, getDb(c.env.DB), orderId, { cookie }) : null;
}

/**
 * Order pages and the storefront checkout form. Fulfilment never depends on these pages: the
 * webhook pays the order; the success page only shows what D1 says.
 */
export const checkoutPages = new Hono<AppEnv>()
  .get("/orders", async (c) => {
    const user = await requireUser(c);
    const db = getDb(c.env.DB);
    await claimGuestOrders(c.env, db, user);
    return c.html(<OrdersPage items={await listOrdersForUser(db, user.id)} />);
  })
  .get("/orders/:id", async (c) => {
    const id = c.req.param("id");
    const status = c.req.query("status");
    const returned = status === "success" || status === "cancelled" ? status : null;
    const db = getDb(c.env.DB);
    const key = c.req.query("key");
    if (key !== undefined) {
      // A guest's link (P12): the key alone decides, once; it is exchanged for a cookie scoped to
      // this order and the shopper lands on the clean address, so the key stays in no history,
      // referrer or later request. Nobody's to cache or refer onwards.
      noStoreNoReferrer(c);
      const row = await guestOrderRow(c.env, db, id, { key });
      const name = guestOrderCookieName(id);
      // Operators see links being used and guessed (logEvent records the path, never the key).
      logEvent(c, "info", row && name ? "guest_link_exchanged" : "guest_link_refused", { orderId: id.slice(0, 100) });
      if (!row || !name) throw new ProblemError(404, "not_found", "We could not find that order.");
      setCookie(c, name, await guestOrderCookieValue(c.env, row), {
        path: "/",
        secure: true,
        httpOnly: true,
        sameSite: "Lax",
        maxAge: GUEST_ORDER_COOKIE_LIFETIME_S,
      });
      return c.redirect(orderHref(id, returned), 303);
    }
    let order = await guestOrderFromCookie(c, id);
    const guest = order !== null;
    if (guest) noStoreNoReferrer(c);
    else {
      const user = await requireUser(c);
      await claimGuestOrders(c.env, db, user);
      order = id.length <= 100 ? await findOrderForUser(db, user.id, id) : null;
    }
    if (!order) throw new ProblemError(404, "not_found", "We could not find that order.");
    // Still waiting for the webhook: refresh with a header (no inline script, CSP stays strict).
    if (returned === "success" && order.status === "pending") c.header("refresh", `3; url=${orderHref(order.id, "success")}`);
    return c.html(<OrderPage order={order} returned={returned} guest={guest} />);
  })
  .post("/orders/:id/cancel", async (c) => {
    const id = c.req.param("id");
    if (id.length > 100) throw new ProblemError(404, "not_found", "We could not find that order.");
    // A guest cancels with the order's cookie (SameSite=Lax: never sent on another site's POST).
    const cookie = guestOrderCookie(c, id);
    const row = cookie ? await guestOrderRow(c.env, getDb(c.env.DB), id, { cookie }) : null;
    const user = row ? { id: row.userId } : await requireUser(c);
    await cancelPendingOrderForUser(c.env, c.var.config, user, id);
    return c.redirect("/cart", 303);
  })
  // A missing or malformed key is no key (a replay without it is a new checkout attempt, still rate limited).
  .post("/checkout", zValidator("form", CheckoutForm), async (c) => {
    const form = c.req.valid("form");
    try {
      const buyer = await resolveBuyer(c, form.email);
      await limitCheckoutAttempts(c.env, buyerOwnerId(c.env, buyer), clientAddressKey(c));
      const started = await startCheckout(c.env, c.var.config, buyer, {
        idempotencyKey: form.idempotencyKey ?? null,
        shippingRateId: form.shippingRateId ?? null,
        clientAddressKey: clientAddressKey(c),
      });
      return c.redirect(started.checkoutUrl, 303);
    } catch (error) {
      // What the shopper can fix in the cart goes back to it with a message (its text is the cart page's own).
      if (error instanceof ProblemError && CART_FIXABLE.has(error.code)) return c.redirect(`/cart?m=${error.code}`, 303);
      throw error;
    }
  });
