CREATE TABLE `shipping_rates` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`currency` text NOT NULL,
	`min_days` integer,
	`max_days` integer,
	`free_above_cents` integer,
	`active` integer DEFAULT true NOT NULL,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	CONSTRAINT "shipping_rates_amount_nonnegative" CHECK("shipping_rates"."amount_cents" >= 0),
	CONSTRAINT "shipping_rates_free_above_nonnegative" CHECK("shipping_rates"."free_above_cents" IS NULL OR "shipping_rates"."free_above_cents" >= 0),
	CONSTRAINT "shipping_rates_days" CHECK(("shipping_rates"."min_days" IS NULL OR "shipping_rates"."min_days" >= 0) AND ("shipping_rates"."max_days" IS NULL OR "shipping_rates"."max_days" >= coalesce("shipping_rates"."min_days", 0)))
);
--> statement-breakpoint
CREATE INDEX `shipping_rates_active_idx` ON `shipping_rates` (`active`,`currency`,`sort_order`);--> statement-breakpoint
ALTER TABLE `products` ADD `category` text;--> statement-breakpoint
ALTER TABLE `products` ADD `tax_code` text;--> statement-breakpoint
CREATE INDEX `products_visible_category_idx` ON `products` (`hidden`,`category`,`name`);--> statement-breakpoint
-- Columns are added in place (never a table rebuild: D1 ignores PRAGMA foreign_keys=OFF, so dropping
-- orders would cascade to order_lines and order_refunds). The CHECKs ride on the column definitions.
ALTER TABLE `orders` ADD `customer_email` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `coupon_customer` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `cart_object_id` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `guest_access_expires_at` integer;--> statement-breakpoint
ALTER TABLE `orders` ADD `shipping_rate_id` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `shipping_rate_name` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `shipping_cents` integer DEFAULT 0 NOT NULL CONSTRAINT "orders_shipping_nonnegative" CHECK(`shipping_cents` >= 0);--> statement-breakpoint
ALTER TABLE `orders` ADD `tax_cents` integer DEFAULT 0 NOT NULL CONSTRAINT "orders_tax_nonnegative" CHECK(`tax_cents` >= 0);--> statement-breakpoint
ALTER TABLE `orders` ADD `tax_mode` text DEFAULT 'off' NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `shipping_address` text;--> statement-breakpoint
CREATE INDEX `orders_customer_email_idx` ON `orders` (`customer_email`);--> statement-breakpoint
-- A product's category and tax code are on its pages and in the catalog API: changing them changes the catalog version too.
DROP TRIGGER IF EXISTS `catalog_version_on_update`;--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_update` AFTER UPDATE ON `products`
WHEN OLD.`slug` IS NOT NEW.`slug` OR OLD.`name` IS NOT NEW.`name` OR OLD.`description` IS NOT NEW.`description`
	OR OLD.`price_cents` IS NOT NEW.`price_cents` OR OLD.`currency` IS NOT NEW.`currency` OR OLD.`hidden` IS NOT NEW.`hidden`
	OR OLD.`image_url` IS NOT NEW.`image_url` OR OLD.`updated_at` IS NOT NEW.`updated_at` OR (OLD.`stock` > 0) IS NOT (NEW.`stock` > 0)
	OR OLD.`category` IS NOT NEW.`category` OR OLD.`tax_code` IS NOT NEW.`tax_code`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
