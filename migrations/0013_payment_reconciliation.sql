CREATE TABLE `order_disputes` (
	`id` text PRIMARY KEY NOT NULL,
	`order_id` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`currency` text NOT NULL,
	`reason` text NOT NULL,
	`status` text NOT NULL,
	`evidence_due_by` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`order_id`) REFERENCES `orders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `order_disputes_order_idx` ON `order_disputes` (`order_id`);--> statement-breakpoint
CREATE INDEX `order_disputes_status_idx` ON `order_disputes` (`status`);--> statement-breakpoint
CREATE TABLE `stray_payments` (
	`id` text PRIMARY KEY NOT NULL,
	`order_id` text,
	`session_id` text,
	`payment_intent_id` text,
	`amount_cents` integer NOT NULL,
	`currency` text NOT NULL,
	`reason` text NOT NULL,
	`refund_state` text DEFAULT 'none' NOT NULL,
	`refund_id` text,
	`refunded_by` text,
	`received_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `stray_payments_state_idx` ON `stray_payments` (`refund_state`,`received_at`);--> statement-breakpoint
CREATE INDEX `stray_payments_order_idx` ON `stray_payments` (`order_id`);--> statement-breakpoint
ALTER TABLE `order_refunds` ADD `source` text DEFAULT 'staff' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `order_refunds_provider_refund_unique` ON `order_refunds` (`provider_refund_id`);--> statement-breakpoint
-- Columns are added in place (never a table rebuild: D1 ignores PRAGMA foreign_keys=OFF, so dropping
-- orders would cascade to order_lines and order_refunds). The CHECK rides on the column definition.
ALTER TABLE `orders` ADD `refunded_cents` integer DEFAULT 0 NOT NULL CONSTRAINT "orders_refunded_nonnegative" CHECK(`refunded_cents` >= 0);--> statement-breakpoint
ALTER TABLE `orders` ADD `dispute_status` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `ship_to_countries` text;--> statement-breakpoint
CREATE INDEX `orders_payment_intent_idx` ON `orders` (`payment_intent_id`);--> statement-breakpoint
-- What was refunded before this migration: a refunded order in full, a paid one by its finished refunds.
UPDATE `orders` SET `refunded_cents` = `total_cents` WHERE `status` = 'refunded';--> statement-breakpoint
UPDATE `orders` SET `refunded_cents` = min(`total_cents`, (SELECT coalesce(sum(`amount_cents`), 0) FROM `order_refunds` r WHERE r.`order_id` = `orders`.`id` AND r.`state` = 'done')) WHERE `status` = 'paid';--> statement-breakpoint
-- Money after close moves from timeline rows (payment_events kind payment.after_close) to one row per
-- payment intent; a payment recorded twice under two event ids becomes one row. Its refund (a
-- payment.after_close_refund row `<row id>:refund` with the refund id in its detail) carries over.
INSERT OR IGNORE INTO `stray_payments` (`id`, `order_id`, `session_id`, `payment_intent_id`, `amount_cents`, `currency`, `reason`, `refund_state`, `refund_id`, `received_at`, `updated_at`)
SELECT coalesce(json_extract(p.`detail`, '$.paymentIntent'), json_extract(p.`detail`, '$.sessionId'), p.`id`), p.`order_id`, json_extract(p.`detail`, '$.sessionId'),
	json_extract(p.`detail`, '$.paymentIntent'), json_extract(p.`detail`, '$.amountCents'), lower(json_extract(p.`detail`, '$.currency')),
	'order_' || coalesce((SELECT o.`status` FROM `orders` o WHERE o.`id` = p.`order_id`), 'closed'),
	CASE WHEN json_extract(r.`detail`, '$.refundId') IS NOT NULL THEN 'refunded' WHEN r.`id` IS NOT NULL THEN 'requested' ELSE 'none' END,
	json_extract(r.`detail`, '$.refundId'), p.`created_at`, p.`created_at`
FROM `payment_events` p LEFT JOIN `payment_events` r ON r.`id` = p.`id` || ':refund'
WHERE p.`kind` = 'payment.after_close' AND json_extract(p.`detail`, '$.amountCents') IS NOT NULL
ORDER BY (r.`id` IS NULL), p.`created_at`;
