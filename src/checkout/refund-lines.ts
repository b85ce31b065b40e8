import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { ProblemError } from "../platform/problem";
import { orderLines, orderRefundLines, orderRefunds, type OrderRefundRow, type OrderRow } from "./schema";

/**
 * Line-item refunds (issue 32, docs/decisions/022). A line's paid amount is its total less its
 * share of the order's discount; refunding `q` of its units gives back the part of that amount
 * those units stand for, so refunding every unit, at once or one by one, gives back exactly the
 * line's paid amount and never more. A line's refunded units never exceed its quantity: the claim
 * and its line rows are written in one batch whose first statement checks, for every line, that
 * no other refund touched it since it was read.
 */

/**
 * What staff ask for one line: which (its variant, or its product when the order has one line of
 * it: API.md's shape before variants), how many units, and whether they go back on the shelf.
 */
export interface LineRefundRequest {
  variantId?: string;
  productId?: string;
  quantity: number;
  restock: boolean;
}

/** One line of a planned refund, with the amount its units give back. */
export interface PlannedLine {
  productId: string;
  variantId: string;
  quantity: number;
  restock: boolean;
  name: string;
  amountCents: number;
  /** Units of this line refunded before this refund (the claim is conditional on it). */
  refundedBefore: number;
}

export interface LineRefundPlan {
  lines: PlannedLine[];
  amountCents: number;
}

/** What a line refund claim found: as `claimRefund`, or a line another refund changed since the plan read it. */
export type LineRefundClaim =
  | { kind: "claimed" | "replayed"; claim: OrderRefundRow }
  | { kind: "too_large"; remainingCents: number }
  | { kind: "lines_changed" };

/** At most this many lines per refund: each adds two bound parameters to the claim (D1: 100 per statement). */
export const MAX_REFUND_LINES = 25;

/** The part of a line's paid amount that its first `units` units stand for (the discount spread by line total). */
function paidForUnits(order: Pick<OrderRow, "subtotalCents" | "discountCents">, lineTotal: number, quantity: number, units: number): number {
  const discountShare = order.subtotalCents > 0 ? Math.round((order.discountCents * lineTotal) / order.subtotalCents) : 0;
  const linePaid = Math.max(0, lineTotal - discountShare);
  return Math.floor((linePaid * units) / quantity);
}

/** Units of each of the order's lines refunded so far (every claim counts, made or being made). */
async function refundedUnits(db: Database, orderId: string): Promise<Map<string, number>> {
  const rows = await db
    .select({ variantId: orderRefundLines.variantId, units: sql<number>`SUM(${orderRefundLines.quantity})` })
    .from(orderRefundLines)
    .where(eq(orderRefundLines.orderId, orderId))
    .groupBy(orderRefundLines.variantId);
  return new Map(rows.map((r) => [r.variantId, Number(r.units)]));
}

/** The order line a request names: by variant, or by product when the order has exactly one line of it. */
function lineOf<L extends { productId: string; variantId: string }>(lines: L[], want: LineRefundRequest): L | "variant_required" | null {
  if (want.variantId !== undefined) {
    const line = lines.find((l) => l.variantId === want.variantId);
    return line && (want.productId === undefined || line.productId === want.productId) ? line : null;
  }
  const ofProduct = lines.filter((l) => l.productId === want.productId);
  return ofProduct.length === 1 ? ofProduct[0]! : ofProduct.length > 1 ? "variant_required" : null;
}

/**
 * What refunding these lines gives back now. 422 `line_not_found` for a line the order does not
 * hold (or named twice), `variant_required` for a product the order holds in several variants, 409 `line_already_refunded` when every unit of a line is refunded already,
 * `line_refund_exceeds_quantity` when fewer units are left than asked.
 */
export async function planLineRefund(db: Database, order: OrderRow, requested: LineRefundRequest[]): Promise<LineRefundPlan> {
  const [lines, done] = await Promise.all([db.select().from(orderLines).where(eq(orderLines.orderId, order.id)), refundedUnits(db, order.id)]);
  const seen = new Set<string>();
  const planned: PlannedLine[] = [];
  for (const want of requested) {
    const line = lineOf(lines, want);
    if (line === "variant_required")
      throw new ProblemError(422, "variant_required", "This order holds several variants of that product: name the line by its variantId.");
    if (!line || seen.has(line.variantId))
      throw new ProblemError(422, "line_not_found", `This order has no line ${want.variantId ?? want.productId} to refund (or it is named twice).`);
    seen.add(line.variantId);
    const before = done.get(line.variantId) ?? 0;
    const left = line.quantity - before;
    if (left <= 0) throw new ProblemError(409, "line_already_refunded", `Every unit of "${line.name}" is refunded already.`);
    if (want.quantity > left) throw new ProblemError(409, "line_refund_exceeds_quantity", `Only ${left} of "${line.name}" can still be refunded.`);
    const total = line.unitPriceCents * line.quantity;
    const amountCents = paidForUnits(order, total, line.quantity, before + want.quantity) - paidForUnits(order, total, line.quantity, before);
    planned.push({
      productId: line.productId,
      variantId: line.variantId,
      quantity: want.quantity,
      restock: want.restock,
      name: line.name,
      amountCents,
      refundedBefore: before,
    });
  }
  return { lines: planned, amountCents: planned.reduce((sum, l) => sum + l.amountCents, 0) };
}

