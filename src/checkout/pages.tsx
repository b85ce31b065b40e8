import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { logEvent } from "../platform/log";
import { ProblemError } from "../platform/problem";
import { formatMoney, orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import { clientAddressKey } from "../platform/client-address";
import { cancelPendingOrderForUser } from "./cancel";
import { buyerOwnerId, limitCheckoutAttempts, resolveBuyer } from "./buyer";
import { startCheckout } from "./checkout";
import { IdempotencyKey } from "./replay";
import { GUEST_ORDER_COOKIE_LIFETIME_S, guestOrderCookieName, guestOrderCookieValue } from "./guest-access";
import { requireUser } from "../accounts/session";
import { addressLines, claimGuestOrders, findOrderByGuestKey, findOrderForUser, guestOrderRow, listOrdersForUser, type Order } from "./orders";

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
]);

const STATUS_TEXT: Record<Order["paymentState"], string> = {
  pending: "Awaiting payment",
  paid: "Paid",
  partially_refunded: "Partially refunded",
  expired: "Expired — not paid",
  cancelled: "Cancelled — not paid",
  refunded: "Refunded",
};

function OrdersPage({ items }: { items: Order[] }) {
  return (
    <Layout title="Your orders">
      <h1 class="page-title">Your orders</h1>
      {items.length === 0 ? (
        <div class="empty">
          <p>You have no orders yet.</p>
          <p>
            <a href="/">Go shopping</a>
          </p>
        </div>
      ) : (
        <table class="orders">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Placed</th>
              <th scope="col">Status</th>
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {items.map((o) => (
              <tr>
                <td>
                  <a href={`/orders/${o.id}`}>{orderNumberLabel(o)}</a>
                </td>
                <td>
                  <time datetime={o.createdAt}>{o.createdAt.slice(0, 10)}</time>
                </td>
                <td data-status={o.status} data-payment-state={o.paymentState}>
                  {STATUS_TEXT[o.paymentState]}
                </td>
                <td>{formatMoney(o.totalCents, o.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

/** The order page's own address, never with a key: a guest's page opens with its cookie (guest-access.ts). */
function orderHref(orderId: string, status?: "success" | "cancelled" | null): string {
  return `/orders/${encodeURIComponent(orderId)}${status ? `?status=${status}` : ""}`;
}

export function AddressBlock({ address, ...attributes }: { address: NonNullable<Order["shippingAddress"]> } & Record<`data-${string}`, boolean>) {
  return (
    <address {...attributes}>
      {addressLines(address).map((l) => (
        <>
          {l}
          <br />
        </>
      ))}
    </address>
  );
}

function OrderPage({ order, returned, guest }: { order: Order; returned: "success" | "cancelled" | null; guest: boolean }) {
  const waiting = returned === "success" && order.status === "pending";
  const money = (cents: number) => formatMoney(cents, order.currency);
  return (
    <Layout title={`Order ${orderNumberLabel(order)}`}>
      {guest ? (
        <p class="notice" role="note">
          This page opens with the link in your receipt, in this browser for an hour. Keep the link private: anyone who has it can see this order.
        </p>
      ) : (
        <nav class="crumbs" aria-label="Breadcrumb">
          <a href="/orders">Your orders</a> / <span>{orderNumberLabel(order)}</span>
        </nav>
      )}
      <h1 class="page-title">Order {orderNumberLabel(order)}</h1>
      {waiting ? (
        <p class="notice" role="status">
          Thank you! We are waiting for the payment provider to confirm your payment. This page refreshes by itself.{" "}
          <a href={orderHref(order.id, "success")}>Refresh now</a>
        </p>
      ) : null}
      {returned === "success" && order.status === "paid" ? (
        <p class="notice" role="status">
          Payment received. Thank you!
        </p>
      ) : null}
      {returned === "cancelled" && order.status === "pending" ? (
        <p class="notice" role="status">
          You left the payment page. Nothing was charged.
        </p>
      ) : null}
      {order.paymentProcessing ? (
        <p class="notice" role="status" data-payment="processing">
          Your payment is on its way (bank transfer or similar). Your items are kept for you until it arrives; nothing else is needed.
        </p>
      ) : null}
      {order.status === "pending" && !order.paymentProcessing && returned !== "success" ? (
        <form method="post" action={`/orders/${order.id}/cancel`} class="inline-form">
          <button type="submit" class="secondary">
            Cancel this order and return to your cart
          </button>
          <span>
            Or <a href={orderHref(order.id, "success")}>check the payment again</a>.
          </span>
        </form>
      ) : null}
      <p>
        Status:{" "}
        <strong data-status={order.status} data-payment-state={order.paymentState}>
          {STATUS_TEXT[order.paymentState]}
        </strong>
      </p>
      {order.shipping.status !== "unfulfilled" ? (
        <p data-fulfilment={order.shipping.status}>
          {order.shipping.status === "delivered" ? "Delivered. " : "On its way: "}
          shipped by {order.shipping.carrier}, tracking number <strong>{order.shipping.trackingNumber}</strong>.
        </p>
      ) : null}
      <table class="order-lines">
        <thead>
          <tr>
            <th scope="col">Item</th>
            <th scope="col">Qty</th>
            <th scope="col">Price</th>
            <th scope="col">Total</th>
          </tr>
        </thead>
        <tbody>
          {order.items.map((l) => (
            <tr>
              <td>{l.name}</td>
              <td>{l.quantity}</td>
              <td>{money(l.unitPriceCents)}</td>
              <td>{money(l.lineTotalCents)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl class="totals">
        <dt>Subtotal</dt>
        <dd>{money(order.subtotalCents)}</dd>
        {order.discountCents > 0 ? (
          <>
            <dt>Discount{order.couponCode ? ` (${order.couponCode})` : ""}</dt>
            <dd>−{money(order.discountCents)}</dd>
          </>
        ) : null}
        {order.shippingRate ? (
          <>
            <dt>Shipping ({order.shippingRate})</dt>
            <dd data-shipping>{order.shippingCents === 0 ? "Free" : money(order.shippingCents)}</dd>
          </>
        ) : null}
        {order.taxCents > 0 ? (
          <>
            <dt>Tax</dt>
            <dd data-tax>{money(order.taxCents)}</dd>
          </>
        ) : null}
        <dt>{order.status === "pending" ? "Total" : "Total charged"}</dt>
        <dd data-total>{money(order.totalCents)}</dd>
      </dl>
      {order.refunds.length > 0 ? (
        <section aria-labelledby="refunds" data-refunds>
          <h2 id="refunds">Refunds</h2>
          <ul>
            {order.refunds.map((r) => (
              <li data-refund={r.amountCents}>
                <time datetime={r.createdAt}>{r.createdAt.slice(0, 10)}</time>: {money(r.amountCents)} back to your card
                {r.lines.length > 0
                  ? ` for ${r.lines.map((l) => `${l.quantity} × ${order.items.find((i) => i.productId === l.productId)?.name ?? "an item"}`).join(", ")}`
                  : ""}
              </li>
            ))}
          </ul>
          <p>
            Refunded {money(order.refundedCents)} of {money(order.totalCents)}. Your bank shows the money back in 5 to 10 business days.
          </p>
        </section>
      ) : null}
      {order.shippingAddress ? (
        <section aria-labelledby="ship-to">
          <h2 id="ship-to">Shipping to</h2>
          <AddressBlock address={order.shippingAddress} data-shipping-address />
        </section>
      ) : null}
      {order.email ? <p>Receipt sent to {order.email}.</p> : null}
    </Layout>
  );
}

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
      });
      return c.redirect(started.checkoutUrl, 303);
    } catch (error) {
      // What the shopper can fix in the cart goes back to it with a message (its text is the cart page's own).
      if (error instanceof ProblemError && CART_FIXABLE.has(error.code)) return c.redirect(`/cart?m=${error.code}`, 303);
      throw error;
    }
  });
