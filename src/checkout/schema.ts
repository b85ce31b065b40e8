import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/**
 * Orders. Amounts are integer minor units copied from the cart snapshot at checkout, so later
 * cart edits never change an order (M-014, M-015). Status only moves forward:
 * pending → paid → refunded, pending → expired | cancelled (the lifecycle: docs/decisions/013).
 */
export const orders = sqliteTable(
  "orders",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    status: text("status", { enum: ["pending", "paid", "refunded", "expired", "cancelled"] })
      .notNull()
      .default("pending"),
    currency: text("currency").notNull(),
    subtotalCents: integer("subtotal_cents").notNull(),
    discountCents: integer("discount_cents").notNull().default(0),
    totalCents: integer("total_cents").notNull(),
    couponCode: text("coupon_code"),
    cartVersion: integer("cart_version"),
    provider: text("provider").notNull(),
    paymentSessionId: text("payment_session_id"),
    paymentIntentId: text("payment_intent_id"),
    idempotencyKey: text("idempotency_key"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    paidAt: text("paid_at"),
    /** Unix seconds: the `expires_at` we gave the payment session; after it the sweeper closes the order. */
    paymentExpiresAt: integer("payment_expires_at"),
    /**
     * The provider completed the session but the money is not final yet (an `unpaid` completion of a
     * delayed method, or a completed session whose webhook has not arrived): the order stays pending
     * with its holds pinned until `async_payment_succeeded` / `_failed` (docs/decisions/013).
     */
    paymentInFlight: integer("payment_in_flight", { mode: "boolean" }).notNull().default(false),
    /** A paid order whose coupon found no hold and no room left: the money is real, staff resolve it. */
    couponOverRedeemed: integer("coupon_over_redeemed", { mode: "boolean" }).notNull().default(false),
    /**
     * Where the goods are, beside where the money is (`status`): unfulfilled → shipped → delivered,
     * forward only, for paid orders only (src/checkout/shipping.ts owns it).
     */
    fulfilment: text("fulfilment", { enum: ["unfulfilled", "shipped", "delivered"] })
      .notNull()
      .default("unfulfilled"),
    carrier: text("carrier"),
    trackingNumber: text("tracking_number"),
    shippedAt: text("shipped_at"),
    deliveredAt: text("delivered_at"),
    /**
     * Who paid: the account's address, or the address a guest gave (lower-cased). Receipts go here;
     * a guest order joins an account only when that account signs in with this address verified.
     */
    customerEmail: text("customer_email"),
    /** The coupon ledger's customer key used for this order (src/coupons/customer.ts); null: the user id. */
    couponCustomer: text("coupon_customer"),
    /** The cart object (its id, hex) this order froze: a guest's cart has no user to find it by. */
    cartObjectId: text("cart_object_id"),
    /**
     * Who holds this order's units while it is open, for the hoarding bounds (issue 33, migration
     * `held_units`'s triggers): the mailbox key of `customerEmail` (couponCustomerKey: aliases are one
     * mailbox) and the client's network address key (IPv6 /64). Null on orders from before.
     */
    holderMailbox: text("holder_mailbox"),
    /** The automatic promotion that made shipping free (its id and name, copied), or null. */
    promotionId: text("promotion_id"),
    promotionName: text("promotion_name"),
    /** What that promotion gave: the shipping amount the rate would have cost. */
    promotionDiscountCents: integer("promotion_discount_cents").notNull().default(0),
    /**
     * The automatic promotion that took money off the goods (decision 030; its id and name, copied),
     * and how much: that amount is part of `discountCents` (the whole discount on the goods, which
     * the payment session and refunds use); the code's part is `discountCents − discountPromotionCents`.
     */
    discountPromotionId: text("discount_promotion_id"),
    discountPromotionName: text("discount_promotion_name"),
    discountPromotionCents: integer("discount_promotion_cents").notNull().default(0),
    openedFrom: text("opened_from"),
    /**
     * Legacy: when the 90-day links issued before key versions stop opening a guest order (Unix ms).
     * New orders leave it null: a link carries its own expiry (guest-access.ts).
     */
    guestAccessExpiresAt: integer("guest_access_expires_at"),
    /**
     * Part of every guest link's and cookie's MAC: bumped when staff revoke the links and when the
     * order joins an account, so everything issued before stops opening it. 0: an order from before
     * versions, whose legacy links still open it until they expire or the version moves.
     */
    guestKeyVersion: integer("guest_key_version").notNull().default(1),
    /** The shipping rate chosen at checkout, copied (name and amount frozen like the lines). */
    shippingRateId: text("shipping_rate_id"),
    shippingRateName: text("shipping_rate_name"),
    shippingCents: integer("shipping_cents").notNull().default(0),
    /** Tax as Stripe computed it (automatic tax), stored from the completed session; 0 without tax. */
    taxCents: integer("tax_cents").notNull().default(0),
    /** Whether the session was made with Stripe Tax: without it, any tax in a payment is a mismatch. */
    taxMode: text("tax_mode", { enum: ["off", "automatic"] })
      .notNull()
      .default("off"),
    /** The shipping address from the completed session (JSON: name, line1, line2, city, state, postal_code, country). */
    shippingAddress: text("shipping_address"),
    /**
     * What the provider says was refunded of this order's charge (its `amount_refunded`), whoever
     * refunded it (staff here, or the Stripe Dashboard): the provider's figure is authoritative.
     */
    refundedCents: integer("refunded_cents").notNull().default(0),
    /** The latest dispute's status at the provider (Stripe's Dispute `status`), or null: never disputed. */
    disputeStatus: text("dispute_status"),
    /** The countries the payment session allowed a shipping address in (JSON array), frozen at checkout; null: older orders. */
    shipToCountries: text("ship_to_countries"),
    /**
     * The short number people use (`#1042`); the id stays the internal key. Given by the database
     * as the row is inserted (trigger `orders_assign_number` on the `order_counters` row, in the
     * same statement, so concurrent checkouts never share one); see docs/decisions/022.
     */
    number: integer("number"),
  },
  (t) => [
    index("orders_user_created_idx").on(t.userId, t.createdAt),
    index("orders_status_expires_idx").on(t.status, t.paymentExpiresAt),
    uniqueIndex("orders_payment_session_unique").on(t.paymentSessionId),
    uniqueIndex("orders_user_idempotency_unique").on(t.userId, t.idempotencyKey),
    check("orders_total_nonnegative", sql`${t.totalCents} >= 0`),
    check("orders_discount_nonnegative", sql`${t.discountCents} >= 0`),
    check("orders_shipping_nonnegative", sql`${t.shippingCents} >= 0`),
    check("orders_tax_nonnegative", sql`${t.taxCents} >= 0`),
    check("orders_refunded_nonnegative", sql`${t.refundedCents} >= 0`),
    index("orders_payment_intent_idx").on(t.paymentIntentId),
    index("orders_customer_email_idx").on(t.customerEmail),
    uniqueIndex("orders_number_unique").on(t.number),
    index("orders_paid_at_idx").on(t.paidAt),
    index("orders_holder_mailbox_open_idx").on(t.holderMailbox, t.status),
    index("orders_opened_from_open_idx").on(t.openedFrom, t.status),
    index("orders_cart_object_open_idx").on(t.cartObjectId, t.status),
  ],
);

