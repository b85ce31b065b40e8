ALTER TABLE `orders` ADD `discount_promotion_id` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `discount_promotion_name` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `discount_promotion_cents` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_promotions` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`currency` text NOT NULL,
	`percent_off` integer,
	`amount_off_cents` integer,
	`min_subtotal_cents` integer,
	`category` text,
	`product_ids` text,
	`starts_at` text,
	`ends_at` text,
	`first_order_only` integer DEFAULT false NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	CONSTRAINT "promotions_min_nonnegative" CHECK("__new_promotions"."min_subtotal_cents" IS NULL OR "__new_promotions"."min_subtotal_cents" >= 0),
	CONSTRAINT "promotions_kind_value" CHECK(("__new_promotions"."kind" = 'free_shipping' AND "__new_promotions"."percent_off" IS NULL AND "__new_promotions"."amount_off_cents" IS NULL) OR ("__new_promotions"."kind" = 'percent_off' AND "__new_promotions"."percent_off" IS NOT NULL AND "__new_promotions"."percent_off" BETWEEN 1 AND 100 AND "__new_promotions"."amount_off_cents" IS NULL) OR ("__new_promotions"."kind" = 'amount_off' AND "__new_promotions"."amount_off_cents" IS NOT NULL AND "__new_promotions"."amount_off_cents" > 0 AND "__new_promotions"."percent_off" IS NULL))
);
--> statement-breakpoint
INSERT INTO `__new_promotions`("id", "name", "kind", "currency", "percent_off", "amount_off_cents", "min_subtotal_cents", "category", "product_ids", "starts_at", "ends_at", "first_order_only", "active", "created_at") SELECT "id", "name", "kind", "currency", NULL, NULL, "min_subtotal_cents", "category", "product_ids", "starts_at", "ends_at", "first_order_only", "active", "created_at" FROM `promotions`;--> statement-breakpoint
DROP TABLE `promotions`;--> statement-breakpoint
ALTER TABLE `__new_promotions` RENAME TO `promotions`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `promotions_active_idx` ON `promotions` (`active`,`currency`);