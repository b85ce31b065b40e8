import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { shopStep } from "../payments/currency";
import { promotions, type PromotionRow } from "./schema";

// Automatic promotions (issue 33): no code, applied when a cart meets their conditions. Everything
// is decided here from our own rows (the promotion, the products' categories, the cart's priced
// lines, the server's clock): nothing in a request names a promotion or an amount. The cart page
// and checkout ask the same function, so the cart says what checkout will do, and why not.

/** Why a promotion does not apply to this cart (a fixed vocabulary; the page turns it into text). */
export type PromotionMiss = "below_minimum" | "products_not_in_cart" | "first_order_only" | "needs_proof" | "not_started" | "better_promotion";

/** A priced line as the promotion sees it: the product's category comes from D1, never the request. */
export interface PromotionLine {
  productId: string;
  category: string | null;
  lineTotalCents: number;
}

export interface PromotionInput {
  currency: string;
  lines: PromotionLine[];
  /** The goods after the code's discount: minimums are on this, and a discount never takes more. */
  goodsCents: number;
  /** The proven customer (verified account or proven mailbox), or null. */
  customerKey: string | null;
  /** Whether the proven customer has a paid order already (null: nobody proven). */
  hasPaidOrder: boolean | null;
  now: Date;
}

export interface PromotionVerdict {
  /** The free-shipping promotion that applies (the first by name when several do), or null. */
  freeShipping: { id: string; name: string } | null;
  /** The one automatic discount on the goods: the best for the shopper (decision 030), or null. */
  discount: { id: string; name: string; discountCents: number } | null;
  /** The others that did not, and why; and those shown for a reason the shopper can act on. */
  notApplied: { id: string; name: string; reason: PromotionMiss; minSubtotalCents: number | null }[];
}

/**
 * The promotions of every currency that are switched on and not over, as a query to batch with
 * checkout's pricing reads (the cart's currency is not known before them); `ofCurrency` filters.
 */
export function livePromotionsQuery(db: Database, now: Date) {
  return db
    .select()
    .from(promotions)
    .where(and(eq(promotions.active, true), sql`(${promotions.endsAt} IS NULL OR ${promotions.endsAt} > ${now.toISOString()})`))
    .orderBy(promotions.name)
    .limit(200);
}

/** The rows of one currency, at most 20 (the same bound as livePromotions). */
export function ofCurrency(rows: PromotionRow[], currency: string): PromotionRow[] {
  return rows.filter((r) => r.currency === currency).slice(0, 20);
}

/** The promotions of a currency that are switched on and not over (those not started yet are kept, to say so). */
export async function livePromotions(db: Database, currency: string, now: Date): Promise<PromotionRow[]> {
  return db
    .select()
    .from(promotions)
    .where(
      and(eq(promotions.active, true), eq(promotions.currency, currency), sql`(${promotions.endsAt} IS NULL OR ${promotions.endsAt} > ${now.toISOString()})`),
    )
    .orderBy(promotions.name)
    .limit(20);
}

