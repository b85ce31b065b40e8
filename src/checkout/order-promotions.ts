import { categoriesOf, customerHasPaidOrder, evaluatePromotions, type PromotionVerdict } from "../coupons/automatic-promotions";
import type { PromotionRow } from "../coupons/schema";
import type { CheckoutLine } from "../payments/provider-types";

/** An automatic promotion an order got: copied onto the order, like its lines' prices. */
export interface OrderPromotion {
  id: string;
  name: string;
  /** What it gave: the shipping amount the rate would have cost, or what it took off the goods. */
  discountCents: number;
}

/**
 * The automatic promotions for an order being priced (issue 33): the same evaluation as the
 * cart page's, from the frozen lines' D1 prices and categories, the goods after the code's
 * discount, the server's clock, and only a proven customer for first-order promotions. The live
 * promotions were read in pricing's batch (order-pricing.ts): with none, this costs no round trip.
 */
export async function promotionsForOrder(
  d1: D1Database,
  input: {
    rows: PromotionRow[];
    now: Date;
    currency: string;
    lines: CheckoutLine[];
    goodsCents: number;
    customer: { key: string; email: string } | null;
  },
): Promise<PromotionVerdict> {
  const { rows, now } = input;
  if (rows.length === 0) return { freeShipping: null, discount: null, notApplied: [] };
  const categories = await categoriesOf(
    d1,
    input.lines.map((l) => l.productId),
  );
  return evaluatePromotions(rows, {
    currency: input.currency,
    lines: input.lines.map((l) => ({ productId: l.productId, category: categories.get(l.productId) ?? null, lineTotalCents: l.unitPriceCents * l.quantity })),
    goodsCents: input.goodsCents,
    customerKey: input.customer?.key ?? null,
    hasPaidOrder: input.customer ? await customerHasPaidOrder(d1, input.customer.key, input.customer.email) : null,
    now,
  });
}