/** Counters the database bumps (one row per name): `orders` is the last order number given. */
export const orderCounters = sqliteTable("order_counters", {
  name: text("name").primaryKey(),
  value: integer("value").notNull(),
});

/**
 * Order lines: a frozen copy of name, unit price, SKU and option values from D1 at checkout time,
 * one line per variant (decision 025).
 */
export const orderLines = sqliteTable(
  "order_lines",
  {
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    productId: text("product_id").notNull(),
    /** The variant sold (lines from before variants carry their product's default variant). */
    variantId: text("variant_id").notNull(),
    name: text("name").notNull(),
    /** The variant's SKU at checkout; null: it had none. */
    sku: text("sku"),
    /** The variant's option values at checkout, a JSON object in option order (`{"Color":"Green","Size":"M"}`); `{}` without options. */
    optionValues: text("option_values").notNull().default("{}"),
    unitPriceCents: integer("unit_price_cents").notNull(),
    quantity: integer("quantity").notNull(),
  },
  (t) => [
    uniqueIndex("order_lines_order_variant_unique").on(t.orderId, t.variantId),
    // Held units of a product (its pending orders' lines), for staff stock edits.
    index("order_lines_product_idx").on(t.productId),
    index("order_lines_variant_idx").on(t.variantId),
    check("order_lines_quantity_positive", sql`${t.quantity} > 0`),
    check("order_lines_price_nonnegative", sql`${t.unitPriceCents} >= 0`),
  ],
);

/**
 * Stripe event ids already processed. The primary key is the dedup guard: the insert runs in the
 * same db.batch as the event's effects, so a replay or concurrent duplicate fails as a whole (M-007, M-008).
 */
export const processedWebhookEvents = sqliteTable("processed_webhook_events", {
  eventId: text("event_id").primaryKey(),
  type: text("type").notNull(),
  orderId: text("order_id"),
  receivedAt: text("received_at").notNull().default(now),
});

/** Payment timeline of an order, for staff and the order page. */
export const paymentEvents = sqliteTable(
  "payment_events",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id").notNull(),
    kind: text("kind").notNull(),
    detail: text("detail"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("payment_events_order_idx").on(t.orderId, t.createdAt)],
);

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;