function productIdsOf(row: PromotionRow): string[] | null {
  if (row.productIds === null) return null;
  try {
    const parsed: unknown = JSON.parse(row.productIds);
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** Why `row` does not apply to the cart, or null when it does. */
export function promotionMiss(row: PromotionRow, input: PromotionInput): PromotionMiss | null {
  if (row.startsAt && input.now.getTime() < Date.parse(row.startsAt)) return "not_started";
  const eligible = eligibleLines(row, input.lines);
  if ((row.category !== null || row.productIds !== null) && eligible.length === 0) return "products_not_in_cart";
  if (row.minSubtotalCents !== null && input.goodsCents < row.minSubtotalCents) return "below_minimum";
  if (row.firstOrderOnly) {
    if (input.customerKey === null) return "needs_proof";
    if (input.hasPaidOrder) return "first_order_only";
  }
  return null;
}

/** The lines a promotion is for: those of its category and product list (every line when it names neither). */
function eligibleLines(row: PromotionRow, lines: PromotionLine[]): PromotionLine[] {
  const ids = productIdsOf(row);
  return lines.filter((l) => (row.category === null || l.category === row.category) && (ids === null || ids.includes(l.productId)));
}

/**
 * What a percent_off or amount_off promotion takes off (decision 030). Its base is the eligible
 * lines after their share of the code's discount (the code is applied first), so the code and the
 * promotion together never take more than the goods. A percentage rounds down to the currency's
 * step, like a coupon's (computeDiscountCents); an amount is capped at the base.
 */
export function promotionDiscountCents(row: PromotionRow, input: Pick<PromotionInput, "lines" | "goodsCents" | "currency">): number {
  const subtotal = input.lines.reduce((sum, l) => sum + l.lineTotalCents, 0);
  if (subtotal <= 0 || input.goodsCents <= 0) return 0;
  const eligible = eligibleLines(row, input.lines).reduce((sum, l) => sum + l.lineTotalCents, 0);
  const step = shopStep(input.currency);
  // On the currency's step, so the payment provider can charge what is left (KWD: tens of fils).
  const base = Math.floor(Math.min(input.goodsCents, Math.floor((eligible * input.goodsCents) / subtotal)) / step) * step;
  const raw =
    row.kind === "percent_off" ? Math.floor((base * (row.percentOff ?? 0)) / (100 * step)) * step : row.kind === "amount_off" ? (row.amountOffCents ?? 0) : 0;
  return Math.max(0, Math.min(base, raw));
}

/**
 * Which automatic promotions apply to the cart, and why the others do not (decision 030): at most
 * one free-shipping promotion and at most one discount (the largest; the first by name on a tie),
 * both on top of the one code the cart may hold. Minimums are checked on the goods after the code.
 */
export function evaluatePromotions(rows: PromotionRow[], input: PromotionInput): PromotionVerdict {
  const verdict: PromotionVerdict = { freeShipping: null, discount: null, notApplied: [] };
  const discounts: { row: PromotionRow; cents: number }[] = [];
  for (const row of rows) {
    const miss = promotionMiss(row, input);
    if (miss !== null) {
      verdict.notApplied.push({ id: row.id, name: row.name, reason: miss, minSubtotalCents: row.minSubtotalCents });
      continue;
    }
    // A second free-shipping promotion adds nothing: it is not listed as missed.
    if (row.kind === "free_shipping") verdict.freeShipping ??= { id: row.id, name: row.name };
    else discounts.push({ row, cents: promotionDiscountCents(row, input) });
  }
  let best: { row: PromotionRow; cents: number } | null = null;
  for (const d of discounts) if (d.cents > 0 && (best === null || d.cents > best.cents)) best = d;
  if (best) verdict.discount = { id: best.row.id, name: best.row.name, discountCents: best.cents };
  for (const d of discounts) {
    if (d !== best) verdict.notApplied.push({ id: d.row.id, name: d.row.name, reason: "better_promotion", minSubtotalCents: d.row.minSubtotalCents });
  }
  return verdict;
}

/** Whether the proven customer (mailbox key, and the address for orders from before the key was kept) has a paid order. */
export async function customerHasPaidOrder(d1: D1Database, customerKey: string, email: string): Promise<boolean> {
  const row = await d1
    .prepare("SELECT 1 AS x FROM orders WHERE status IN ('paid', 'refunded') AND (holder_mailbox = ? OR customer_email = ?) LIMIT 1")
    .bind(customerKey, email.trim().toLowerCase())
    .first();
  return row !== null;
}

/** The categories of products, by id, from D1 (a literal list of at most 50 cart lines). */
export async function categoriesOf(d1: D1Database, productIds: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < productIds.length; i += 90) {
    const chunk = productIds.slice(i, i + 90);
    const { results } = await d1
      .prepare(`SELECT id, category FROM products WHERE id IN (${chunk.map(() => "?").join(", ")})`)
      .bind(...chunk)
      .all<{ id: string; category: string | null }>();
    for (const r of results) out.set(r.id, r.category);
  }
  return out;
}
