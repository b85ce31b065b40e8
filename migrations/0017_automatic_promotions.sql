CREATE TABLE `promotions` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`currency` text NOT NULL,
	`min_subtotal_cents` integer,
	`category` text,
	`product_ids` text,
	`starts_at` text,
	`ends_at` text,
	`first_order_only` integer DEFAULT false NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	CONSTRAINT "promotions_min_nonnegative" CHECK("promotions"."min_subtotal_cents" IS NULL OR "promotions"."min_subtotal_cents" >= 0)
);
--> statement-breakpoint
CREATE INDEX `promotions_active_idx` ON `promotions` (`active`,`currency`);--> statement-breakpoint
ALTER TABLE `orders` ADD `promotion_id` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `promotion_name` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `promotion_discount_cents` integer DEFAULT 0 NOT NULL;