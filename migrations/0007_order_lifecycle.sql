ALTER TABLE `orders` ADD `payment_expires_at` integer;--> statement-breakpoint
ALTER TABLE `orders` ADD `payment_in_flight` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `coupon_over_redeemed` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `orders_status_expires_idx` ON `orders` (`status`,`payment_expires_at`);--> statement-breakpoint
CREATE INDEX `order_lines_product_idx` ON `order_lines` (`product_id`);