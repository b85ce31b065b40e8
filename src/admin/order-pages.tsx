import { Hono, type Context } from "hono";
import { variantTitle } from "../catalog/variants";
import { LineItemName, OrderLinesTable } from "../checkout/order-views";
import { returnViews } from "../returns/returns";
import type { ReturnView } from "../returns/types";
import type { PaymentState } from "../checkout/orders";
import { getDb } from "../db/client";
import { isOpenDispute } from "../payments/payment-state";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { When } from "../web/dates";
import { orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import { ShippingSection } from "./fulfilment-pages";
import { staffUser } from "./guard";
import { OrderBooks } from "./order-money";
import { findAdminOrder, type AdminOrder } from "./orders";
import { Alert, money, StaffNav } from "./page-parts";

/** Payment states as staff read them. */
export const PAYMENT_WORDS: Record<PaymentState, string> = {
  pending: "awaiting payment",
  paid: "paid",
  partially_refunded: "partially refunded",
  refunded: "refunded",
  expired: "expired (not paid)",
  cancelled: "cancelled (not paid)",
};

/** The refund form: lines (units, restock), an amount, or the rest, each an explicit choice; it asks for the confirmation page. */
function RefundForm(props: { order: AdminOrder }) {
  const o = props.order;
  const refunded = new Map<string, number>();
  for (const r of o.refunds) for (const l of r.lines) refunded.set(l.variantId, (refunded.get(l.variantId) ?? 0) + l.quantity);
  // Two sizes of one shirt are two lines: their fields must not share a name.
  const left = o.items.map((l) => ({ ...l, label: variantTitle(l.name, l.options), left: l.quantity - (refunded.get(l.variantId) ?? 0) }));
  const anyLine = left.some((l) => l.left > 0);
  return (
    <form class="stack refund-form" method="get" action={`/admin/orders/${encodeURIComponent(o.id)}/refund`} aria-labelledby="refund-title">
      <h2 id="refund-title">Refund</h2>
      <p>
        Paid {money(o.totalCents, o.currency)}
        {o.refundedCents > 0 ? `, ${money(o.refundedCents, o.currency)} refunded already` : ""}. The next page shows the amount before anything is refunded.
      </p>
      <fieldset>
        <legend>What to refund</legend>
        {anyLine ? (
          <label class="choice">
            <input type="radio" name="mode" value="lines" checked /> Items (their paid price)
          </label>
        ) : null}
        {anyLine ? (
          <table class="refund-lines">
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col">Units</th>
                <th scope="col">Restock</th>
              </tr>
            </thead>
            <tbody>
              {left.map((l) => (
                <tr data-refund-line={l.variantId}>
                  <td>
                    <LineItemName name={l.name} options={l.options} sku={l.sku} />
                    {l.left < l.quantity ? <span class="hint"> ({l.quantity - l.left} refunded)</span> : null}
                  </td>
                  <td>
                    {l.left > 0 ? (
                      <input
                        name={`qty.${l.variantId}`}
                        type="number"
                        min="0"
                        max={String(l.left)}
                        value="0"
                        inputmode="numeric"
                        aria-label={`Units of ${l.label} to refund (at most ${l.left})`}
                        class="qty"
                      />
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>{l.left > 0 ? <input type="checkbox" name={`restock.${l.variantId}`} aria-label={`Put ${l.label} back in stock`} /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <label class="choice">
          <input type="radio" name="mode" value="amount" checked={!anyLine} /> An amount
        </label>
        <label>
          Amount ({o.currency})
          <input name="amount" inputmode="decimal" pattern="[0-9]+([.,][0-9]{1,3})?" maxlength={12} autocomplete="off" />
        </label>
        <label class="choice">
          <input type="radio" name="mode" value="rest" /> Everything not refunded yet ({money(o.totalCents - o.refundedCents, o.currency)})
        </label>
      </fieldset>
      <button type="submit">Review the refund</button>
    </form>
  );
}

function OrderDetail(props: {
  order: AdminOrder;
  /** The order's return requests (src/returns), newest last. */
  returns: ReturnView[];
  canRefund: boolean;
  error?: string | undefined;
  shippingError?: string | undefined;
  refunded?: number | undefined;
}) {
  const o = props.order;
  const label = orderNumberLabel(o);
  const customer = customerHref(o);
  return (
    <Layout title={`Staff: order ${label}`}>
      <StaffNav />
      <h1>
        Order <span data-order-number>{label}</span>
      </h1>
      <Alert message={props.error} />
      {props.refunded ? (
        <p class="notice" role="status" data-refund-done>
          Refund of {money(props.refunded, o.currency)} requested.
        </p>
      ) : null}
      <p>
        Payment{" "}
        <strong data-status={o.status} data-payment-state={o.paymentState}>
          {PAYMENT_WORDS[o.paymentState]}
        </strong>{" "}
        · customer {customer ? <a href={customer}>{o.customerEmail ?? "(deleted)"}</a> : (o.customerEmail ?? "(deleted)")} · total{" "}
        {money(o.totalCents, o.currency)}
        {o.couponCode ? ` · coupon ${o.couponCode} (−${money(o.discountCents - (o.discountPromotion?.discountCents ?? 0), o.currency)})` : ""}
        {o.discountPromotion ? ` · promotion ${o.discountPromotion.name} (−${money(o.discountPromotion.discountCents, o.currency)})` : ""}
        {o.promotion ? ` · promotion ${o.promotion.name} (free shipping)` : ""}
      </p>
      <p>
        Created <When iso={o.createdAt} />
        {o.paidAt ? (
          <>
            {" "}
            · paid <When iso={o.paidAt} />
          </>
        ) : null}{" "}
        · provider {o.provider} · <a href={`/admin/orders/packing-slips?ids=${encodeURIComponent(o.id)}`}>Packing slip</a>
        {o.provider === "simulator" && o.paymentSessionId ? (
          <>
            {" "}
            · <a href={`/dev/stripe/${o.paymentSessionId}`}>Stripe Dashboard (simulator)</a>
          </>
        ) : null}
      </p>
      <details class="ids">
        <summary>Internal ids</summary>
        <p>
          Order <code>{o.id}</code> · user <code>{o.userId}</code> · payment intent <code>{o.paymentIntentId ?? "—"}</code>
        </p>
      </details>
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
      <OrderLinesTable items={o.items} money={(cents) => money(cents, o.currency)} labels={["Unit", "Line"]} />
      <h2>Payment timeline</h2>
      <ol>
        {o.timeline.map((t) => (
          <li>
            <When iso={t.createdAt} /> <code>{t.kind}</code> {t.detail && t.kind !== "simulator.session" ? <code class="detail">{t.detail}</code> : null}
          </li>
        ))}
      </ol>
      {o.paymentsAfterClose.length > 0 ? (
        <section aria-labelledby="after-close">
          <h2 id="after-close">Payments received after the order closed</h2>
          <ul>
            {o.paymentsAfterClose.map((p) => (
              <li data-payment={p.id}>
                {money(p.amountCents, p.currency.toUpperCase())} received <When iso={p.receivedAt} /> —{" "}
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
            <form method="get" action={`/admin/orders/${encodeURIComponent(o.id)}/refund`}>
              <input type="hidden" name="mode" value="rest" />
              <p>The shop never sold anything for this money.</p>
              <button type="submit">Refund the payment received after close…</button>
            </form>
          ) : null}
        </section>
      ) : null}
      <OrderBooks order={o} />
      {props.returns.length > 0 ? (
        <section aria-labelledby="returns-title" data-order-returns>
          <h2 id="returns-title">Returns</h2>
          <ul>
            {props.returns.map((r) => (
              <li>
                <a href={`/admin/returns/${encodeURIComponent(r.id)}`}>
                  Requested <When iso={r.createdAt} />
                </a>{" "}
                — {r.status}, {r.lines.reduce((n, l) => n + l.quantity, 0)} unit(s)
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <ShippingSection order={o} canShip={props.canRefund} error={props.shippingError} />
      {props.canRefund && o.status === "paid" && (isOpenDispute(o.disputeStatus) || o.disputeStatus === "lost") ? (
        <p class="notice" data-refund-blocked>
          This payment is disputed: it cannot be refunded here.
        </p>
      ) : null}
      {props.canRefund && o.status === "paid" && !isOpenDispute(o.disputeStatus) && o.disputeStatus !== "lost" ? <RefundForm order={o} /> : null}
    </Layout>
  );
}

async function orderOr404(c: Context<AppEnv>): Promise<AdminOrder> {
  const order = await findAdminOrder(getDb(c.env.DB), c.req.param("id") ?? "");
  if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
  return order;
}

/** A customer's page: an account's orders, or a guest's by the address they paid with. */
export function customerHref(o: { userId: string; customerEmail: string | null }): string | null {
  if (o.userId.startsWith("guest_")) return o.customerEmail ? `/admin/customers/guest?email=${encodeURIComponent(o.customerEmail)}` : null;
  return `/admin/customers/${encodeURIComponent(o.userId)}`;
}

/**
 * The staff order page (support and admin read it; refunds are admin only, src/admin/refund-pages.tsx).
 * Mounted inside `adminPages`, after its staff guard, after the desk's fixed paths under /admin/orders.
 */
export const orderPages = new Hono<AppEnv>().get("/admin/orders/:id", async (c) => {
  const refunded = /^\d{1,12}$/.test(c.req.query("refunded") ?? "") ? Number(c.req.query("refunded")) : undefined;
  const order = await orderOr404(c);
  return c.html(
    <OrderDetail
      order={order}
      canRefund={staffUser(c).role === "admin"}
      shippingError={c.req.query("shipping_error")}
      refunded={refunded}
      returns={await returnViews(getDb(c.env.DB), { orderId: order.id })}
    />,
  );
});
