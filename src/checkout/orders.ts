import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { orderLines, orders, type OrderLineRow, type OrderRow } from "./schema";

/** An order as its owner sees it (API.md "Checkout and orders"). */
export interface Order {
  id: string;
  status: OrderRow["status"];
  items: { productId: string; name: string; quantity: number; unitPriceCents: number; lineTotalCents: number }[];
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
  currency: string;
  couponCode: string | null;
  createdAt: string;
  paidAt: string | null;
  /** Pending with a delayed payment (bank transfer…) under way: it cannot be cancelled, it settles by itself. */
  paymentProcessing: boolean;
  /** Where the goods are (src/checkout/shipping.ts). */
  shipping: { status: OrderRow["fulfilment"]; carrier: string | null; trackingNumber: string | null; shippedAt: string | null; deliveredAt: string | null };
}

/** Maps rows to the API shape: never the payment ids, idempotency key or provider internals. */
export function toOrder(row: OrderRow, lines: OrderLineRow[]): Order {
  return {
    id: row.id,
    status: row.status,
    items: lines.map((l) => ({
      productId: l.productId,
      name: l.name,
      quantity: l.quantity,
      unitPriceCents: l.unitPriceCents,
      lineTotalCents: l.unitPriceCents * l.quantity,
    })),
    subtotalCents: row.subtotalCents,
    discountCents: row.discountCents,
    totalCents: row.totalCents,
    currency: row.currency,
    couponCode: row.couponCode,
    createdAt: row.createdAt,
    paidAt: row.paidAt,
    paymentProcessing: row.status === "pending" && row.paymentInFlight,
    shipping: { status: row.fulfilment, carrier: row.carrier, trackingNumber: row.trackingNumber, shippedAt: row.shippedAt, deliveredAt: row.deliveredAt },
  };
}

/** Newest first; 100 at most (a shopper's history, not an export). */
const HISTORY_LIMIT = 100;

/** The caller's own orders, newest first. The user id comes from the session, never the request. */
export async function listOrdersForUser(db: Database, userId: string): Promise<Order[]> {
  const rows = await db.select().from(orders).where(eq(orders.userId, userId)).orderBy(desc(orders.createdAt), desc(orders.id)).limit(HISTORY_LIMIT);
  if (rows.length === 0) return [];
  const lines = await db
    .select()
    .from(orderLines)
    .where(
      inArray(
        orderLines.orderId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(sql`rowid`);
  return rows.map((row) =>
    toOrder(
      row,
      lines.filter((l) => l.orderId === row.id),
    ),
  );
}

/**
 * One order of this user, or null when it does not exist *or belongs to someone else* (P12):
 * ownership is part of the query, so the two cases cannot be told apart.
 */
export async function findOrderForUser(db: Database, userId: string, orderId: string): Promise<Order | null> {
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), eq(orders.userId, userId)))
    .limit(1);
  if (!row) return null;
  const lines = await db.select().from(orderLines).where(eq(orderLines.orderId, row.id)).orderBy(sql`rowid`); // insertion order = cart order
  return toOrder(row, lines);
}
