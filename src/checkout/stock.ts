import { and, eq, inArray, isNull, sql, type SQL } from "drizzle-orm";
import { productVariants } from "../catalog/schema";
import type { Database } from "../db/client";
import { orderLines, orders } from "./schema";

/**
 * One statement that gives an order's stock back to its variants, only while the order is still
 * `pending` (and, when given, still on `session`: an id, or null for "no session stored yet"; and
 * not in flight unless `inFlight`). It goes in the same db.batch as the status change that follows
 * it, with the same conditions, so stock comes back exactly once: a paid order never restocks, a
 * duplicate finds the order no longer pending. Each variant's ledger row (`sale_released`, the
 * order as its ref) is written by the trigger in the same statement (decision 025).
 */
export function restockPendingOrder(db: Database, orderId: string, match: { session?: string | null; inFlight?: boolean } = {}) {
  const conditions: SQL[] = [eq(orders.id, orderId), eq(orders.status, "pending")];
  if (match.session === null) conditions.push(isNull(orders.paymentSessionId));
  else if (match.session !== undefined) conditions.push(eq(orders.paymentSessionId, match.session));
  if (match.inFlight === false) conditions.push(eq(orders.paymentInFlight, false));
  const stillPending = db
    .select({ one: sql`1` })
    .from(orders)
    .where(and(...conditions));
  return db
    .update(productVariants)
    .set({
      stock: sql`${productVariants.stock} + (SELECT ${orderLines.quantity} FROM ${orderLines} WHERE ${orderLines.orderId} = ${orderId} AND ${orderLines.variantId} = ${productVariants.id})`,
      stockReason: "sale_released",
      stockActor: "system",
      stockRef: orderId,
    })
    .where(
      and(
        inArray(productVariants.id, db.select({ id: orderLines.variantId }).from(orderLines).where(eq(orderLines.orderId, orderId))),
        sql`EXISTS ${stillPending}`,
      ),
    );
}
