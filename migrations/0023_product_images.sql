CREATE TABLE `product_images` (
	`id` text PRIMARY KEY NOT NULL,
	`product_id` text NOT NULL,
	`url` text NOT NULL,
	`alt` text DEFAULT '' NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `product_images_product_idx` ON `product_images` (`product_id`,`position`,`id`);
--> statement-breakpoint
-- Hand-written (below drizzle's statements). Carry-over: every product's image_url becomes its first image.
INSERT INTO `product_images` (`id`, `product_id`, `url`, `alt`, `position`)
	SELECT 'img_' || `id`, `id`, `image_url`, '', 0 FROM `products` WHERE `image_url` IS NOT NULL;
--> statement-breakpoint
-- `products.image_url` is the first image: whoever writes it (the API, a CSV import, the demo seed)
-- writes the first image with it. Image edits write image_url back to their first image's URL, which
-- these triggers then find already there.
CREATE TRIGGER `product_images_follow_new_product` AFTER INSERT ON `products`
WHEN NEW.`image_url` IS NOT NULL
BEGIN
	INSERT INTO `product_images` (`id`, `product_id`, `url`, `alt`, `position`)
		SELECT 'img_' || lower(hex(randomblob(16))), NEW.`id`, NEW.`image_url`, '', 0
		WHERE NOT EXISTS (SELECT 1 FROM `product_images` WHERE `product_id` = NEW.`id`);
END;
--> statement-breakpoint
CREATE TRIGGER `product_images_follow_main_image` AFTER UPDATE OF `image_url` ON `products`
WHEN NEW.`image_url` IS NOT OLD.`image_url`
BEGIN
	DELETE FROM `product_images` WHERE NEW.`image_url` IS NULL
		AND `id` = (SELECT `id` FROM `product_images` WHERE `product_id` = NEW.`id` ORDER BY `position`, `id` LIMIT 1);
	-- The main image removed: the next one (if any) becomes the main image.
	UPDATE `products` SET `image_url` = (SELECT `url` FROM `product_images` WHERE `product_id` = NEW.`id` ORDER BY `position`, `id` LIMIT 1)
		WHERE NEW.`image_url` IS NULL AND `id` = NEW.`id`;
	UPDATE `product_images` SET `url` = NEW.`image_url` WHERE NEW.`image_url` IS NOT NULL
		AND `id` = (SELECT `id` FROM `product_images` WHERE `product_id` = NEW.`id` ORDER BY `position`, `id` LIMIT 1)
		AND `url` IS NOT NEW.`image_url`;
	INSERT INTO `product_images` (`id`, `product_id`, `url`, `alt`, `position`)
		SELECT 'img_' || lower(hex(randomblob(16))), NEW.`id`, NEW.`image_url`, '', 0
		WHERE NEW.`image_url` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `product_images` WHERE `product_id` = NEW.`id`);
END;
--> statement-breakpoint
-- What a product page shows of its images (order, alt text, thumbnails) changes the catalog version (decision 017).
CREATE TRIGGER `catalog_version_on_image_insert` AFTER INSERT ON `product_images`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_image_update` AFTER UPDATE ON `product_images`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `catalog_version_on_image_delete` AFTER DELETE ON `product_images`
BEGIN
	UPDATE `catalog_state` SET `version` = lower(hex(randomblob(8))) WHERE `id` = 1;
END;