/**
 * Refunds staff asked for on a paid order, one row per refund. A row is a claim on part of the
 * order's total: it is inserted only while the claims not failed stay within the total (one
 * conditional INSERT, so two staff at once can never refund more than was paid), and a replayed
 * request with the same idempotency key finds its row instead of refunding again. A refund the
 * provider refused is deleted (the audit log keeps `order.refund_failed`), so staff can retry.
 */
export const orderRefunds = sqliteTable(
  "order_refunds",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    amountCents: integer("amount_cents").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    state: text("state", { enum: ["requested", "done"] })
      .notNull()
      .default("requested"),
    providerRefundId: text("provider_refund_id"),
    /** `staff`: asked for here; `provider`: found at the provider (a Dashboard refund), recorded by reconciliation. */
    source: text("source", { enum: ["staff", "provider"] })
      .notNull()
      .default("staff"),
    requestedBy: text("requested_by").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("order_refunds_order_key_unique").on(t.orderId, t.idempotencyKey),
    uniqueIndex("order_refunds_provider_refund_unique").on(t.providerRefundId),
    check("order_refunds_amount_positive", sql`${t.amountCents} > 0`),
  ],
);
export type OrderRefundRow = typeof orderRefunds.$inferSelect;

/**
 * The order lines a refund gives money back for (docs/decisions/022): units of a line, the part of
 * the line's paid amount they stand for, and whether they go back on the shelf. Written in the
 * claim's batch, only with it, so a line's refunded units never exceed its quantity; deleted with a
 * withdrawn claim (cascade). `restockedAt` marks the units put back (once, when the refund is done).
 */
export const orderRefundLines = sqliteTable(
  "order_refund_lines",
  {
    refundId: text("refund_id")
      .notNull()
      .references(() => orderRefunds.id, { onDelete: "cascade" }),
    orderId: text("order_id").notNull(),
    productId: text("product_id").notNull(),
    /** The order line's variant (one line per variant); '' never stays: the variants migration fills it. */
    variantId: text("variant_id").notNull().default(""),
    quantity: integer("quantity").notNull(),
    amountCents: integer("amount_cents").notNull(),
    restock: integer("restock", { mode: "boolean" }).notNull().default(false),
    restockedAt: text("restocked_at"),
  },
  (t) => [
    uniqueIndex("order_refund_lines_refund_variant_unique").on(t.refundId, t.variantId),
    index("order_refund_lines_order_variant_idx").on(t.orderId, t.variantId),
    check("order_refund_lines_quantity_positive", sql`${t.quantity} > 0`),
    check("order_refund_lines_amount_nonnegative", sql`${t.amountCents} >= 0`),
  ],
);
export type OrderRefundLineRow = typeof orderRefundLines.$inferSelect;

/**
 * Disputes (chargebacks) of an order's charge, as the provider last described them: one row per
 * dispute id, brought up to date by every reconciliation (src/checkout/reconcile.ts).
 */
export const orderDisputes = sqliteTable(
  "order_disputes",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    amountCents: integer("amount_cents").notNull(),
    currency: text("currency").notNull(),
    reason: text("reason").notNull(),
    /** Stripe's Dispute status: warning_needs_response, warning_under_review, warning_closed, needs_response, under_review, won, lost, prevented. */
    status: text("status").notNull(),
    /** Unix seconds: when the evidence is due (null when the provider names no date). */
    evidenceDueBy: integer("evidence_due_by"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("order_disputes_order_idx").on(t.orderId), index("order_disputes_status_idx").on(t.status)],
);
export type OrderDisputeRow = typeof orderDisputes.$inferSelect;

/**
 * Money without a home: a payment the shop received but will not fulfil (its order closed, the
 * payment failed the shop's checks, or no order matches). One row per payment (payment intent, or
 * the session for a payment without one), so staff refund each at most once.
 */
export const strayPayments = sqliteTable(
  "stray_payments",
  {
    /** The payment intent id (or the session id when the payment has none). */
    id: text("id").primaryKey(),
    orderId: text("order_id"),
    sessionId: text("session_id"),
    paymentIntentId: text("payment_intent_id"),
    amountCents: integer("amount_cents").notNull(),
    currency: text("currency").notNull(),
    /** Why the shop kept no order for it: order_expired, order_cancelled, amount_total, shipping_address, unknown_order… */
    reason: text("reason").notNull(),
    /** none → requested (claimed by one staff member) → refunded. */
    refundState: text("refund_state", { enum: ["none", "requested", "refunded"] })
      .notNull()
      .default("none"),
    refundId: text("refund_id"),
    refundedBy: text("refunded_by"),
    receivedAt: text("received_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("stray_payments_state_idx").on(t.refundState, t.receivedAt), index("stray_payments_order_idx").on(t.orderId)],
);
export type StrayPaymentRow = typeof strayPayments.$inferSelect;
