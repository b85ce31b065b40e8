import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Shipping rates staff manage. A rate is offered at checkout only while active and only for
 * carts in its currency; its amount is copied onto the order and passed to Stripe Checkout as the
 * session's one `shipping_options` entry, then checked again in the webhook (P15). Never from the
 * client: the shopper names a rate by id, the price comes from this row.
 */
export const shippingRates = sqliteTable(
  "shipping_rates",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    amountCents: integer("amount_cents").notNull(),
    currency: text("currency").notNull(),
    /** Business days, as Stripe's `delivery_estimate`; null: no estimate shown. */
    minDays: integer("min_days"),
    maxDays: integer("max_days"),
    /** Free when the goods (after discount) cost at least this much; null: never free. */
    freeAboveCents: integer("free_above_cents"),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    sortOrder: integer("sort_order").notNull().default(0),
    createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
    updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  },
  (t) => [
    index("shipping_rates_active_idx").on(t.active, t.currency, t.sortOrder),
    check("shipping_rates_amount_nonnegative", sql`${t.amountCents} >= 0`),
    check("shipping_rates_free_above_nonnegative", sql`${t.freeAboveCents} IS NULL OR ${t.freeAboveCents} >= 0`),
    check("shipping_rates_days", sql`(${t.minDays} IS NULL OR ${t.minDays} >= 0) AND (${t.maxDays} IS NULL OR ${t.maxDays} >= coalesce(${t.minDays}, 0))`),
  ],
);

export type ShippingRateRow = typeof shippingRates.$inferSelect;
