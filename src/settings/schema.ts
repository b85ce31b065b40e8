import { sql } from "drizzle-orm";
import { check, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The shop's own settings: one row (id 1), edited by admins on /admin/settings and
 * PUT /api/admin/settings (every change audited). No row yet means the defaults of
 * src/settings/shop-settings.ts. `version` is a new random value on every change: the shared page
 * cache keys pages by it, so a change is never served stale (decision 024).
 */
export const shopSettings = sqliteTable(
  "shop_settings",
  {
    id: integer("id").primaryKey(),
    shopName: text("shop_name").notNull(),
    /** An uploaded image (`/media/products/<sha256>.<ext>`), or null: the shop's name only. */
    logoUrl: text("logo_url"),
    /** `#rrggbb`, readable under white text and on the page background (checked on write). */
    brandColour: text("brand_colour").notNull(),
    accentColour: text("accent_colour").notNull(),
    heroTitle: text("hero_title").notNull(),
    heroText: text("hero_text").notNull(),
    /** JSON array of `{label, href}` (checked on write; a row that breaks the shape reads as none). */
    footerLinks: text("footer_links").notNull().default("[]"),
    contactEmail: text("contact_email"),
    /** A postal address, lines separated by newlines. */
    contactAddress: text("contact_address"),
    defaultCurrency: text("default_currency").notNull(),
    defaultLocale: text("default_locale").notNull(),
    /** Days after delivery a shopper may ask to return goods (the returns domain reads it). */
    returnWindowDays: integer("return_window_days").notNull(),
    /** Policy pages as Markdown (a safe subset: src/settings/markdown.tsx). */
    privacyPolicy: text("privacy_policy").notNull().default(""),
    termsPolicy: text("terms_policy").notNull().default(""),
    shippingPolicy: text("shipping_policy").notNull().default(""),
    returnsPolicy: text("returns_policy").notNull().default(""),
    version: text("version").notNull(),
    updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
    /** The admin who made the last change (null: seeded). */
    updatedBy: text("updated_by"),
  },
  (t) => [
    check("shop_settings_singleton", sql`${t.id} = 1`),
    check("shop_settings_return_window", sql`${t.returnWindowDays} >= 0 AND ${t.returnWindowDays} <= 365`),
  ],
);

export type ShopSettingsRow = typeof shopSettings.$inferSelect;
