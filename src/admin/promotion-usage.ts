import { createRoute, z } from "@hono/zod-openapi";
import { createApiApp } from "../platform/openapi";
import { guarded, jsonContent } from "./staff-api";

// What each promotion has given (issue 33): for a code, its committed redemptions and the
// discount on them (coupon_redemptions); for an automatic promotion, the paid orders that got it
// and what it saved them (orders.promotion_* for free shipping, orders.discount_promotion_* for a
// discount on the goods, decision 030). Read from our own rows only.

export interface PromotionUsage {
  kind: "code" | "automatic";
  /** The code, or the automatic promotion's id. */
  id: string;
  name: string;
  uses: number;
  discountGivenCents: number;
}

/** Usage of every code and automatic promotion, codes first (in code order), then automatic ones by name. */
export async function promotionUsage(d1: D1Database): Promise<PromotionUsage[]> {
  const [codes, automatic] = await d1.batch<{ id: string; name: string; uses: number; given: number }>([
    d1.prepare(
      `SELECT c.code AS id, c.code AS name, count(r.order_id) AS uses, coalesce(sum(r.discount_cents), 0) AS given
       FROM coupons c LEFT JOIN coupon_redemptions r ON r.code = c.code GROUP BY c.code ORDER BY c.code LIMIT 500`,
    ),
    d1.prepare(
      `SELECT p.id AS id, p.name AS name, count(o.id) AS uses,
         coalesce(sum(CASE WHEN o.discount_promotion_id = p.id THEN o.discount_promotion_cents ELSE o.promotion_discount_cents END), 0) AS given
       FROM promotions p LEFT JOIN orders o ON (o.promotion_id = p.id OR o.discount_promotion_id = p.id) AND o.status IN ('paid', 'refunded')
       GROUP BY p.id ORDER BY p.name LIMIT 500`,
    ),
  ]);
  const rows = (kind: PromotionUsage["kind"], result: D1Result<{ id: string; name: string; uses: number; given: number }>) =>
    result.results.map((r): PromotionUsage => ({ kind, id: r.id, name: r.name, uses: r.uses, discountGivenCents: r.given }));
  return [...rows("code", codes!), ...rows("automatic", automatic!)];
}

const UsageSchema = z
  .object({
    kind: z.enum(["code", "automatic"]),
    id: z.string(),
    name: z.string(),
    uses: z.number().int().openapi({ description: "Codes: committed redemptions. Automatic: paid (or since refunded) orders that got it." }),
    discountGivenCents: z.number().int().openapi({
      description:
        "What those uses took off, in minor units of the promotion's currency (codes and automatic discounts: off the goods; free shipping: the shipping not charged)",
    }),
  })
  .openapi("AdminPromotionUsage");

const usageRoute = createRoute({
  method: "get",
  path: "/admin/promotion-usage",
  operationId: "adminPromotionUsage",
  tags: ["Staff"],
  summary: "Uses and discount given per promotion: codes and automatic promotions (admin)",
  responses: { 200: { description: "Every promotion's usage", content: jsonContent(z.object({ items: z.array(UsageSchema) })) }, ...guarded },
});

export const promotionUsageApi = createApiApp().openapi(usageRoute, async (c) => c.json({ items: await promotionUsage(c.env.DB) }, 200));
