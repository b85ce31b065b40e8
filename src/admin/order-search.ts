import { z } from "@hono/zod-openapi";
import { and, desc, eq, gt, gte, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import { user as userTable } from "../accounts/schema";
import { products } from "../catalog/schema";
import { paymentStateOf, type PaymentState } from "../checkout/orders";
import { orderLines, orders, type OrderRow } from "../checkout/schema";
import type { Database } from "../db/client";
import { OPEN_DISPUTE_STATUSES } from "../payments/payment-state";
import { ProblemError } from "../platform/problem";

export const ORDER_STATUSES = ["pending", "paid", "refunded", "expired", "cancelled"] as const;
export const PAYMENT_STATES = ["pending", "paid", "partially_refunded", "refunded", "expired", "cancelled"] as const;
export const FULFILMENT_STATES = ["unfulfilled", "shipped", "delivered"] as const;

/**
 * Query of GET /api/admin/orders (and the staff order desk). `customer` is an email or a user id
 * (exact); `q` finds orders by part of their number, the customer's email or name, or a product's
 * slug, id or name on a line. `from`/`to` bound the creation time (the page turns the staff
 * member's local dates into these instants).
 */
export const OrderSearchQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  customer: z.string().trim().min(1).max(320).optional(),
  q: z.string().trim().min(1).max(100).optional().openapi({ description: "Part of the order number (`#104`), email, name, or a product's slug or name" }),
  payment: z.enum(PAYMENT_STATES).optional().openapi({ description: "Where the money is; `paid` excludes partly refunded orders" }),
  fulfilment: z.enum(FULFILMENT_STATES).optional(),
  dispute: z.enum(["open"]).optional().openapi({ description: "`open`: only orders whose payment is disputed now" }),
  from: z.iso.datetime().optional().openapi({ description: "Created at or after this instant" }),
  to: z.iso.datetime().optional().openapi({ description: "Created before this instant" }),
  cursor: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});
export type OrderSearchQuery = z.infer<typeof OrderSearchQuery>;

/** One order in the staff list. */
export interface AdminOrderSummary {
  id: string;
  number: number | null;
  status: OrderRow["status"];
  paymentState: PaymentState;
  fulfilment: OrderRow["fulfilment"];
  userId: string;
  customerEmail: string | null;
  customerName: string | null;
  totalCents: number;
  refundedCents: number;
  currency: string;
  couponCode: string | null;
  disputeStatus: string | null;
  createdAt: string;
  paidAt: string | null;
}

// The cursor is the last item's (createdAt, id), so pages are stable while new orders arrive.
function encodeCursor(row: { createdAt: string; id: string }): string {
  return btoa(JSON.stringify([row.createdAt, row.id])).replaceAll("=", "");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(atob(cursor)) as unknown[];
    if (typeof createdAt === "string" && typeof id === "string") return { createdAt, id };
  } catch {
    // fall through
  }
  throw new ProblemError(400, "invalid_cursor", "The cursor is not one this API issued.");
}

/** The user id a `customer` filter names: an email (case-insensitive) or an id; null when no one has that email. */
async function customerId(db: Database, customer: string): Promise<string | null> {
  if (!customer.includes("@")) return customer;
  const [row] = await db.select({ id: userTable.id }).from(userTable).where(eq(userTable.email, customer.toLowerCase())).limit(1);
  return row?.id ?? null;
}

/** `text` as a LIKE pattern matching it anywhere, its own wildcards taken literally (ESCAPE '\'). */
function containing(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

const customerEmail = sql<string | null>`coalesce(${userTable.email}, ${orders.customerEmail})`;
const customerName = sql<string | null>`coalesce(json_extract(${orders.shippingAddress}, '$.name'), ${userTable.name})`;

/** The filter of a free-text search: part of the number, email, name, or a line's product slug, id or name. */
function matching(q: string): SQL {
  const like = containing(q.replace(/^#/, ""));
  const line = sql`EXISTS (SELECT 1 FROM ${orderLines} LEFT JOIN ${products} ON ${products.id} = ${orderLines.productId}
    WHERE ${orderLines.orderId} = ${orders.id}
    AND (lower(${products.slug}) LIKE ${like} ESCAPE '\\' OR lower(${orderLines.productId}) LIKE ${like} ESCAPE '\\' OR lower(${orderLines.name}) LIKE ${like} ESCAPE '\\'))`;
  return or(
    sql`CAST(${orders.number} AS TEXT) LIKE ${like} ESCAPE '\\'`,
    sql`lower(${customerEmail}) LIKE ${like} ESCAPE '\\'`,
    sql`lower(${customerName}) LIKE ${like} ESCAPE '\\'`,
    line,
  )!;
}

/** The filter of one payment state (partly refunded is a paid order with a refund on its books). */
function inPaymentState(state: PaymentState): SQL {
  if (state === "paid") return and(eq(orders.status, "paid"), eq(orders.refundedCents, 0))!;
  if (state === "partially_refunded") return and(eq(orders.status, "paid"), gt(orders.refundedCents, 0))!;
  return eq(orders.status, state);
}

/** The filters of a search (the list, its CSV export and the dashboard's links share them). */
export async function searchFilters(db: Database, query: Omit<OrderSearchQuery, "cursor" | "limit">): Promise<SQL[] | null> {
  const filters: SQL[] = [];
  if (query.status) filters.push(eq(orders.status, query.status));
  if (query.payment) filters.push(inPaymentState(query.payment));
  if (query.fulfilment) filters.push(eq(orders.fulfilment, query.fulfilment));
  if (query.dispute === "open") filters.push(inArray(orders.disputeStatus, [...OPEN_DISPUTE_STATUSES]));
  if (query.from) filters.push(gte(orders.createdAt, new Date(query.from).toISOString()));
  if (query.to) filters.push(lt(orders.createdAt, new Date(query.to).toISOString()));
  if (query.q) filters.push(matching(query.q));
  if (query.customer) {
    const id = await customerId(db, query.customer);
    // By address: the account's orders, and guest orders paid with that address.
    const byEmail = query.customer.includes("@") ? eq(orders.customerEmail, query.customer.toLowerCase()) : undefined;
    if (!id && !byEmail) return null;
    filters.push(id && byEmail ? or(eq(orders.userId, id), byEmail)! : id ? eq(orders.userId, id) : byEmail!);
  }
  return filters;
}

/** The columns of a listed order. */
export function summaryQuery(db: Database) {
  return db
    .select({
      id: orders.id,
      number: orders.number,
      status: orders.status,
      fulfilment: orders.fulfilment,
      userId: orders.userId,
      customerEmail,
      customerName,
      totalCents: orders.totalCents,
      refundedCents: orders.refundedCents,
      currency: orders.currency,
      couponCode: orders.couponCode,
      disputeStatus: orders.disputeStatus,
      createdAt: orders.createdAt,
      paidAt: orders.paidAt,
    })
    .from(orders)
    .leftJoin(userTable, eq(userTable.id, orders.userId));
}

/** Orders, newest first, filtered by status, payment and fulfilment state, dispute, dates, customer and text (admin and support). */
export async function searchOrders(db: Database, query: OrderSearchQuery): Promise<{ items: AdminOrderSummary[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  const filters = await searchFilters(db, query);
  if (!filters) return { items: [], nextCursor: null };
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    filters.push(or(lt(orders.createdAt, after.createdAt), and(eq(orders.createdAt, after.createdAt), lt(orders.id, after.id)))!);
  }
  const rows = await summaryQuery(db)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map((r) => ({ ...r, paymentState: paymentStateOf(r) }));
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null };
}
