import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { Hono } from "hono";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { formatMoney } from "../web/format";
import { Layout } from "../web/layout";
import { clientAddressKey } from "../platform/client-address";
import { cancelPendingOrderForUser } from "./cancel";
import { IdempotencyKey, limitCheckoutAttempts, startCheckout } from "./checkout";
import { requireUser } from "../accounts/session";
import { findOrderForUser, listOrdersForUser, type Order } from "./orders";

const STATUS_TEXT: Record<Order["status"], string> = {
  pending: "Awaiting payment",
  paid: "Paid",
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
                  <a href={`/orders/${o.id}`}>{o.id}</a>
                </td>
                <td>
                  <time datetime={o.createdAt}>{o.createdAt.slice(0, 10)}</time>
                </td>
                <td data-status={o.status}>{STATUS_TEXT[o.status]}</td>
                <td>{formatMoney(o.totalCents, o.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

function OrderPage({ order, returned }: { order: Order; returned: "success" | "cancelled" | null }) {
  const waiting = returned === "success" && order.status === "pending";
  return (
    <Layout title={`Order ${order.id}`}>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/orders">Your orders</a> / <span>{order.id}</span>
      </nav>
      <h1 class="page-title">Order {order.id}</h1>
      {waiting ? (
        <p class="notice" role="status">
          Thank you! We are waiting for the payment provider to confirm your payment. This page refreshes by itself.{" "}
          <a href={`/orders/${order.id}?status=success`}>Refresh now</a>
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
            Or <a href={`/orders/${order.id}?status=success`}>check the payment again</a>.
          </span>
        </form>
      ) : null}
      <p>
        Status: <strong data-status={order.status}>{STATUS_TEXT[order.status]}</strong>
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
              <td>{formatMoney(l.unitPriceCents, order.currency)}</td>
              <td>{formatMoney(l.lineTotalCents, order.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl class="totals">
        <dt>Subtotal</dt>
        <dd>{formatMoney(order.subtotalCents, order.currency)}</dd>
        {order.discountCents > 0 ? (
          <>
            <dt>Discount{order.couponCode ? ` (${order.couponCode})` : ""}</dt>
            <dd>−{formatMoney(order.discountCents, order.currency)}</dd>
          </>
        ) : null}
        <dt>Total</dt>
        <dd>{formatMoney(order.totalCents, order.currency)}</dd>
      </dl>
    </Layout>
  );
}

/**
 * Order pages and the storefront checkout form. Fulfilment never depends on these pages: the
 * webhook pays the order; the success page only shows what D1 says.
 */
export const checkoutPages = new Hono<AppEnv>()
  .get("/orders", async (c) => {
    const user = await requireUser(c);
    return c.html(<OrdersPage items={await listOrdersForUser(getDb(c.env.DB), user.id)} />);
  })
  .get("/orders/:id", async (c) => {
    const user = await requireUser(c);
    const id = c.req.param("id");
    const order = id.length <= 100 ? await findOrderForUser(getDb(c.env.DB), user.id, id) : null;
    if (!order) throw new ProblemError(404, "not_found", "We could not find that order.");
    const status = c.req.query("status");
    const returned = status === "success" || status === "cancelled" ? status : null;
    // Still waiting for the webhook: refresh with a header (no inline script, CSP stays strict).
    if (returned === "success" && order.status === "pending") c.header("refresh", `3; url=/orders/${order.id}?status=success`);
    return c.html(<OrderPage order={order} returned={returned} />);
  })
  .post("/orders/:id/cancel", async (c) => {
    const user = await requireUser(c);
    const id = c.req.param("id");
    if (id.length > 100) throw new ProblemError(404, "not_found", "We could not find that order.");
    await cancelPendingOrderForUser(c.env, c.var.config, user, id);
    return c.redirect("/cart", 303);
  })
  // A missing or malformed key is no key (the page always sends one; a replay without it is a new checkout attempt, still rate limited).
  .post("/checkout", zValidator("form", z.object({ idempotencyKey: IdempotencyKey.optional().catch(undefined) })), async (c) => {
    const user = await requireUser(c);
    const key = c.req.valid("form").idempotencyKey ?? null;
    await limitCheckoutAttempts(c.env, user.id, clientAddressKey(c));
    const started = await startCheckout(c.env, c.var.config, user, key);
    return c.redirect(started.checkoutUrl, 303);
  });
