import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, lt, or, sql, type SQL } from "drizzle-orm";
import { user as userTable } from "../accounts/schema";
import { recordAudit } from "../audit/audit";
import { orderLines, orders, paymentEvents, type OrderRow } from "../checkout/schema";
import { toOrder, type Order } from "../checkout/orders";
import type { Database } from "../db/client";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import { paymentProvider } from "../payments/provider";
import { deliverSimulatedRefund } from "../payments/simulator";
import type { StaffActor } from "./products";

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
    if (!id) return { items: [], nextCursor: null };
    filters.push(eq(orders.userId, id));
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
      customerEmail: userTable.email,
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
  const [lines, timeline, owner] = await Promise.all([
    db.select().from(orderLines).where(eq(orderLines.orderId, id)).orderBy(sql`rowid`),
    db
      .select({ id: paymentEvents.id, kind: paymentEvents.kind, detail: paymentEvents.detail, createdAt: paymentEvents.createdAt })
      .from(paymentEvents)
      .where(eq(paymentEvents.orderId, id))
      .orderBy(asc(paymentEvents.createdAt), asc(paymentEvents.id)),
    db.select({ email: userTable.email }).from(userTable).where(eq(userTable.id, row.userId)).limit(1),
  ]);
  return {
    ...toOrder(row, lines),
    userId: row.userId,
    customerEmail: owner[0]?.email ?? null,
    provider: row.provider,
    paymentSessionId: row.paymentSessionId,
    paymentIntentId: row.paymentIntentId,
    updatedAt: row.updatedAt,
    timeline,
  };
}

/** What a refund request answers: the provider's refund id and the order's status now. */
export interface RefundRequested {
  orderId: string;
  refundId: string;
  amountCents: number;
  currency: string;
  status: OrderRow["status"];
}

/**
 * Asks the payment provider to refund a paid order in full (idempotency key `refund:<orderId>`,
 * so a double click or a retry is one refund at Stripe) and records `order.refund_requested`.
 * The order becomes `refunded` only when the provider's `charge.refunded` webhook arrives; with
 * the simulator that event is delivered (signed, through the webhook handler) right away.
 * Refusals: 404 `order_not_found`, 409 `order_not_refundable`, 502 `payment_unavailable`.
 */
export async function requestRefund(env: Env, config: Config, db: Database, actor: StaffActor, orderId: string): Promise<RefundRequested> {
  const [order] = await db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
  if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
  if (order.status !== "paid") throw new ProblemError(409, "order_not_refundable", `Only paid orders can be refunded; this one is ${order.status}.`);
  const reference = order.paymentIntentId
    ? { paymentIntentId: order.paymentIntentId }
    : order.paymentSessionId
      ? { sessionId: order.paymentSessionId }
      : null;
  if (!reference) throw new ProblemError(409, "order_not_refundable", "This order has no payment to refund.");
  const provider = paymentProvider(config, db);
  let refundId: string;
  try {
    ({ refundId } = await provider.refund({ ...reference, amountCents: order.totalCents, idempotencyKey: `refund:${order.id}` }));
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "refund_failed", orderId: order.id, error: String(error) }));
    throw new ProblemError(502, "payment_unavailable", "The payment provider did not accept the refund. Try again later.");
  }
  await recordAudit(env, {
    actor: actor.id,
    action: "order.refund_requested",
    subject: order.id,
    detail: { refundId, amountCents: order.totalCents, currency: order.currency, provider: provider.name },
    ip: actor.ip,
  });
  if (provider.name === "simulator" && order.paymentIntentId) {
    // Development: "Stripe" confirms the refund the way it would, with a signed charge.refunded event.
    await deliverSimulatedRefund(env, config, { paymentIntentId: order.paymentIntentId, amountCents: order.totalCents, currency: order.currency });
  }
  const [now] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, order.id)).limit(1);
  return { orderId: order.id, refundId, amountCents: order.totalCents, currency: order.currency, status: now?.status ?? order.status };
}
