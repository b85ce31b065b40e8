import { asc, eq, sql } from "drizzle-orm";
import { user as userTable } from "../accounts/schema";
import { orderDisputes, orderLines, orderRefundLines, orderRefunds, orders, paymentEvents } from "../checkout/schema";
import { toOrder, type Order } from "../checkout/orders";
import { listStrayPayments } from "../checkout/stray-payments";
import type { Database } from "../db/client";

export { ORDER_STATUSES, OrderSearchQuery, searchOrders, type AdminOrderSummary } from "./order-search";

/** One row of an order's payment timeline (payment_events). */
export interface TimelineEntry {
  id: string;
  kind: string;
  detail: string | null;
  createdAt: string;
}

/** An order as staff see it: the shopper's view plus who bought it, provider ids and the timeline. */
export interface AdminOrder extends Omit<Order, "refunds"> {
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
  /** The lines it gave money back for (empty: an amount), and whether their units went back on the shelf. */
  lines: { productId: string; variantId: string; name: string; quantity: number; amountCents: number; restock: boolean; restocked: boolean }[];
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

/** One order with its lines, customer email and payment timeline, or null. */
export async function findAdminOrder(db: Database, id: string): Promise<AdminOrder | null> {
  const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1);
  if (!row) return null;
  const [lines, timeline, owner, strays, refunds, disputes, refundLines] = await Promise.all([
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
    db.select().from(orderRefundLines).where(eq(orderRefundLines.orderId, id)),
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
      lines: refundLines
        .filter((l) => l.refundId === r.id)
        .map((l) => ({
          productId: l.productId,
          variantId: l.variantId,
          name: lines.find((ol) => ol.variantId === l.variantId)?.name ?? l.productId,
          quantity: l.quantity,
          amountCents: l.amountCents,
          restock: l.restock,
          restocked: l.restockedAt !== null,
        })),
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
