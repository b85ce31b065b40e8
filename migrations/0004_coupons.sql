CREATE TABLE `coupon_redemptions` (
	`code` text NOT NULL,
	`order_id` text NOT NULL,
	`user_id` text NOT NULL,
	`discount_cents` integer,
	`redeemed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `coupon_redemptions_code_order_unique` ON `coupon_redemptions` (`code`,`order_id`);--> statement-breakpoint
CREATE INDEX `coupon_redemptions_user_idx` ON `coupon_redemptions` (`user_id`,`code`);--> statement-breakpoint
CREATE TABLE `coupons` (
	`code` text PRIMARY KEY NOT NULL,
	`percent_off` integer,
	`amount_off_cents` integer,
	`currency` text,
	`max_redemptions` integer,
	`per_customer_limit` integer,
	`starts_at` text,
	`expires_at` text,
	`active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	CONSTRAINT "coupons_code_normalised" CHECK("coupons"."code" = upper("coupons"."code") AND length("coupons"."code") BETWEEN 1 AND 64),
	CONSTRAINT "coupons_one_discount" CHECK(("coupons"."percent_off" IS NULL) <> ("coupons"."amount_off_cents" IS NULL)),
	CONSTRAINT "coupons_percent_range" CHECK("coupons"."percent_off" IS NULL OR ("coupons"."percent_off" BETWEEN 1 AND 100)),
	CONSTRAINT "coupons_amount_positive" CHECK("coupons"."amount_off_cents" IS NULL OR ("coupons"."amount_off_cents" > 0 AND "coupons"."currency" IS NOT NULL)),
	CONSTRAINT "coupons_max_positive" CHECK("coupons"."max_redemptions" IS NULL OR "coupons"."max_redemptions" > 0),
	CONSTRAINT "coupons_per_customer_positive" CHECK("coupons"."per_customer_limit" IS NULL OR "coupons"."per_customer_limit" > 0)
);
