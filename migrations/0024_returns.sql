CREATE TABLE `return_lines` (
	`return_id` text NOT NULL,
	`order_id` text NOT NULL,
	`product_id` text NOT NULL,
	`variant_id` text NOT NULL,
	`quantity` integer NOT NULL,
	`restock` integer DEFAULT true NOT NULL,
	PRIMARY KEY(`return_id`, `variant_id`),
	FOREIGN KEY (`return_id`) REFERENCES `return_requests`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "return_lines_quantity_positive" CHECK("return_lines"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE `return_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`order_id` text NOT NULL,
	`status` text DEFAULT 'requested' NOT NULL,
	`reason` text DEFAULT '' NOT NULL,
	`refusal_reason` text,
	`requested_by` text NOT NULL,
	`decided_by` text,
	`decided_at` text,
	`received_by` text,
	`received_at` text,
	`refunded_by` text,
	`refunded_at` text,
	`refund_id` text,
	`refund_cents` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`order_id`) REFERENCES `orders`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "return_requests_refund_nonnegative" CHECK("return_requests"."refund_cents" IS NULL OR "return_requests"."refund_cents" >= 0),
	CONSTRAINT "return_requests_status_known" CHECK("return_requests"."status" IN ('requested', 'approved', 'refused', 'received', 'refunded'))
);
--> statement-breakpoint
CREATE INDEX `return_requests_order_idx` ON `return_requests` (`order_id`);--> statement-breakpoint
CREATE INDEX `return_requests_status_idx` ON `return_requests` (`status`,`created_at`);