// The shopper's returns page as a view: the order's returns so far and, while the order takes one,
// the form that asks for a return. The routes that serve it are in pages.tsx.
import { optionsLabel } from "../catalog/variants";
import type { OrderRow } from "../checkout/schema";
import { formatMoney, orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import type { NotReturnable, Returnability, ReturnView } from "./returns";

export const RETURN_STATUS_TEXT: Record<ReturnView["status"], string> = {
  requested: "Requested — we are looking at it",
  approved: "Approved — please send the items back",
  refused: "Declined",
  received: "Received — your refund follows",
  refunded: "Refunded",
};

const WHY_NOT: Record<NotReturnable, string> = {
  not_paid: "This order cannot be returned: it is not paid, or refunded in full.",
  not_delivered: "Items can be returned once the order is delivered.",
  returns_disabled: "This shop takes no returns.",
  window_closed: "The time to return items of this order is over.",
  return_open: "A return of this order is under way: you can ask for another once it is settled.",
  nothing_left: "Every item of this order is refunded or returned already.",
};

/** Words for the refusals the form explains (the query never puts free text on the page). */
const MESSAGES: Record<string, string> = {
  return_lines_required: "Choose at least one item to return.",
  return_exceeds_quantity: "You asked to return more of an item than you can.",
  return_line_not_found: "That item is not part of this order.",
  return_already_open: WHY_NOT.return_open,
  return_window_closed: WHY_NOT.window_closed,
  order_not_delivered: WHY_NOT.not_delivered,
};

export function returnMessage(code: string | undefined): string | undefined {
  if (!code) return undefined;
  return MESSAGES[code] ?? "We could not take this return request.";
}

function lineLabel(l: { name: string; options: Record<string, string> }): string {
  const options = optionsLabel(l.options);
  return options ? `${l.name} (${options})` : l.name;
}

export function ReturnsPage(props: {
  order: OrderRow;
  returns: ReturnView[];
  returnable: Returnability;
  guest: boolean;
  requested: boolean;
  error: string | undefined;
}) {
  const { order, returnable } = props;
  const label = orderNumberLabel(order);
  const orderPath = `/orders/${encodeURIComponent(order.id)}`;
  return (
    <Layout title={`Return items of order ${label}`}>
      <nav class="crumbs" aria-label="Breadcrumb">
        {props.guest ? null : (
          <>
            <a href="/orders">Your orders</a> /{" "}
          </>
        )}
        <a href={orderPath}>{label}</a> / <span>Returns</span>
      </nav>
      <h1 class="page-title">Return items of order {label}</h1>
      {props.requested ? (
        <p class="form-message ok" role="status">
          We received your return request and sent you a mail. Please do not send anything until we approve it.
        </p>
      ) : null}
      {props.error ? (
        <p class="form-message error" role="alert">
          {props.error}
        </p>
      ) : null}
      {props.returns.length > 0 ? (
        <section aria-labelledby="returns-so-far" data-returns>
          <h2 id="returns-so-far">Your returns</h2>
          {props.returns.map((r) => (
            <div class="panel" data-return={r.id} data-return-status={r.status}>
              <p>
                <strong>{RETURN_STATUS_TEXT[r.status]}</strong> <span class="muted">(asked {r.createdAt.slice(0, 10)})</span>
              </p>
              <ul>
                {r.lines.map((l) => (
                  <li>
                    {l.quantity} × {lineLabel(l)}
                  </li>
                ))}
              </ul>
              {r.refusalReason ? <p>Our reason: {r.refusalReason}</p> : null}
              {r.refundCents !== null ? <p>Refunded {formatMoney(r.refundCents, order.currency)} to your card.</p> : null}
            </div>
          ))}
        </section>
      ) : null}
      {returnable.refusal ? (
        <p class="message" data-not-returnable={returnable.refusal}>
          {WHY_NOT[returnable.refusal]}
        </p>
      ) : (
        <form class="form panel" method="post" action={`${orderPath}/returns`} data-return-form>
          <h2>Ask for a return</h2>
          <p class="muted">You can ask until {returnable.closesAt?.slice(0, 10)}. Choose how many of each item you send back.</p>
          {returnable.lines
            .filter((l) => l.returnable > 0)
            .map((l) => (
              <label>
                {lineLabel(l)} <span class="muted">(up to {l.returnable})</span>
                <input type="number" name={`qty.${l.variantId}`} min="0" max={String(l.returnable)} value="0" inputmode="numeric" />
              </label>
            ))}
          <label>
            Why are you returning them? (optional)
            <textarea name="reason" maxlength={1000} rows={3} />
          </label>
          <button type="submit">Ask for a return</button>
        </form>
      )}
      <p>
        <a href={orderPath}>Back to the order</a>
      </p>
    </Layout>
  );
}
