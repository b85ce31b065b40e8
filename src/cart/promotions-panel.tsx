import { formatMoney } from "../web/format";
import type { CartPromotions } from "./cart-promotions";

const REASON_TEXT: Record<CartPromotions["notApplied"][number]["reason"], string> = {
  below_minimum: "your goods are below its minimum",
  products_not_in_cart: "it is for products that are not in your cart",
  first_order_only: "it is for a first order only",
  needs_proof: "it is for a first order: sign in with a verified address or confirm your email below",
  not_started: "it has not started yet",
  better_promotion: "another automatic discount gives you more (only one applies)",
};

/** The cart's automatic promotions: which applied, which did not and why, and how they combine with a code. */
export function PromotionsPanel(props: { promotions: CartPromotions; currency: string }) {
  const { applied, notApplied, combining } = props.promotions;
  if (applied.length === 0 && notApplied.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="promotions-title">
      <h2 id="promotions-title">Promotions</h2>
      <ul>
        {applied.map((p) => (
          <li data-promotion-applied={p.kind}>
            <strong>{p.name}</strong>:{" "}
            {p.kind === "free_shipping" ? "free shipping on this order." : `−${formatMoney(p.discountCents ?? 0, props.currency)} on your goods.`}
          </li>
        ))}
        {notApplied.map((p) => (
          <li data-promotion-missed={p.reason}>
            <strong>{p.name}</strong> does not apply: {REASON_TEXT[p.reason]}
            {p.reason === "below_minimum" && p.minSubtotalCents !== null ? ` (${formatMoney(p.minSubtotalCents, props.currency)})` : ""}.
          </li>
        ))}
      </ul>
      <p class="muted">{combining}</p>
    </section>
  );
}
