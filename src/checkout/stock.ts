import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import { products } from "../catalog/schema";
import type { Database } from "../db/client";
import { orderLines, orders } from "./schema";

/**
 * One statement that gives an order's stock back, only while the order is still `pending` (and,
 * when given, still on `sessionId`). It goes in the same db.batch as the status change that
 * follows it, so stock comes back exactly once: a paid order never restocks, a duplicate finds
 * the order no longer pending.
 */
export function restockPendingOrder(db: Database, orderId: string, sessionId: string | null = null) {
  const conditions: SQL[] = [eq(orders.id, orderId), eq(orders.status, "pending")];
  if (sessionId !== null) conditions.push(eq(orders.paymentSessionId, sessionId));
  const stillPending = db.select({ one: sql`1` }).from(orders).where(and(...conditions));
  return db
    .update(products)
    .set({
      stock: sql`${products.stock} + (SELECT ${orderLines.quantity} FROM ${orderLines} WHERE ${orderLines.orderId} = ${orderId} AND ${orderLines.productId} = ${products.id})`,
    })
    .where(
      and(
        inArray(products.id, db.select({ id: orderLines.productId }).from(orderLines).where(eq(orderLines.orderId, orderId))),
        sql`EXISTS ${stillPending}`,
      ),
    );
}
