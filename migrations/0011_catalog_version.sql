CREATE TABLE `catalog_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`version` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `catalog_state` (`id`, `version`) VALUES (1, lower(hex(randomblob(8))));
--> statement-breakpoint
-- Every change a shared page shows gives the catalog a new version (decision 017), whoever writes.
CREATE TRIGGER `catalog_version_on_insert` AFTER INSERT ON `products`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_delete` AFTER DELETE ON `products`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
-- Stock moves with every checkout; pages show only whether it is above zero.
CREATE TRIGGER `catalog_version_on_update` AFTER UPDATE ON `products`
WHEN OLD.`slug` IS NOT NEW.`slug` OR OLD.`name` IS NOT NEW.`name` OR OLD.`description` IS NOT NEW.`description`
	OR OLD.`price_cents` IS NOT NEW.`price_cents` OR OLD.`currency` IS NOT NEW.`currency` OR OLD.`hidden` IS NOT NEW.`hidden`
	OR OLD.`image_url` IS NOT NEW.`image_url` OR OLD.`updated_at` IS NOT NEW.`updated_at` OR (OLD.`stock` > 0) IS NOT (NEW.`stock` > 0)
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
