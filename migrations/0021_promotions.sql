CREATE TABLE `mailbox_proofs` (
	`cart_key` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`customer_key` text NOT NULL,
	`code_hash` text,
	`code_salt` text,
	`code_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`proven_at` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `mailbox_proofs_customer_idx` ON `mailbox_proofs` (`customer_key`);--> statement-breakpoint
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
ALTER TABLE `orders` ADD `holder_mailbox` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `promotion_id` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `promotion_name` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `promotion_discount_cents` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `opened_from` text;--> statement-breakpoint
CREATE INDEX `orders_holder_mailbox_open_idx` ON `orders` (`holder_mailbox`,`status`);--> statement-breakpoint
CREATE INDEX `orders_opened_from_open_idx` ON `orders` (`opened_from`,`status`);--> statement-breakpoint
CREATE INDEX `orders_cart_object_open_idx` ON `orders` (`cart_object_id`,`status`);--> statement-breakpoint
-- Hand-written (issue 33, hoarding bounds; numbers = HELD_UNIT_LIMITS in src/checkout/held-units.ts):
-- the units one mailbox, one cart and one network address hold in open checkouts. Enforced in the
-- order's own write batch, so concurrent checkouts cannot pass the bound together.
CREATE TRIGGER `order_lines_held_per_mailbox` BEFORE INSERT ON `order_lines`
WHEN (SELECT `holder_mailbox` FROM `orders` WHERE `id` = NEW.`order_id`) IS NOT NULL
  AND NEW.`quantity` + (SELECT coalesce(sum(l.`quantity`), 0) FROM `order_lines` l JOIN `orders` o ON o.`id` = l.`order_id`
    WHERE o.`status` = 'pending' AND o.`payment_expires_at` > unixepoch()
      AND o.`holder_mailbox` = (SELECT `holder_mailbox` FROM `orders` WHERE `id` = NEW.`order_id`)) > 100
BEGIN SELECT RAISE(ABORT, 'held_units_exceeded:mailbox'); END;
--> statement-breakpoint
CREATE TRIGGER `order_lines_held_per_cart` BEFORE INSERT ON `order_lines`
WHEN (SELECT `cart_object_id` FROM `orders` WHERE `id` = NEW.`order_id`) IS NOT NULL
  AND NEW.`quantity` + (SELECT coalesce(sum(l.`quantity`), 0) FROM `order_lines` l JOIN `orders` o ON o.`id` = l.`order_id`
    WHERE o.`status` = 'pending' AND o.`payment_expires_at` > unixepoch()
      AND o.`cart_object_id` = (SELECT `cart_object_id` FROM `orders` WHERE `id` = NEW.`order_id`)) > 100
BEGIN SELECT RAISE(ABORT, 'held_units_exceeded:cart'); END;
--> statement-breakpoint
CREATE TRIGGER `order_lines_held_per_address` BEFORE INSERT ON `order_lines`
WHEN (SELECT `opened_from` FROM `orders` WHERE `id` = NEW.`order_id`) IS NOT NULL
  AND NEW.`quantity` + (SELECT coalesce(sum(l.`quantity`), 0) FROM `order_lines` l JOIN `orders` o ON o.`id` = l.`order_id`
    WHERE o.`status` = 'pending' AND o.`payment_expires_at` > unixepoch()
      AND o.`opened_from` = (SELECT `opened_from` FROM `orders` WHERE `id` = NEW.`order_id`)) > 250
BEGIN SELECT RAISE(ABORT, 'held_units_exceeded:address'); END;
