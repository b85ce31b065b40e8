import { isOpenDispute } from "../payments/payment-state";
import { When } from "../web/dates";
import { formatMoney } from "../web/format";
import type { AdminOrder } from "./orders";

const money = (cents: number, currency: string): string => formatMoney(cents, currency.toUpperCase());

/** Words for Stripe's dispute statuses. */
const DISPUTE_WORDS: Record<string, string> = {
  warning_needs_response: "inquiry: needs a response",
  warning_under_review: "inquiry under review",
  warning_closed: "inquiry closed",
  needs_response: "open: needs a response",
  under_review: "open: under review",
  won: "won",
  lost: "lost",
  prevented: "prevented",
};

/**
 * The staff order page's books (issue 29): what the provider says was refunded, by whom (staff
 * here, or the Stripe Dashboard), what is left, and every dispute with its amount, reason, status
 * and evidence deadline. A lost dispute is money gone: it shows as such.
 */
export function OrderBooks(props: { order: AdminOrder }) {
  const o = props.order;
  if (o.refunds.length === 0 && o.disputes.length === 0 && o.refundedCents === 0) return null;
  const lost = o.disputes.filter((d) => d.status === "lost").reduce((sum, d) => sum + d.amountCents, 0);
  return (
    <section aria-labelledby="books" data-books>
      <h2 id="books">Refunds and disputes</h2>
      <p data-refunded={o.refundedCents}>
        Refunded {money(o.refundedCents, o.currency)} of {money(o.totalCents, o.currency)}
        {lost > 0 ? (
          <>
            {" "}
            · <strong data-lost-to-dispute={lost}>lost to a dispute: {money(lost, o.currency)}</strong>
          </>
        ) : null}
      </p>
      {o.refunds.length > 0 ? (
        <ul>
          {o.refunds.map((r) => (
            <li data-refund-source={r.source} data-refund={r.amountCents}>
              {money(r.amountCents, o.currency)} — {r.source === "provider" ? "refunded in the Stripe Dashboard" : `by ${r.requestedBy}`}
              {r.state === "requested" ? " (being made)" : ""} · <When iso={r.createdAt} />
              {r.lines.length > 0 ? (
                <ul>
                  {r.lines.map((l) => (
                    <li data-refund-line={l.variantId}>
                      {l.quantity} × {l.name}: {money(l.amountCents, o.currency)}
                      {l.restock ? (l.restocked ? " · restocked" : " · to restock") : ""}
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {o.disputes.map((d) => (
        <div class={isOpenDispute(d.status) ? "alert" : "notice"} role={isOpenDispute(d.status) ? "alert" : "status"} data-dispute={d.status}>
          <p>
            Dispute {money(d.amountCents, d.currency)}, reason <strong>{d.reason.replaceAll("_", " ")}</strong>: {DISPUTE_WORDS[d.status] ?? d.status}.
            {d.evidenceDueBy && isOpenDispute(d.status) ? (
              <>
                {" "}
                Evidence due by <When iso={d.evidenceDueBy} kind="date" />.
              </>
            ) : null}
          </p>
          {isOpenDispute(d.status) ? <p>Shipping and refunds wait until it closes; answer it in the Stripe Dashboard.</p> : null}
        </div>
      ))}
    </section>
  );
}
