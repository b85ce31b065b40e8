import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { syncGateCreditsOfRef } from "../stock-gate/credits";
import { restockRefundedLines } from "./refund-lines";
import { orderRefunds, type OrderRefundRow, type OrderRow } from "./schema";

/** What a refund claim found: a new claim, the claim an earlier request with this key made, or no room left. */
export type RefundClaim =
  | { kind: "claimed"; claim: OrderRefundRow }
  | { kind: "replayed"; claim: OrderRefundRow }
  | { kind: "too_large"; remainingCents: number };

/** The part of the order's total that staff refunded or are refunding (every claim counts). */
export async function refundedSoFar(db: Database, orderId: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<number>`COALESCE(SUM(${orderRefunds.amountCents}), 0)` })
    .from(orderRefunds)
    .where(eq(orderRefunds.orderId, orderId));
  return Number(row?.total ?? 0);
}

/**
 * Claims `amountCents` of a paid order's total for one refund, atomically: the row is written only
 * if every claim of the order plus this one stays within the total (one INSERT … SELECT … WHERE,
 * so concurrent refunds can never add up to more than was paid). Same `idempotencyKey` → the
 * earlier claim, never a second refund.
 */
export async function claimRefund(
  db: Database,
  order: OrderRow,
  input: { amountCents: number; idempotencyKey: string; requestedBy: string },
): Promise<RefundClaim> {
  const id = `rf_${crypto.randomUUID().replaceAll("-", "")}`;
  const inserted = await db.run(sql`
    INSERT INTO order_refunds (id, order_id, amount_cents, idempotency_key, requested_by)
    SELECT ${id}, ${order.id}, ${input.amountCents}, ${input.idempotencyKey}, ${input.requestedBy}
    WHERE (SELECT COALESCE(SUM(amount_cents), 0) FROM order_refunds WHERE order_id = ${order.id}) + ${input.amountCents} <= ${order.totalCents}
    ON CONFLICT (order_id, idempotency_key) DO NOTHING`);
  const [existing] = await db
    .select()
    .from(orderRefunds)
    .where(and(eq(orderRefunds.orderId, order.id), eq(orderRefunds.idempotencyKey, input.idempotencyKey)))
    .limit(1);
  if ((inserted.meta.changes ?? 0) > 0 && existing) return { kind: "claimed", claim: existing };
  if (existing) return { kind: "replayed", claim: existing };
  return { kind: "too_large", remainingCents: order.totalCents - (await refundedSoFar(db, order.id)) };
}

/**
 * The provider took the refund: the claim is final (once: only a claim still `requested`), and in
 * the same batch its restocked lines go back on the shelf (src/checkout/refund-lines.ts).
 */
export async function completeRefundClaim(env: Env, db: Database, claimId: string, providerRefundId: string): Promise<void> {
  const [, restocked] = await db.$client.batch([
    db.$client.prepare("UPDATE order_refunds SET state = 'done', provider_refund_id = ? WHERE id = ? AND state = 'requested'").bind(providerRefundId, claimId),
    ...restockRefundedLines(db, claimId),
  ]);
  // The units on the shelf again are sellable at the stock gate too (decision 028; once per ledger row).
  if ((restocked?.meta.changes ?? 0) > 0) {
    const claim = await db.$client.prepare("SELECT order_id AS o FROM order_refunds WHERE id = ?").bind(claimId).first<{ o: string }>();
    if (claim) await syncGateCreditsOfRef(env, claim.o);
  }
}

/** The provider refused (or the audit log could not record the request): the claim is withdrawn, so staff can retry. */
export async function withdrawRefundClaim(db: Database, claimId: string): Promise<void> {
  await db.delete(orderRefunds).where(and(eq(orderRefunds.id, claimId), eq(orderRefunds.state, "requested")));
}
