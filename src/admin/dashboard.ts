import { and, asc, eq, gte, inArray, lte, sql } from "drizzle-orm";
import { products, productVariants } from "../catalog/schema";
import { orders } from "../checkout/schema";
import type { Database } from "../db/client";
import { OPEN_DISPUTE_STATUSES } from "../payments/payment-state";

/**
 * The staff dashboard's figures (issue 32): sales over three windows in the shop's currency
 * (minor units: what was paid less what was refunded, by payment time), orders waiting to ship,
 * open disputes, and products running low. One D1 batch.
 */

/** A product is low at this many sellable units or fewer. */
export const LOW_STOCK_THRESHOLD = 5;

export interface SalesWindow {
  /** The window's first instant (ISO): local midnight of its first day in the staff member's zone. */
  since: string;
  /** The window's first day (YYYY-MM-DD, local), for links into the order list. */
  fromDate: string;
  orders: number;
  netCents: number;
}

export interface Dashboard {
  currency: string;
  today: SalesWindow;
  week: SalesWindow;
  month: SalesWindow;
  toShip: number;
  openDisputes: number;
  lowStock: LowStockItem[];
}

export interface LowStockItem {
  /** The product's id (its staff page); the variant's below. */
  id: string;
  variantId: string;
  name: string;
  stock: number;
}

/**
 * Variants of active products at or below their own threshold (else the dashboard's), fewest
 * first: the one query of "low stock". `name` carries the variant's option values.
 */
export function lowStockQuery(db: Database, threshold: number = LOW_STOCK_THRESHOLD, limit = 50) {
  const label = sql<string>`${products.name} || CASE WHEN ${productVariants.option1} = '' THEN '' ELSE ' (' || ${productVariants.option1}
    || CASE WHEN ${productVariants.option2} = '' THEN '' ELSE ' / ' || ${productVariants.option2} END
    || CASE WHEN ${productVariants.option3} = '' THEN '' ELSE ' / ' || ${productVariants.option3} END || ')' END`;
  return db
    .select({ id: products.id, variantId: productVariants.id, name: label.as("label"), stock: productVariants.stock })
    .from(productVariants)
    .innerJoin(products, eq(products.id, productVariants.productId))
    .where(and(lte(productVariants.stock, sql`coalesce(${productVariants.lowStockThreshold}, ${threshold})`), eq(products.status, "active")))
    .orderBy(asc(productVariants.stock), asc(products.name), asc(productVariants.position))
    .limit(limit);
}

function salesQuery(db: Database, currency: string, since: string) {
  return db
    .select({ orders: sql<number>`COUNT(*)`, netCents: sql<number>`COALESCE(SUM(${orders.totalCents} - ${orders.refundedCents}), 0)` })
    .from(orders)
    .where(and(inArray(orders.status, ["paid", "refunded"]), eq(orders.currency, currency), gte(orders.paidAt, since)));
}

/** The dashboard for a shop whose currency is `currency`; `windows` are the local first days and instants of today, 7 and 30 days. */
export async function dashboardFigures(
  db: Database,
  currency: string,
  windows: { today: { since: string; fromDate: string }; week: { since: string; fromDate: string }; month: { since: string; fromDate: string } },
): Promise<Dashboard> {
  const [today, week, month, toShip, disputes, lowStock] = await db.batch([
    salesQuery(db, currency, windows.today.since),
    salesQuery(db, currency, windows.week.since),
    salesQuery(db, currency, windows.month.since),
    db
      .select({ n: sql<number>`COUNT(*)` })
      .from(orders)
      .where(and(eq(orders.status, "paid"), eq(orders.fulfilment, "unfulfilled"))),
    db
      .select({ n: sql<number>`COUNT(*)` })
      .from(orders)
      .where(inArray(orders.disputeStatus, [...OPEN_DISPUTE_STATUSES])),
    lowStockQuery(db),
  ]);
  const window = (rows: { orders: number; netCents: number }[], w: { since: string; fromDate: string }): SalesWindow => ({
    ...w,
    orders: Number(rows[0]?.orders ?? 0),
    netCents: Number(rows[0]?.netCents ?? 0),
  });
  return {
    currency,
    today: window(today, windows.today),
    week: window(week, windows.week),
    month: window(month, windows.month),
    toShip: Number(toShip[0]?.n ?? 0),
    openDisputes: Number(disputes[0]?.n ?? 0),
    lowStock,
  };
}
