ALTER TABLE `orders` ADD `guest_key_version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Guest orders from before key versions keep their 90-day links (version 0) until those expire, are revoked or the order is claimed.
UPDATE `orders` SET `guest_key_version` = 0 WHERE `guest_access_expires_at` IS NOT NULL;
