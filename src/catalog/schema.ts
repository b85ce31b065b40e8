import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** Where a product stands: only `active` products are public (P04); `draft` is being made, `archived` is retired. */
export const PRODUCT_STATUSES = ["active", "draft", "archived"] as const;
export type ProductStatus = (typeof PRODUCT_STATUSES)[number];

/**
 * Products of the catalog. Prices are integer minor units; D1 is the only source of prices.
 * What is sold is a product's VARIANTS (decision 025): `price_cents` and `stock` here are a summary
 * of them (the lowest variant price, the sum of their sellable stock), kept by triggers on
 * `product_variants` (migration "variants") for listings, sorting and the catalog version.
 * Nothing writes them directly: write the variants.
 */
export const products = sqliteTable(
  "products",
  {
    id: text("id").primaryKey(),
    slug: text("slug").notNull().unique(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    /** Summary: the lowest price among the product's variants ("from"). */
    priceCents: integer("price_cents").notNull(),
    currency: text("currency").notNull().default("USD"),
    /** Summary: the sum of the variants' sellable stock. */
    stock: integer("stock").notNull().default(0),
    status: text("status", { enum: PRODUCT_STATUSES }).notNull().default("active"),
    imageUrl: text("image_url"),
    /** A category's slug (lower-case words and hyphens); null: uncategorised. */
    category: text("category"),
    /** Stripe Tax product tax code (`txcd_…`); null: the account's default. */
    taxCode: text("tax_code"),
    /** Who makes it (Shopify's Vendor); null: none given. */
    vendor: text("vendor"),
    /** Shopify's product Type, kept as given (the catalog filters by `category`, not by this). */
    productType: text("product_type"),
    /** Tags, a JSON array of distinct trimmed strings (Shopify's comma-separated Tags, split). */
    tags: text("tags").notNull().default("[]"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    index("products_status_name_idx").on(t.status, t.name, t.id),
    index("products_status_category_idx").on(t.status, t.category, t.name),
    check("products_price_nonnegative", sql`${t.priceCents} >= 0`),
    check("products_stock_nonnegative", sql`${t.stock} >= 0`),
    check("products_status_known", sql`${t.status} IN ('active', 'draft', 'archived')`),
  ],
);

export type ProductRow = typeof products.$inferSelect;

/**
 * A product's options (at most three: position 1–3), each a name and its values in the order
 * shoppers see them (a JSON array of distinct strings). A product without options has none and
 * exactly one variant (its default variant, all option values null).
 */
export const productOptions = sqliteTable(
  "product_options",
  {
    productId: text("product_id")
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    name: text("name").notNull(),
    /** JSON array of the values, in display order. */
    values: text("values").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.position] }),
    uniqueIndex("product_options_product_name_unique").on(t.productId, t.name),
    check("product_options_position_range", sql`${t.position} BETWEEN 1 AND 3`),
  ],
);
export type ProductOptionRow = typeof productOptions.$inferSelect;

/**
 * A product's images in display order (lowest `position` first): the first is the main image, and
 * `products.image_url` is always its URL (migration "product_images": a trigger on `products`
 * keeps the first image following a write of `image_url`; image edits write `image_url` back in
 * the same batch). `alt` is plain text (escaped on output, never HTML). A variant may still name
 * an image of its own (`product_variants.image_url`, decision 025).
 */
export const productImages = sqliteTable(
  "product_images",
  {
    id: text("id").primaryKey(),
    productId: text("product_id")
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    alt: text("alt").notNull().default(""),
    position: integer("position").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("product_images_product_idx").on(t.productId, t.position, t.id)],
);
export type ProductImageRow = typeof productImages.$inferSelect;

/** Why a variant's stock moved (the inventory ledger's `reason`). */
export const STOCK_REASONS = [
  "opening_balance", // the migration to variants, or a variant created with stock
  "sale", // a checkout took it (held by a pending order)
  "sale_released", // that order closed unpaid: the hold came back
  "refund_restock", // staff put refunded goods back on the shelf
  "staff_edit", // staff counted and set it
  "import", // a product CSV import set it
] as const;
export type StockReason = (typeof STOCK_REASONS)[number];

/**
 * What is sold: one row per combination of option values a product sells (option1–3 follow the
 * product's options by position). `stock` is SELLABLE
 * (on hand − held by pending orders, docs/decisions/013); its CHECK is the oversell guard: a
 * checkout's batch aborts when any variant would go below zero.
 *
 * Every change of `stock` must say why in the same UPDATE (`stock_reason`, `stock_actor`,
 * `stock_ref`): a trigger refuses a stock change without a reason, writes the inventory ledger
 * row, raises a low-stock alert when the threshold is crossed, and clears the three columns again
 * (decision 025). They are a write-only note, never read as state.
 */
