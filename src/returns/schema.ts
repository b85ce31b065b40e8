import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { orders } from "../checkout/schema";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** Where a return stands: forward only (requested → approved | refused; approved → received → refunded). */
export const RETURN_STATUSES = ["requested", "approved", "refused", "received", "refunded"] as const;
export type ReturnStatus = (typeof RETURN_STATUSES)[number];

/**
 * Returns (issue 32, docs/decisions/029): a shopper asks to send back units of a delivered order's
 * lines; staff approve or refuse, mark the goods received, then refund them through the one money
 * path (requestRefund with lines: a line is never refunded beyond its quantity, the order never
 * beyond what was paid). An order has at most one open return (requested, approved or received) at
 * a time: the request's INSERT checks it in the same statement, so two requests at once make one.
 */
export const returnRequests = sqliteTable(
  "return_requests",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    status: text("status", { enum: RETURN_STATUSES }).notNull().default("requested"),
    /** The shopper's words (why they send it back), shown to staff as text. */
    reason: text("reason").notNull().default(""),
    /** Why staff refused it (shown to the shopper and in the mail); null unless refused. */
    refusalReason: text("refusal_reason"),
    /** Who asked: the order's owner id at the time (an account or a guest owner id). */
    requestedBy: text("requested_by").notNull(),
    decidedBy: text("decided_by"),
    decidedAt: text("decided_at"),
    receivedBy: text("received_by"),
    receivedAt: text("received_at"),
    refundedBy: text("refunded_by"),
    refundedAt: text("refunded_at"),
    /** The provider's refund id and the amount the return's refund gave back. */
    refundId: text("refund_id"),
    refundCents: integer("refund_cents"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    index("return_requests_order_idx").on(t.orderId),
    index("return_requests_status_idx").on(t.status, t.createdAt),
    check("return_requests_refund_nonnegative", sql`${t.refundCents} IS NULL OR ${t.refundCents} >= 0`),
    check("return_requests_status_known", sql`${t.status} IN ('requested', 'approved', 'refused', 'received', 'refunded')`),
  ],
);
export type ReturnRequestRow = typeof returnRequests.$inferSelect;

/**
 * The units of one order line (its variant) a return sends back, and whether staff put them back
 * on the shelf (decided when the goods arrive; the refund restocks them, once).
 */
export const returnLines = sqliteTable(
  "return_lines",
  {
    returnId: text("return_id")
      .notNull()
      .references(() => returnRequests.id, { onDelete: "cascade" }),
    orderId: text("order_id").notNull(),
    productId: text("product_id").notNull(),
    variantId: text("variant_id").notNull(),
    quantity: integer("quantity").notNull(),
    restock: integer("restock", { mode: "boolean" }).notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.returnId, t.variantId] }), check("return_lines_quantity_positive", sql`${t.quantity} > 0`)],
);
export type ReturnLineRow = typeof returnLines.$inferSelect;
