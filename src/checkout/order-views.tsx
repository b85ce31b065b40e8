// The shopper's order pages as views: the list of their orders and one order (its lines, money,
// status, what happens next, where it ships). The routes that serve them are in pages.tsx.
import { optionsLabel } from "../catalog/variants";
import { formatMoney, orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import { addressLines, type Order } from "./orders";

const STATUS_TEXT: Record<Order["paymentState"], string> = {
  pending: "Awaiting payment",
  paid: "Paid",
  partially_refunded: "Partially refunded",
  expired: "Expired — not paid",
  cancelled: "Cancelled — not paid",
  refunded: "Refunded",
};

export function OrdersPage({ items }: { items: Order[] }) {
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
/** An order line's name with the variant's option values and SKU frozen on it (receipts, order pages, packing slips). */
export function LineItemName({ name, options, sku }: { name: string; options: Record<string, string>; sku: string | null }) {
  const values = optionsLabel(options);
  return (
    <>
      {name}
      {values ? <span class="muted"> ({values})</span> : null}
      {sku ? <div class="muted sku">SKU {sku}</div> : null}
    </>
  );
}

/** An order's lines as frozen at checkout (the shopper's and the staff order pages); `labels` names the two money columns. */
export function OrderLinesTable(props: { items: Order["items"]; money: (cents: number) => string; labels?: [string, string] }) {
  const [unit, line] = props.labels ?? ["Price", "Total"];
  return (
    <table class="order-lines">
      <thead>
        <tr>
          <th scope="col">Item</th>
          <th scope="col">Qty</th>
          <th scope="col">{unit}</th>
          <th scope="col">{line}</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((l) => (
          <tr>
            <td>
              <LineItemName name={l.name} options={l.options} sku={l.sku} />
            </td>
            <td>{l.quantity}</td>
            <td>{props.money(l.unitPriceCents)}</td>
            <td>{props.money(l.lineTotalCents)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function orderHref(orderId: string, status?: "success" | "cancelled" | null): string {
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

export function OrderPage({ order, returned, guest }: { order: Order; returned: "success" | "cancelled" | null; guest: boolean }) {
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
      {order.shipping.status === "delivered" && order.status === "paid" ? (
        // Returns (src/returns/) live on their own page: it says what can go back and until when.
        <p>
          <a href={`/orders/${encodeURIComponent(order.id)}/returns`} data-returns-link>
            Return items
          </a>
        </p>
      ) : null}
      <OrderLinesTable items={order.items} money={money} />
      <dl class="totals">
        <dt>Subtotal</dt>
        <dd>{money(order.subtotalCents)}</dd>
        {order.discountCents - (order.discountPromotion?.discountCents ?? 0) > 0 ? (
          <>
            <dt>Discount{order.couponCode ? ` (${order.couponCode})` : ""}</dt>
            <dd>−{money(order.discountCents - (order.discountPromotion?.discountCents ?? 0))}</dd>
          </>
        ) : null}
        {order.discountPromotion ? (
          <>
            <dt>Promotion ({order.discountPromotion.name})</dt>
            <dd data-order-discount-promotion>−{money(order.discountPromotion.discountCents)}</dd>
          </>
        ) : null}
        {order.shippingRate ? (
          <>
            <dt>Shipping ({order.shippingRate})</dt>
            <dd data-shipping>{order.shippingCents === 0 ? "Free" : money(order.shippingCents)}</dd>
          </>
        ) : null}
        {order.promotion ? (
          <>
            <dt>Promotion</dt>
            <dd data-order-promotion>
              {order.promotion.name}: free shipping{order.promotion.discountCents > 0 ? ` (saved ${money(order.promotion.discountCents)})` : ""}
            </dd>
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
                  ? ` for ${r.lines.map((l) => `${l.quantity} × ${order.items.find((i) => i.variantId === l.variantId)?.name ?? "an item"}`).join(", ")}`
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
