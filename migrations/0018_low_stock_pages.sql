-- Product pages say "Only N left" at or below 5 (LOW_STOCK_LEVEL in src/catalog/queries.ts) and show
-- the shipping rates' delivery estimates: the catalog version (decision 017) now also changes when
-- stock moves at or below that level, and with every shipping rate change, so no shared page shows
-- a stale count or estimate. Above the level, a sale still leaves every page as it was.
DROP TRIGGER IF EXISTS `catalog_version_on_update`;--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_update` AFTER UPDATE ON `products`
WHEN OLD.`slug` IS NOT NEW.`slug` OR OLD.`name` IS NOT NEW.`name` OR OLD.`description` IS NOT NEW.`description`
	OR OLD.`price_cents` IS NOT NEW.`price_cents` OR OLD.`currency` IS NOT NEW.`currency` OR OLD.`hidden` IS NOT NEW.`hidden`
	OR OLD.`image_url` IS NOT NEW.`image_url` OR OLD.`updated_at` IS NOT NEW.`updated_at`
	OR min(max(OLD.`stock`, 0), 6) IS NOT min(max(NEW.`stock`, 0), 6)
	OR OLD.`category` IS NOT NEW.`category` OR OLD.`tax_code` IS NOT NEW.`tax_code`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_rate_insert` AFTER INSERT ON `shipping_rates`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_rate_update` AFTER UPDATE ON `shipping_rates`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_rate_delete` AFTER DELETE ON `shipping_rates`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
