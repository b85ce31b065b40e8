ALTER TABLE `audit_events` ADD `key_id` text;--> statement-breakpoint
CREATE INDEX `audit_events_action_idx` ON `audit_events` (`action`,`id`);