CREATE TABLE `mail_dead_letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text,
	`to` text NOT NULL,
	`subject` text NOT NULL,
	`message` text NOT NULL,
	`attempts` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`resent_at` text
);
--> statement-breakpoint
CREATE TABLE `mail_deliveries` (
	`key` text PRIMARY KEY NOT NULL,
	`delivered_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
ALTER TABLE `mail_outbox` ADD `html` text;