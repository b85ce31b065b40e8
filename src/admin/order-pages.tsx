import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requireFreshSession } from "../accounts/session";
import { IdempotencyKey } from "../checkout/replay";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { minorUnits } from "../web/format";
import { Layout } from "../web/layout";
import { actorOf, staffUser } from "./guard";
import { requestRefund } from "./order-refunds";
import { OrderBooks } from "./order-money";
import { isOpenDispute } from "../payments/payment-state";
import { findAdminOrder, ORDER_STATUSES, OrderSearchQuery, searchOrders, type AdminOrder } from "./orders";
import { Alert, filledQuery, money, refusalOf, StaffNav } from "./page-parts";
import { ShippingSection } from "./fulfilment-pages";

function OrderDetail(props: { order: AdminOrder; canRefund: boolean; error?: string | undefined; shippingError?: string | undefined }) {
  const o = props.order;
  return (
    <Layout title={`Staff: order ${o.id}`}>
      <StaffNav />
      <h1>
        Order <code>{o.id}</code>
      </h1>
      <Alert message={props.error} />
      <p>
        Status <strong data-status={o.status}>{o.status}</strong> · customer {o.customerEmail ?? "(deleted)"} (<code>{o.userId}</code>) · total{" "}
        {money(o.totalCents, o.currency)}
        {o.couponCode ? ` · coupon ${o.couponCode} (−${money(o.discountCents, o.currency)})` : ""}
      </p>
      <p>
        Created {o.createdAt}
        {o.paidAt ? ` · paid ${o.paidAt}` : ""} · provider {o.provider} · payment intent <code>{o.paymentIntentId ?? "—"}</code>
        {o.provider === "simulator" && o.paymentSessionId ? (
          <>
            {" "}
            · <a href={`/dev/stripe/${o.paymentSessionId}`}>Stripe Dashboard (simulator)</a>
          </>
        ) : null}
      </p>
      {o.paymentInFlight ? (
        <p class="notice" role="status" data-flag="payment-in-flight">
          A delayed payment is in flight: stock and coupon stay held until it settles.
        </p>
      ) : null}
      {o.couponOverRedeemed ? (
        <p class="alert" role="alert" data-flag="coupon-over-redeemed">
          Coupon over-redeemed: this order was paid with {o.couponCode} after its hold ended and no use was left. Decide with the customer (honour it, or refund
          the discount).
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Item</th>
            <th scope="col">Qty</th>
            <th scope="col">Unit</th>
            <th scope="col">Line</th>
          </tr>
        </thead>
        <tbody>
          {o.items.map((l) => (
            <tr>
              <td>{l.name}</td>
              <td>{l.quantity}</td>
              <td>{money(l.unitPriceCents, o.currency)}</td>
              <td>{money(l.lineTotalCents, o.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Payment timeline</h2>
      <ol>
        {o.timeline.map((t) => (
          <li>
            <time>{t.createdAt}</time> <code>{t.kind}</code> {t.detail && t.kind !== "simulator.session" ? <code>{t.detail}</code> : null}
          </li>
        ))}
      </ol>
      {o.paymentsAfterClose.length > 0 ? (
        <section aria-labelledby="after-close">
          <h2 id="after-close">Payments received after the order closed</h2>
          <ul>
            {o.paymentsAfterClose.map((p) => (
              <li data-payment={p.id}>
                {money(p.amountCents, p.currency.toUpperCase())} received {p.receivedAt} —{" "}
                {p.refundId ? (
                  <>
                    refunded (<code>{p.refundId}</code>)
                  </>
                ) : (
                  <strong>not refunded</strong>
                )}
              </li>
            ))}
          </ul>
          {props.canRefund && o.paymentsAfterClose.some((p) => p.refundId === null) ? (
            <form method="post" action={`/admin/orders/${encodeURIComponent(o.id)}/refund`}>
              <p>The shop never sold anything for this money. Needs a sign-in within the last 10 minutes.</p>
              <button type="submit" class="danger">
                Refund the payment received after close
              </button>
            </form>
          ) : null}
        </section>
      ) : null}
      <OrderBooks order={o} />
      <ShippingSection order={o} canShip={props.canRefund} error={props.shippingError} />
      {props.canRefund && o.status === "paid" && (isOpenDispute(o.disputeStatus) || o.disputeStatus === "lost") ? (
        <p class="notice" data-refund-blocked>
          This payment is disputed: it cannot be refunded here.
        </p>
      ) : null}
      {props.canRefund && o.status === "paid" && !isOpenDispute(o.disputeStatus) && o.disputeStatus !== "lost" ? (
        <form class="stack" method="post" action={`/admin/orders/${encodeURIComponent(o.id)}/refund`}>
          <p>
            Paid {money(o.totalCents, o.currency)}
            {o.refundedCents > 0 ? `, ${money(o.refundedCents, o.currency)} refunded already` : ""}. Refund all of what is left, or part of it (e.g. one
            returned item). Needs a sign-in within the last 10 minutes.
          </p>
          <label>
            Amount ({o.currency}, empty for everything left){" "}
            <input name="amount" inputmode="decimal" pattern="[0-9]+([.,][0-9]{1,3})?" maxlength={12} autocomplete="off" />
          </label>
          {/* One key per rendered form: a double click or a resubmitted page is one refund. */}
          <input type="hidden" name="idempotencyKey" value={crypto.randomUUID()} />
          <button type="submit" class="danger">
            Refund
          </button>
        </form>
      ) : null}
    </Layout>
  );
}

async function orderOr404(c: Context<AppEnv>): Promise<AdminOrder> {
  const order = await findAdminOrder(getDb(c.env.DB), c.req.param("id") ?? "");
  if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
  return order;
}

/** The refund form: an optional decimal amount and the form's own idempotency key (ignored when malformed). */
const RefundForm = z.object({ amount: z.string().trim().max(12).optional(), idempotencyKey: IdempotencyKey.optional().catch(undefined) });

/**
 * Staff pages for orders (support and admin read them; refunds are admin only). Mounted inside
 * `adminPages`, after its staff guard; the handlers call the same audited functions as the API.
 */
export const orderPages = new Hono<AppEnv>()
  .get("/admin/orders", async (c) => {
    const parsed = OrderSearchQuery.safeParse(filledQuery(c));
    const query = parsed.success ? parsed.data : {};
    let page: Awaited<ReturnType<typeof searchOrders>>;
    let error: string | undefined;
    try {
      page = await searchOrders(getDb(c.env.DB), query);
    } catch (e) {
      error = refusalOf(e).message;
      page = { items: [], nextCursor: null };
    }
    const next = new URLSearchParams({ ...(query.status ? { status: query.status } : {}), ...(query.customer ? { customer: query.customer } : {}) });
    if (page.nextCursor) next.set("cursor", page.nextCursor);
    return c.html(
      <Layout title="Staff: orders">
        <StaffNav />
        <h1>Orders</h1>
        <Alert message={parsed.success ? error : "A search field is not valid."} />
        <form method="get" action="/admin/orders">
          <label>
            Status{" "}
            <select name="status">
              <option value="">any</option>
              {ORDER_STATUSES.map((s) => (
                <option value={s} selected={s === query.status}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Customer (email or user id) <input name="customer" value={query.customer ?? ""} maxlength={320} />
          </label>
          <button type="submit">Search</button>
        </form>
        <table>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Status</th>
              <th scope="col">Customer</th>
              <th scope="col">Total</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((o) => (
              <tr>
                <td>
                  <a href={`/admin/orders/${encodeURIComponent(o.id)}`}>{o.id}</a>
                </td>
                <td>{o.status}</td>
                <td>{o.customerEmail ?? o.userId}</td>
                <td>{money(o.totalCents, o.currency)}</td>
                <td>{o.createdAt}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.nextCursor ? <a href={`/admin/orders?${next.toString()}`}>Next page</a> : null}
      </Layout>,
    );
  })
  .get("/admin/orders/:id", async (c) =>
    c.html(<OrderDetail order={await orderOr404(c)} canRefund={staffUser(c).role === "admin"} shippingError={c.req.query("shipping_error")} />),
  )
  .post("/admin/orders/:id/refund", zValidator("form", RefundForm), async (c) => {
    const order = await orderOr404(c);
    const form = c.req.valid("form");
    const amountCents = form.amount ? minorUnits(form.amount, order.currency) : undefined;
    if (amountCents === null || amountCents === 0)
      return c.html(<OrderDetail order={order} canRefund error={`Give the amount in ${order.currency}, like 12.50.`} />, 422);
    try {
      requireFreshSession(staffUser(c));
      await requestRefund(c.env, c.var.config, getDb(c.env.DB), actorOf(c), order.id, { amountCents, idempotencyKey: form.idempotencyKey });
    } catch (error) {
      const refusal = refusalOf(error);
      return c.html(<OrderDetail order={order} canRefund error={refusal.message} />, refusal.status);
    }
    return c.redirect(`/admin/orders/${encodeURIComponent(order.id)}`, 303);
  });
