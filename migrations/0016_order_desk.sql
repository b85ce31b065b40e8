CREATE TABLE `order_counters` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `order_refund_lines` (
	`refund_id` text NOT NULL,
	`order_id` text NOT NULL,
	`product_id` text NOT NULL,
	`quantity` integer NOT NULL,
	`amount_cents` integer NOT NULL,
	`restock` integer DEFAULT false NOT NULL,
	`restocked_at` text,
	FOREIGN KEY (`refund_id`) REFERENCES `order_refunds`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "order_refund_lines_quantity_positive" CHECK("order_refund_lines"."quantity" > 0),
	CONSTRAINT "order_refund_lines_amount_nonnegative" CHECK("order_refund_lines"."amount_cents" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `order_refund_lines_refund_product_unique` ON `order_refund_lines` (`refund_id`,`product_id`);--> statement-breakpoint
CREATE INDEX `order_refund_lines_order_product_idx` ON `order_refund_lines` (`order_id`,`product_id`);--> statement-breakpoint
CREATE TABLE `session_step_up` (
	`session_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`method` text NOT NULL,
	`verified_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `orders` ADD `number` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `orders_number_unique` ON `orders` (`number`);--> statement-breakpoint
CREATE INDEX `orders_paid_at_idx` ON `orders` (`paid_at`);--> statement-breakpoint
-- Hand-written (issue 32, decision 022): number the existing orders by age from #1001, start the
-- counter after the last one, and let the database give every new order the next number as the row
-- is inserted (the trigger runs inside the INSERT, so two checkouts at once never share a number).
UPDATE `orders` SET `number` = 1000 + (SELECT COUNT(*) FROM `orders` AS `o` WHERE `o`.`created_at` < `orders`.`created_at` OR (`o`.`created_at` = `orders`.`created_at` AND `o`.`id` <= `orders`.`id`));--> statement-breakpoint
INSERT INTO `order_counters` (`name`, `value`) SELECT 'orders', COALESCE(MAX(`number`), 1000) FROM `orders`;--> statement-breakpoint
CREATE TRIGGER `orders_assign_number` AFTER INSERT ON `orders` FOR EACH ROW WHEN NEW.`number` IS NULL BEGIN UPDATE `order_counters` SET `value` = `value` + 1 WHERE `name` = 'orders'; UPDATE `orders` SET `number` = (SELECT `value` FROM `order_counters` WHERE `name` = 'orders') WHERE `id` = NEW.`id`; END;
