CREATE TABLE `operator_events` (
	`id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`action` text NOT NULL,
	`subject` text,
	`detail` text DEFAULT '{}' NOT NULL,
	`recorded_at` integer
);
--> statement-breakpoint
CREATE TABLE `session_assurance` (
	`session_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`methods` text NOT NULL,
	`second_factor_at` integer,
	`role_at_sign_in` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `sign_in_pseudonym` (
	`email_key` text PRIMARY KEY NOT NULL,
	`pseudonym` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