export const productVariants = sqliteTable(
  "product_variants",
  {
    id: text("id").primaryKey(),
    productId: text("product_id")
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    /** Unique in the shop when present (Shopify allows a variant without one). */
    sku: text("sku"),
    /** The value of the product's option 1–3 ('' where the product has fewer options: a unique index cannot compare NULLs). */
    option1: text("option1").notNull().default(""),
    option2: text("option2").notNull().default(""),
    option3: text("option3").notNull().default(""),
    priceCents: integer("price_cents").notNull(),
    /** The "was" price shown struck through; null: none. Never charged. */
    compareAtPriceCents: integer("compare_at_price_cents"),
    stock: integer("stock").notNull().default(0),
    weightGrams: integer("weight_grams"),
    barcode: text("barcode"),
    imageUrl: text("image_url"),
    /** Staff are mailed once when sellable stock falls to or below it; null: no alert. */
    lowStockThreshold: integer("low_stock_threshold"),
    /** Display order among the product's variants. */
    position: integer("position").notNull().default(0),
    /** How many stock-gate objects hold this variant's sellable units (decision 028): 1, or more for a hot variant. */
    gateShards: integer("gate_shards").notNull().default(1),
    stockReason: text("stock_reason", { enum: STOCK_REASONS }),
    stockActor: text("stock_actor"),
    stockRef: text("stock_ref"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("product_variants_sku_unique").on(t.sku),
    uniqueIndex("product_variants_combination_unique").on(t.productId, t.option1, t.option2, t.option3),
    index("product_variants_product_idx").on(t.productId, t.position),
    check("product_variants_price_nonnegative", sql`${t.priceCents} >= 0`),
    check("product_variants_compare_at_nonnegative", sql`${t.compareAtPriceCents} IS NULL OR ${t.compareAtPriceCents} >= 0`),
    check("product_variants_stock_nonnegative", sql`${t.stock} >= 0`),
    check("product_variants_weight_nonnegative", sql`${t.weightGrams} IS NULL OR ${t.weightGrams} >= 0`),
    check("product_variants_gate_shards_range", sql`${t.gateShards} BETWEEN 1 AND 8`),
    check("product_variants_threshold_nonnegative", sql`${t.lowStockThreshold} IS NULL OR ${t.lowStockThreshold} >= 0`),
  ],
);
export type ProductVariantRow = typeof productVariants.$inferSelect;

/**
 * The inventory ledger: one row per change of a variant's sellable stock, written by a trigger on
 * `product_variants` (so no writer can forget it). Append-only; kept when a variant is deleted.
 */
export const inventoryLedger = sqliteTable(
  "inventory_ledger",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    variantId: text("variant_id").notNull(),
    productId: text("product_id").notNull(),
    delta: integer("delta").notNull(),
    /** Sellable stock after the change. */
    stockAfter: integer("stock_after").notNull(),
    reason: text("reason", { enum: STOCK_REASONS }).notNull(),
    /** A staff user id, a shopper's account/guest id, or `system`. */
    actor: text("actor").notNull(),
    /** What caused it: an order id, an import id; null: nothing more. */
    ref: text("ref"),
    at: text("at").notNull().default(now),
  },
  (t) => [index("inventory_ledger_variant_idx").on(t.variantId, t.id), index("inventory_ledger_ref_idx").on(t.ref)],
);
export type InventoryLedgerRow = typeof inventoryLedger.$inferSelect;

/**
 * A variant's sellable stock crossed its low-stock threshold (written by the ledger trigger). One
 * unmailed alert per variant at most: crossings before the mail went out fold into it.
 */
export const lowStockAlerts = sqliteTable(
  "low_stock_alerts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    variantId: text("variant_id").notNull(),
    productId: text("product_id").notNull(),
    stock: integer("stock").notNull(),
    threshold: integer("threshold").notNull(),
    crossedAt: text("crossed_at").notNull().default(now),
    mailedAt: text("mailed_at"),
  },
  (t) => [uniqueIndex("low_stock_alerts_unmailed_unique").on(t.variantId).where(sql`mailed_at IS NULL`)],
);
export type LowStockAlertRow = typeof lowStockAlerts.$inferSelect;

/**
 * One row: the catalog's version, folded into every shared page's cache key (decision 017).
 * Triggers on `products` (migration 0011) give it a new random value on every change a page
 * shows (any insert or delete; an update of what a visitor sees, or stock crossing zero), whoever
 * writes: the admin API, checkout, a restock, a script. Random, not a counter, so a database
 * restored from a backup never reuses a version that named other content. Triggers on
 * `product_variants` and `product_options` (migration "variants") do the same for what a product
 * page shows of them.
 */
export const catalogState = sqliteTable("catalog_state", {
  id: integer("id").primaryKey(),
  version: text("version").notNull(),
});