/**
 * Claims a line refund, atomically: the claim row is written only if every claim of the order plus
 * this one stays within the total AND no line changed since the plan read it; its line rows follow
 * in the same batch, only if the claim row was written. Same `idempotencyKey` → the earlier claim.
 */
export async function claimLineRefund(
  db: Database,
  order: OrderRow,
  plan: LineRefundPlan,
  input: { idempotencyKey: string; requestedBy: string },
): Promise<LineRefundClaim> {
  const id = `rf_${crypto.randomUUID().replaceAll("-", "")}`;
  const d1 = db.$client;
  // Raw statements: a D1 batch of INSERT … SELECT … WHERE (drizzle's batch takes no raw SQL); one transaction.
  const unchanged = plan.lines.map(() => " AND (SELECT COALESCE(SUM(quantity), 0) FROM order_refund_lines WHERE order_id = ? AND variant_id = ?) = ?").join("");
  const claim = d1
    .prepare(
      `INSERT INTO order_refunds (id, order_id, amount_cents, idempotency_key, requested_by)
       SELECT ?, ?, ?, ?, ?
       WHERE (SELECT COALESCE(SUM(amount_cents), 0) FROM order_refunds WHERE order_id = ?) + ? <= ?${unchanged}
       ON CONFLICT (order_id, idempotency_key) DO NOTHING`,
    )
    .bind(
      id,
      order.id,
      plan.amountCents,
      input.idempotencyKey,
      input.requestedBy,
      order.id,
      plan.amountCents,
      order.totalCents,
      ...plan.lines.flatMap((l) => [order.id, l.variantId, l.refundedBefore]),
    );
  const lineRows = plan.lines.map((l) =>
    d1
      .prepare(
        `INSERT INTO order_refund_lines (refund_id, order_id, product_id, variant_id, quantity, amount_cents, restock)
         SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM order_refunds WHERE id = ?)`,
      )
      .bind(id, order.id, l.productId, l.variantId, l.quantity, l.amountCents, l.restock ? 1 : 0, id),
  );
  const [inserted] = await d1.batch([claim, ...lineRows]);
  const [existing] = await db
    .select()
    .from(orderRefunds)
    .where(and(eq(orderRefunds.orderId, order.id), eq(orderRefunds.idempotencyKey, input.idempotencyKey)))
    .limit(1);
  if ((inserted?.meta.changes ?? 0) > 0 && existing) return { kind: "claimed", claim: existing };
  if (existing) return { kind: "replayed", claim: existing };
  const [row] = await db
    .select({ total: sql<number>`COALESCE(SUM(${orderRefunds.amountCents}), 0)` })
    .from(orderRefunds)
    .where(eq(orderRefunds.orderId, order.id));
  const remainingCents = order.totalCents - Number(row?.total ?? 0);
  return remainingCents < plan.amountCents ? { kind: "too_large", remainingCents } : { kind: "lines_changed" };
}

/**
 * Puts a finished refund's restocked units back on their variants' shelves, once: the stock goes up
 * only while the claim is done and its lines are not marked restocked, and the mark follows in the
 * same batch. The inventory ledger's row (`refund_restock`, the staff member who asked, the order)
 * comes from the variants' trigger. The one place line refunds touch stock.
 */
export function restockRefundedLines(db: Database, claimId: string): D1PreparedStatement[] {
  const pending = "refund_id = ? AND restock = 1 AND restocked_at IS NULL AND EXISTS (SELECT 1 FROM order_refunds WHERE id = ? AND state = 'done')";
  return [
    db.$client
      .prepare(
        `UPDATE product_variants SET
           stock = stock + (SELECT COALESCE(SUM(quantity), 0) FROM order_refund_lines WHERE ${pending} AND variant_id = product_variants.id),
           stock_reason = 'refund_restock',
           stock_actor = (SELECT requested_by FROM order_refunds WHERE id = ?),
           stock_ref = (SELECT order_id FROM order_refunds WHERE id = ?)
         WHERE id IN (SELECT variant_id FROM order_refund_lines WHERE ${pending})`,
      )
      .bind(claimId, claimId, claimId, claimId, claimId, claimId),
    db.$client.prepare(`UPDATE order_refund_lines SET restocked_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE ${pending}`).bind(claimId, claimId),
  ];
}
