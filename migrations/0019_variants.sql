-- Options and variants (docs/decisions/025-variants.md). Drizzle's statements are edited by hand where
-- D1 needs it, as in 0012: `products` changes IN PLACE (drizzle wrote a table rebuild, but D1 ignores
-- PRAGMA foreign_keys=OFF and a rebuild drops the catalog-version triggers), its CHECK rides on the
-- column, and `order_lines.variant_id` gets a default so it can be added to a table with rows. The
-- carry-over (one default variant per product, every order line its variant) follows the tables.
ALTER TABLE `products` ADD `status` text DEFAULT 'active' NOT NULL CONSTRAINT "products_status_known" CHECK(`status` IN ('active', 'draft', 'archived'));--> statement-breakpoint
ALTER TABLE `products` ADD `vendor` text;--> statement-breakpoint
ALTER TABLE `products` ADD `product_type` text;--> statement-breakpoint
ALTER TABLE `products` ADD `tags` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
-- A hidden product was not public: it becomes a draft.
UPDATE `products` SET `status` = 'draft' WHERE `hidden` = 1;--> statement-breakpoint
-- `hidden` goes (status says it); SQLite drops a column only when no index or trigger names it.
DROP TRIGGER IF EXISTS `catalog_version_on_update`;--> statement-breakpoint
DROP INDEX `products_visible_name_idx`;--> statement-breakpoint
DROP INDEX `products_visible_category_idx`;--> statement-breakpoint
ALTER TABLE `products` DROP COLUMN `hidden`;--> statement-breakpoint
CREATE INDEX `products_status_name_idx` ON `products` (`status`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `products_status_category_idx` ON `products` (`status`,`category`,`name`);--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_update` AFTER UPDATE ON `products`
WHEN OLD.`slug` IS NOT NEW.`slug` OR OLD.`name` IS NOT NEW.`name` OR OLD.`description` IS NOT NEW.`description`
	OR OLD.`price_cents` IS NOT NEW.`price_cents` OR OLD.`currency` IS NOT NEW.`currency` OR OLD.`status` IS NOT NEW.`status`
	OR OLD.`image_url` IS NOT NEW.`image_url` OR OLD.`updated_at` IS NOT NEW.`updated_at` OR min(max(OLD.`stock`, 0), 6) IS NOT min(max(NEW.`stock`, 0), 6)
	OR OLD.`category` IS NOT NEW.`category` OR OLD.`tax_code` IS NOT NEW.`tax_code`
	OR OLD.`vendor` IS NOT NEW.`vendor` OR OLD.`product_type` IS NOT NEW.`product_type` OR OLD.`tags` IS NOT NEW.`tags`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TABLE `inventory_ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`variant_id` text NOT NULL,
	`product_id` text NOT NULL,
	`delta` integer NOT NULL,
	`stock_after` integer NOT NULL,
	`reason` text NOT NULL,
	`actor` text NOT NULL,
	`ref` text,
	`at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `inventory_ledger_variant_idx` ON `inventory_ledger` (`variant_id`,`id`);--> statement-breakpoint
CREATE INDEX `inventory_ledger_ref_idx` ON `inventory_ledger` (`ref`);--> statement-breakpoint
CREATE TABLE `low_stock_alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`variant_id` text NOT NULL,
	`product_id` text NOT NULL,
	`stock` integer NOT NULL,
	`threshold` integer NOT NULL,
	`crossed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`mailed_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `low_stock_alerts_unmailed_unique` ON `low_stock_alerts` (`variant_id`) WHERE mailed_at IS NULL;--> statement-breakpoint
CREATE TABLE `product_options` (
	`product_id` text NOT NULL,
	`position` integer NOT NULL,
	`name` text NOT NULL,
	`values` text NOT NULL,
	PRIMARY KEY(`product_id`, `position`),
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "product_options_position_range" CHECK("product_options"."position" BETWEEN 1 AND 3)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `product_options_product_name_unique` ON `product_options` (`product_id`,`name`);--> statement-breakpoint
CREATE TABLE `product_variants` (
	`id` text PRIMARY KEY NOT NULL,
	`product_id` text NOT NULL,
	`sku` text,
	`option1` text DEFAULT '' NOT NULL,
	`option2` text DEFAULT '' NOT NULL,
	`option3` text DEFAULT '' NOT NULL,
	`price_cents` integer NOT NULL,
	`compare_at_price_cents` integer,
	`stock` integer DEFAULT 0 NOT NULL,
	`weight_grams` integer,
	`barcode` text,
	`image_url` text,
	`low_stock_threshold` integer,
	`position` integer DEFAULT 0 NOT NULL,
	`stock_reason` text,
	`stock_actor` text,
	`stock_ref` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "product_variants_price_nonnegative" CHECK("product_variants"."price_cents" >= 0),
	CONSTRAINT "product_variants_compare_at_nonnegative" CHECK("product_variants"."compare_at_price_cents" IS NULL OR "product_variants"."compare_at_price_cents" >= 0),
	CONSTRAINT "product_variants_stock_nonnegative" CHECK("product_variants"."stock" >= 0),
	CONSTRAINT "product_variants_weight_nonnegative" CHECK("product_variants"."weight_grams" IS NULL OR "product_variants"."weight_grams" >= 0),
	CONSTRAINT "product_variants_threshold_nonnegative" CHECK("product_variants"."low_stock_threshold" IS NULL OR "product_variants"."low_stock_threshold" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `product_variants_sku_unique` ON `product_variants` (`sku`);--> statement-breakpoint
CREATE UNIQUE INDEX `product_variants_combination_unique` ON `product_variants` (`product_id`,`option1`,`option2`,`option3`);--> statement-breakpoint
CREATE INDEX `product_variants_product_idx` ON `product_variants` (`product_id`,`position`);--> statement-breakpoint
ALTER TABLE `order_lines` ADD `variant_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `order_lines` ADD `sku` text;--> statement-breakpoint
ALTER TABLE `order_lines` ADD `option_values` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
-- A stock change must say why, in the same UPDATE (stock_reason, stock_actor): the ledger is complete by construction.
CREATE TRIGGER `product_variants_stock_reason_required` BEFORE UPDATE OF `stock` ON `product_variants`
WHEN NEW.`stock` IS NOT OLD.`stock` AND (NEW.`stock_reason` IS NULL OR NEW.`stock_actor` IS NULL)
BEGIN
	SELECT RAISE(ABORT, 'inventory_reason_required');
END;
--> statement-breakpoint
-- The ledger row, the low-stock alert (one unmailed alert per variant) and the product's summary stock.
CREATE TRIGGER `product_variants_stock_moved` AFTER UPDATE OF `stock` ON `product_variants`
WHEN NEW.`stock` IS NOT OLD.`stock`
BEGIN
	INSERT INTO `inventory_ledger` (`variant_id`, `product_id`, `delta`, `stock_after`, `reason`, `actor`, `ref`)
		VALUES (NEW.`id`, NEW.`product_id`, NEW.`stock` - OLD.`stock`, NEW.`stock`, NEW.`stock_reason`, NEW.`stock_actor`, NEW.`stock_ref`);
	INSERT INTO `low_stock_alerts` (`variant_id`, `product_id`, `stock`, `threshold`)
		SELECT NEW.`id`, NEW.`product_id`, NEW.`stock`, NEW.`low_stock_threshold`
		WHERE NEW.`low_stock_threshold` IS NOT NULL AND OLD.`stock` > NEW.`low_stock_threshold` AND NEW.`stock` <= NEW.`low_stock_threshold`
			AND NOT EXISTS (SELECT 1 FROM `low_stock_alerts` WHERE `variant_id` = NEW.`id` AND `mailed_at` IS NULL);
	UPDATE `products` SET `stock` = (SELECT coalesce(sum(`stock`), 0) FROM `product_variants` WHERE `product_id` = NEW.`product_id`) WHERE `id` = NEW.`product_id`;
END;
--> statement-breakpoint
-- The note is for one change only: cleared at once, so the next writer must give its own.
CREATE TRIGGER `product_variants_stock_note_cleared` AFTER UPDATE ON `product_variants`
WHEN NEW.`stock_reason` IS NOT NULL OR NEW.`stock_actor` IS NOT NULL OR NEW.`stock_ref` IS NOT NULL
BEGIN
	UPDATE `product_variants` SET `stock_reason` = NULL, `stock_actor` = NULL, `stock_ref` = NULL WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_variants_inserted` AFTER INSERT ON `product_variants`
BEGIN
	INSERT INTO `inventory_ledger` (`variant_id`, `product_id`, `delta`, `stock_after`, `reason`, `actor`, `ref`)
		SELECT NEW.`id`, NEW.`product_id`, NEW.`stock`, NEW.`stock`, coalesce(NEW.`stock_reason`, 'opening_balance'), coalesce(NEW.`stock_actor`, 'system'), NEW.`stock_ref`
		WHERE NEW.`stock` <> 0;
	UPDATE `product_variants` SET `stock_reason` = NULL, `stock_actor` = NULL, `stock_ref` = NULL
		WHERE `id` = NEW.`id` AND (NEW.`stock_reason` IS NOT NULL OR NEW.`stock_actor` IS NOT NULL OR NEW.`stock_ref` IS NOT NULL);
	UPDATE `products` SET
		`price_cents` = (SELECT min(`price_cents`) FROM `product_variants` WHERE `product_id` = NEW.`product_id`),
		`stock` = (SELECT coalesce(sum(`stock`), 0) FROM `product_variants` WHERE `product_id` = NEW.`product_id`)
		WHERE `id` = NEW.`product_id`;
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `product_variants_price_changed` AFTER UPDATE OF `price_cents` ON `product_variants`
WHEN NEW.`price_cents` IS NOT OLD.`price_cents`
BEGIN
	UPDATE `products` SET `price_cents` = (SELECT min(`price_cents`) FROM `product_variants` WHERE `product_id` = NEW.`product_id`) WHERE `id` = NEW.`product_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_variants_deleted` AFTER DELETE ON `product_variants`
BEGIN
	UPDATE `products` SET
		`price_cents` = coalesce((SELECT min(`price_cents`) FROM `product_variants` WHERE `product_id` = OLD.`product_id`), `price_cents`),
		`stock` = (SELECT coalesce(sum(`stock`), 0) FROM `product_variants` WHERE `product_id` = OLD.`product_id`)
		WHERE `id` = OLD.`product_id`;
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
-- What a product page shows of its variants and options changes the catalog version (decision 017).
CREATE TRIGGER `catalog_version_on_variant_update` AFTER UPDATE ON `product_variants`
WHEN OLD.`sku` IS NOT NEW.`sku` OR OLD.`option1` IS NOT NEW.`option1` OR OLD.`option2` IS NOT NEW.`option2` OR OLD.`option3` IS NOT NEW.`option3`
	OR OLD.`price_cents` IS NOT NEW.`price_cents` OR OLD.`compare_at_price_cents` IS NOT NEW.`compare_at_price_cents`
	OR OLD.`image_url` IS NOT NEW.`image_url` OR OLD.`position` IS NOT NEW.`position` OR OLD.`updated_at` IS NOT NEW.`updated_at`
	OR min(max(OLD.`stock`, 0), 6) IS NOT min(max(NEW.`stock`, 0), 6)
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_option_insert` AFTER INSERT ON `product_options`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_option_update` AFTER UPDATE ON `product_options`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_option_delete` AFTER DELETE ON `product_options`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
-- Carry-over: every product gets exactly one default variant (id `var_` || product id) with its
-- price and stock; its opening stock is the ledger's first row.
INSERT INTO `product_variants` (`id`, `product_id`, `price_cents`, `stock`, `position`, `stock_reason`, `stock_actor`, `stock_ref`)
	SELECT 'var_' || `id`, `id`, `price_cents`, `stock`, 0, 'opening_balance', 'system', 'migration:variants' FROM `products`;--> statement-breakpoint
-- Every order line sold its product's default variant (a deleted product's line names the id it would have had).
UPDATE `order_lines` SET `variant_id` = 'var_' || `product_id` WHERE `variant_id` = '';--> statement-breakpoint
DROP INDEX `order_lines_order_product_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `order_lines_order_variant_unique` ON `order_lines` (`order_id`,`variant_id`);--> statement-breakpoint
CREATE INDEX `order_lines_variant_idx` ON `order_lines` (`variant_id`);
--> statement-breakpoint
-- A line refund's lines name their order line's variant too (one line per variant): every line
-- refunded before variants refunded its product's default variant. The indexes follow the fill.
DROP INDEX `order_refund_lines_refund_product_unique`;--> statement-breakpoint
DROP INDEX `order_refund_lines_order_product_idx`;--> statement-breakpoint
ALTER TABLE `order_refund_lines` ADD `variant_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `order_refund_lines` SET `variant_id` = 'var_' || `product_id` WHERE `variant_id` = '';--> statement-breakpoint
CREATE UNIQUE INDEX `order_refund_lines_refund_variant_unique` ON `order_refund_lines` (`refund_id`,`variant_id`);--> statement-breakpoint
CREATE INDEX `order_refund_lines_order_variant_idx` ON `order_refund_lines` (`order_id`,`variant_id`);
