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
CREATE INDEX `mailbox_proofs_customer_idx` ON `mailbox_proofs` (`customer_key`);