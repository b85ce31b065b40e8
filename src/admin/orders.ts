import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, lt, or, sql, type SQL } from "drizzle-orm";
import { user as userTable } from "../accounts/schema";
import { orderDisputes, orderLines, orderRefunds, orders, paymentEvents, type OrderRow } from "../checkout/schema";
import { toOrder, type Order } from "../checkout/orders";
import { listStrayPayments } from "../checkout/stray-payments";
import type { Database } from "../db/client";
import { ProblemError } from "../platform/problem";

export const ORDER_STATUSES = ["pending", "paid", "refunded", "expired", "cancelled"] as const;

/** Query of GET /api/admin/orders. `customer` is an email or a user id. */
export const OrderSearchQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  customer: z.string().trim().min(1).max(320).optional(),
  cursor: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});
export type OrderSearchQuery = z.infer<typeof OrderSearchQuery>;

/** One order in the staff list. */
export interface AdminOrderSummary {
  id: string;
  status: OrderRow["status"];
  userId: string;
  customerEmail: string | null;
  totalCents: number;
  currency: string;
  couponCode: string | null;
  createdAt: string;
  paidAt: string | null;
}

/** One row of an order's payment timeline (payment_events). */
export interface TimelineEntry {
  id: string;
  kind: string;
  detail: string | null;
  createdAt: string;
}

/** An order as staff see it: the shopper's view plus who bought it, provider ids and the timeline. */
export interface AdminOrder extends Order {
  userId: string;
  customerEmail: string | null;
  provider: string;
  paymentSessionId: string | null;
  paymentIntentId: string | null;
  updatedAt: string;
  timeline: TimelineEntry[];
  /** A delayed payment is in flight: the order stays pending with its holds until it settles. */
  paymentInFlight: boolean;
  /** Paid with a coupon that had no hold and no room left: resolve with the customer (docs/decisions/013). */
  couponOverRedeemed: boolean;
  /** Money received that the shop will not fulfil (closed order, refused payment), and whether staff refunded it. */
  paymentsAfterClose: PaymentAfterClose[];
  /** Everything refunded, as the provider's books say (staff refunds and Dashboard refunds). */
  refundedCents: number;
  refunds: OrderRefundEntry[];
  /** The headline dispute's status (open ones first), or null: never disputed. */
  disputeStatus: string | null;
  disputes: OrderDispute[];
}

/** One payment that arrived for an order the shop will not fulfil (a stray payment, src/checkout/stray-payments.ts). */
export interface PaymentAfterClose {
  id: string;
  amountCents: number;
  currency: string;
  reason: string;
  receivedAt: string;
  /** The provider's refund id once staff refunded it, else null. */
  refundId: string | null;
}

/** A refund of the order, made here by staff or elsewhere (the Stripe Dashboard), as the provider's books say. */
export interface OrderRefundEntry {
  id: string;
  amountCents: number;
  source: "staff" | "provider";
  state: "requested" | "done";
  requestedBy: string;
  createdAt: string;
}

/** A dispute (chargeback) of the order's charge. */
export interface OrderDispute {
  id: string;
  amountCents: number;
  currency: string;
  reason: string;
  status: string;
  /** ISO date-time the evidence is due, or null. */
  evidenceDueBy: string | null;
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

/** Orders, newest first, filtered by status and customer (admin and support). */
export async function searchOrders(db: Database, query: OrderSearchQuery): Promise<{ items: AdminOrderSummary[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  const filters: SQL[] = [];
  if (query.status) filters.push(eq(orders.status, query.status));
  if (query.customer) {
    const id = await customerId(db, query.customer);
    // By address: the account's orders, and guest orders paid with that address.
    const byEmail = query.customer.includes("@") ? eq(orders.customerEmail, query.customer.toLowerCase()) : undefined;
    if (!id && !byEmail) return { items: [], nextCursor: null };
    filters.push(id && byEmail ? or(eq(orders.userId, id), byEmail)! : id ? eq(orders.userId, id) : byEmail!);
  }
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    filters.push(or(lt(orders.createdAt, after.createdAt), and(eq(orders.createdAt, after.createdAt), lt(orders.id, after.id)))!);
  }
  const rows = await db
    .select({
      id: orders.id,
      status: orders.status,
      userId: orders.userId,
      customerEmail: sql<string | null>`coalesce(${userTable.email}, ${orders.customerEmail})`,
      totalCents: orders.totalCents,
      currency: orders.currency,
      couponCode: orders.couponCode,
      createdAt: orders.createdAt,
      paidAt: orders.paidAt,
    })
    .from(orders)
    .leftJoin(userTable, eq(userTable.id, orders.userId))
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null };
}

/** One order with its lines, customer email and payment timeline, or null. */
export async function findAdminOrder(db: Database, id: string): Promise<AdminOrder | null> {
  const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1);
  if (!row) return null;
  const [lines, timeline, owner, strays, refunds, disputes] = await Promise.all([
    db.select().from(orderLines).where(eq(orderLines.orderId, id)).orderBy(sql`rowid`),
    db
      .select({ id: paymentEvents.id, kind: paymentEvents.kind, detail: paymentEvents.detail, createdAt: paymentEvents.createdAt })
      .from(paymentEvents)
      .where(eq(paymentEvents.orderId, id))
      .orderBy(asc(paymentEvents.createdAt), asc(paymentEvents.id)),
    db.select({ email: userTable.email }).from(userTable).where(eq(userTable.id, row.userId)).limit(1),
    listStrayPayments(db, { orderId: id }),
    db.select().from(orderRefunds).where(eq(orderRefunds.orderId, id)).orderBy(asc(orderRefunds.createdAt)),
    db.select().from(orderDisputes).where(eq(orderDisputes.orderId, id)).orderBy(asc(orderDisputes.createdAt)),
  ]);
  return {
    ...toOrder(row, lines),
    userId: row.userId,
    customerEmail: owner[0]?.email ?? row.customerEmail,
    provider: row.provider,
    paymentSessionId: row.paymentSessionId,
    paymentIntentId: row.paymentIntentId,
    updatedAt: row.updatedAt,
    timeline,
    paymentInFlight: row.paymentInFlight,
    couponOverRedeemed: row.couponOverRedeemed,
    paymentsAfterClose: strays.map((p) => ({
      id: p.id,
      amountCents: p.amountCents,
      currency: p.currency,
      reason: p.reason,
      receivedAt: p.receivedAt,
      refundId: p.refundId,
    })),
    refundedCents: row.refundedCents,
    refunds: refunds.map((r) => ({
      id: r.id,
      amountCents: r.amountCents,
      source: r.source,
      state: r.state,
      requestedBy: r.requestedBy,
      createdAt: r.createdAt,
    })),
    disputeStatus: row.disputeStatus,
    disputes: disputes.map((d) => ({
      id: d.id,
      amountCents: d.amountCents,
      currency: d.currency,
      reason: d.reason,
      status: d.status,
      evidenceDueBy: d.evidenceDueBy ? new Date(d.evidenceDueBy * 1000).toISOString() : null,
    })),
  };
}
