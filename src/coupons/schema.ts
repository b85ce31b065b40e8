import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/**
 * Coupon definitions. `code` is stored upper-case (normalised on every write and lookup), so
 * `summer10` and `SUMMER10` are one coupon. Exactly one of `percentOff` / `amountOffCents`;
 * an amount is in `currency`. Limits: `maxRedemptions` over everyone, `perCustomerLimit` per
 * account; null means unlimited. Live counts are kept by the CouponObject ledger, not here
 * (docs/decisions/004-coupon-sharding.md).
 */
export const coupons = sqliteTable(
  "coupons",
  {
    code: text("code").primaryKey(),
    percentOff: integer("percent_off"),
    amountOffCents: integer("amount_off_cents"),
    currency: text("currency"),
    maxRedemptions: integer("max_redemptions"),
    perCustomerLimit: integer("per_customer_limit"),
    startsAt: text("starts_at"),
    expiresAt: text("expires_at"),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    check("coupons_code_normalised", sql`${t.code} = upper(${t.code}) AND length(${t.code}) BETWEEN 1 AND 64`),
    check("coupons_one_discount", sql`(${t.percentOff} IS NULL) <> (${t.amountOffCents} IS NULL)`),
    check("coupons_percent_range", sql`${t.percentOff} IS NULL OR (${t.percentOff} BETWEEN 1 AND 100)`),
    check("coupons_amount_positive", sql`${t.amountOffCents} IS NULL OR (${t.amountOffCents} > 0 AND ${t.currency} IS NOT NULL)`),
    check("coupons_max_positive", sql`${t.maxRedemptions} IS NULL OR ${t.maxRedemptions} > 0`),
    check("coupons_per_customer_positive", sql`${t.perCustomerLimit} IS NULL OR ${t.perCustomerLimit} > 0`),
  ],
);

/**
 * Committed redemptions, one per (code, order): what staff look at. Written after the
 * CouponObject ledger commits; the unique index makes a repeated commit a no-op.
 */
export const couponRedemptions = sqliteTable(
  "coupon_redemptions",
  {
    code: text("code").notNull(),
    orderId: text("order_id").notNull(),
    userId: text("user_id").notNull(),
    discountCents: integer("discount_cents"),
    redeemedAt: text("redeemed_at").notNull().default(now),
  },
  (t) => [uniqueIndex("coupon_redemptions_code_order_unique").on(t.code, t.orderId), index("coupon_redemptions_user_idx").on(t.userId, t.code)],
);

export type CouponRow = typeof coupons.$inferSelect;
export type CouponRedemptionRow = typeof couponRedemptions.$inferSelect;

/**
 * A cart's proof of a mailbox (decision 018, issue 33): a guest (or an account whose address is not
 * verified) asks for a one-time code mailed to an address and types it back; from then on that
 * cart's per-customer promotions count the mailbox (`customerKey`), and the order's receipt goes
 * to `email`. One row per cart (`cartKey`: the cart object's id): a new request replaces it. The
 * code is stored only as a salted SHA-256, lives 10 minutes, allows 5 tries and is cleared when
 * used (single use).
 */
export const mailboxProofs = sqliteTable(
  "mailbox_proofs",
  {
    cartKey: text("cart_key").primaryKey(),
    email: text("email").notNull(),
    customerKey: text("customer_key").notNull(),
    codeHash: text("code_hash"),
    codeSalt: text("code_salt"),
    codeExpiresAt: integer("code_expires_at"),
    attempts: integer("attempts").notNull().default(0),
    provenAt: integer("proven_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("mailbox_proofs_customer_idx").on(t.customerKey)],
);

export type MailboxProofRow = typeof mailboxProofs.$inferSelect;

/**
 * Automatic promotions: no code, applied to every cart that meets their conditions (issue 33).
 * Kinds: `free_shipping` (the chosen rate costs nothing), `percent_off` (1–100 % of the eligible
 * goods) and `amount_off` (`amountOffCents`, in `currency`); decision 030 says how they combine.
 * Conditions, all optional: a
 * minimum on the goods after any code's discount (`minSubtotalCents`, in `currency`), products of
 * one `category` or a list of `productIds` (JSON array) in the cart, a window (`startsAt`,
 * `endsAt`, server clock), and `firstOrderOnly` (a proven customer with no paid order yet).
 * Combining: an automatic promotion always combines with the one code a cart may hold.
 */
export const promotions = sqliteTable(
  "promotions",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["free_shipping", "percent_off", "amount_off"] }).notNull(),
    currency: text("currency").notNull(),
    percentOff: integer("percent_off"),
    amountOffCents: integer("amount_off_cents"),
    minSubtotalCents: integer("min_subtotal_cents"),
    category: text("category"),
    productIds: text("product_ids"),
    startsAt: text("starts_at"),
    endsAt: text("ends_at"),
    firstOrderOnly: integer("first_order_only", { mode: "boolean" }).notNull().default(false),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    check("promotions_min_nonnegative", sql`${t.minSubtotalCents} IS NULL OR ${t.minSubtotalCents} >= 0`),
    check(
      "promotions_kind_value",
      sql`(${t.kind} = 'free_shipping' AND ${t.percentOff} IS NULL AND ${t.amountOffCents} IS NULL) OR (${t.kind} = 'percent_off' AND ${t.percentOff} IS NOT NULL AND ${t.percentOff} BETWEEN 1 AND 100 AND ${t.amountOffCents} IS NULL) OR (${t.kind} = 'amount_off' AND ${t.amountOffCents} IS NOT NULL AND ${t.amountOffCents} > 0 AND ${t.percentOff} IS NULL)`,
    ),
    index("promotions_active_idx").on(t.active, t.currency),
  ],
);

export type PromotionRow = typeof promotions.$inferSelect;
