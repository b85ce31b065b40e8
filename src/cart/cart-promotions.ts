import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { categoriesOf, customerHasPaidOrder, evaluatePromotions, livePromotions } from "../coupons/automatic-promotions";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { access, createApiApp } from "../platform/openapi";
import { resolveCart, type Cart } from "./cart";
import { withAutomaticDiscount } from "./pricing";
import { readCart } from "./operations";
import { promotionCustomer, type PromotionCustomer } from "./promotion-identity";

// What the cart's automatic promotions do, and why the others do not (issue 33): the same
// evaluation checkout runs (src/coupons/automatic-promotions.ts), on the cart as priced from D1.

const MISS_REASONS = ["below_minimum", "products_not_in_cart", "first_order_only", "needs_proof", "not_started", "better_promotion"] as const;

export const CartPromotionsSchema = z
  .object({
    applied: z.array(
      z.object({
        name: z.string(),
        kind: z.enum(["free_shipping", "discount"]),
        discountCents: z.number().int().optional().openapi({ description: "For a discount: what it takes off the goods (after the code's discount)" }),
      }),
    ),
    notApplied: z.array(
      z.object({
        name: z.string(),
        reason: z.enum(MISS_REASONS),
        minSubtotalCents: z.number().int().nullable().openapi({ description: "For below_minimum: the goods (after a code's discount) it needs" }),
      }),
    ),
    combining: z.string().openapi({ description: "How promotions combine with the one code a cart may hold" }),
  })
  .openapi("CartPromotions");
export type CartPromotions = z.infer<typeof CartPromotionsSchema>;

export const COMBINING_RULE =
  "Automatic promotions (no code) combine with the one code your cart may hold: the code comes off first, then the best automatic discount for you (only one), and one free-shipping promotion at most.";

/**
 * The cart's automatic promotions, for a cart already read. `known.customer`: the cart's proven
 * customer when the caller has it already (the cart page), so it is not looked up twice.
 */
export async function promotionsOfCart(c: Context<AppEnv>, cart: Cart, known?: { customer: PromotionCustomer | null }): Promise<CartPromotions> {
  const empty: CartPromotions = { applied: [], notApplied: [], combining: COMBINING_RULE };
  if (cart.items.length === 0) return empty;
  const now = new Date();
  const rows = await livePromotions(getDb(c.env.DB), cart.currency, now);
  if (rows.length === 0) return empty;
  const customer = known ? known.customer : await cartCustomer(c);
  const categories = await categoriesOf(
    c.env.DB,
    cart.items.map((i) => i.productId),
  );
  const verdict = evaluatePromotions(rows, {
    currency: cart.currency,
    lines: cart.items.map((i) => ({ productId: i.productId, category: categories.get(i.productId) ?? null, lineTotalCents: i.lineTotalCents })),
    goodsCents: cart.totalCents,
    customerKey: customer?.key ?? null,
    hasPaidOrder: customer ? await customerHasPaidOrder(c.env.DB, customer.key, customer.email) : null,
    now,
  });
  const applied: CartPromotions["applied"] = [];
  if (verdict.discount) applied.push({ name: verdict.discount.name, kind: "discount", discountCents: verdict.discount.discountCents });
  if (verdict.freeShipping) applied.push({ name: verdict.freeShipping.name, kind: "free_shipping" });
  return {
    applied,
    notApplied: verdict.notApplied.map((m) => ({ name: m.name, reason: m.reason, minSubtotalCents: m.minSubtotalCents })),
    combining: COMBINING_RULE,
  };
}

/** The proven customer of the caller's cart (none without a cart). */
async function cartCustomer(c: Context<AppEnv>): Promise<PromotionCustomer | null> {
  const ref = await resolveCart(c, { create: false });
  return ref ? promotionCustomer(c, ref) : null;
}

/** The cart with its automatic discount in its totals (decision 030), and what the promotions did. */
export async function promotedCart(
  c: Context<AppEnv>,
  cart: Cart,
  known?: { customer: PromotionCustomer | null },
): Promise<{ cart: Cart; promotions: CartPromotions }> {
  const promotions = await promotionsOfCart(c, cart, known);
  const discount = promotions.applied.find((p) => p.kind === "discount");
  return { cart: withAutomaticDiscount(cart, discount ? { name: discount.name, discountCents: discount.discountCents ?? 0 } : null), promotions };
}

const route = createRoute({
  method: "get",
  path: "/cart/promotions",
  operationId: "getCartPromotions",
  ...access.cart,
  tags: ["Cart"],
  summary: "Which automatic promotions apply to the cart, and why the others do not",
  responses: { 200: { description: "Applied and not applied promotions", content: { "application/json": { schema: CartPromotionsSchema } } } },
});

export const cartPromotionsApi = createApiApp().openapi(route, async (c) => c.json(await promotionsOfCart(c, await readCart(c)), 200));
