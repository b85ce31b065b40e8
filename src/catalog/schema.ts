import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Products of the catalog. Prices are integer minor units; D1 is the only source of prices. */
export const products = sqliteTable(
  "products",
  {
    id: text("id").primaryKey(),
    slug: text("slug").notNull().unique(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    priceCents: integer("price_cents").notNull(),
    currency: text("currency").notNull().default("USD"),
    stock: integer("stock").notNull().default(0),
    hidden: integer("hidden", { mode: "boolean" }).notNull().default(false),
    imageUrl: text("image_url"),
    /** A category's slug (lower-case words and hyphens); null: uncategorised. */
    category: text("category"),
    /** Stripe Tax product tax code (`txcd_…`); null: the account's default. */
    taxCode: text("tax_code"),
    createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
    updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  },
  (t) => [
    index("products_visible_name_idx").on(t.hidden, t.name, t.id),
    index("products_visible_category_idx").on(t.hidden, t.category, t.name),
    check("products_price_nonnegative", sql`${t.priceCents} >= 0`),
    check("products_stock_nonnegative", sql`${t.stock} >= 0`),
  ],
);

export type ProductRow = typeof products.$inferSelect;

/**
 * One row: the catalog's version, folded into every shared page's cache key (decision 017).
 * Triggers on `products` (migration 0011) give it a new random value on every change a page
 * shows (any insert or delete; an update of what a visitor sees, or stock crossing zero), whoever
 * writes: the admin API, checkout, a restock, a script. Random, not a counter, so a database
 * restored from a backup never reuses a version that named other content.
 */
export const catalogState = sqliteTable("catalog_state", {
  id: integer("id").primaryKey(),
  version: text("version").notNull(),
});
