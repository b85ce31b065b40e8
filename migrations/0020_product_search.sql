-- Catalog search (issue 31): an FTS5 index over each product's name, description, SKUs, vendor, tags
-- and option values. Hand-written: drizzle-kit cannot generate virtual tables (it does not know this
-- table; nothing in src/*/schema.ts declares it). Row i of the index is product rowid i. It indexes
-- every product whatever its status: the query joins `products` and keeps only active ones (P04),
-- so a stale or hostile index row can never show a product that is not public.
-- Tokenizer: porter stems English plurals and suffixes ("mugs" finds "mug"); unicode61 with
-- remove_diacritics 2 folds case and accents ("creme" finds "Crème"); prefix indexes make "mu*" fast.
-- Kept in sync by the triggers below, whoever writes (staff API, import, checkout, a script).
-- A restore from a `wrangler d1 export` dump (which cannot hold virtual tables) recreates and
-- fills it with scripts/search-index.sql (docs/operations.md).
CREATE VIRTUAL TABLE `product_search` USING fts5(
	`name`, `description`, `skus`, `vendor`, `tags`, `option_values`,
	tokenize = 'porter unicode61 remove_diacritics 2',
	prefix = '2 3'
);
--> statement-breakpoint
INSERT INTO `product_search` (`rowid`, `name`, `description`, `skus`, `vendor`, `tags`, `option_values`)
	SELECT p.`rowid`, p.`name`, p.`description`,
		(SELECT coalesce(group_concat(v.`sku`, ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`),
		coalesce(p.`vendor`, ''),
		(SELECT coalesce(group_concat(t.`value`, ' '), '') FROM json_each(CASE WHEN json_valid(p.`tags`) THEN p.`tags` ELSE '[]' END) t),
		(SELECT coalesce(group_concat(trim(v.`option1` || ' ' || v.`option2` || ' ' || v.`option3`), ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`)
	FROM `products` p;
--> statement-breakpoint
CREATE TRIGGER `product_search_on_product_insert` AFTER INSERT ON `products`
BEGIN
	DELETE FROM `product_search` WHERE `rowid` = (SELECT `rowid` FROM `products` WHERE `id` = NEW.`id`);
	INSERT INTO `product_search` (`rowid`, `name`, `description`, `skus`, `vendor`, `tags`, `option_values`)
		SELECT p.`rowid`, p.`name`, p.`description`,
			(SELECT coalesce(group_concat(v.`sku`, ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`),
			coalesce(p.`vendor`, ''),
			(SELECT coalesce(group_concat(t.`value`, ' '), '') FROM json_each(CASE WHEN json_valid(p.`tags`) THEN p.`tags` ELSE '[]' END) t),
			(SELECT coalesce(group_concat(trim(v.`option1` || ' ' || v.`option2` || ' ' || v.`option3`), ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`)
		FROM `products` p WHERE p.`id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_search_on_product_update` AFTER UPDATE OF `name`, `description`, `vendor`, `tags` ON `products`
BEGIN
	DELETE FROM `product_search` WHERE `rowid` = (SELECT `rowid` FROM `products` WHERE `id` = NEW.`id`);
	INSERT INTO `product_search` (`rowid`, `name`, `description`, `skus`, `vendor`, `tags`, `option_values`)
		SELECT p.`rowid`, p.`name`, p.`description`,
			(SELECT coalesce(group_concat(v.`sku`, ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`),
			coalesce(p.`vendor`, ''),
			(SELECT coalesce(group_concat(t.`value`, ' '), '') FROM json_each(CASE WHEN json_valid(p.`tags`) THEN p.`tags` ELSE '[]' END) t),
			(SELECT coalesce(group_concat(trim(v.`option1` || ' ' || v.`option2` || ' ' || v.`option3`), ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`)
		FROM `products` p WHERE p.`id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_search_on_product_delete` AFTER DELETE ON `products`
BEGIN
	DELETE FROM `product_search` WHERE `rowid` = OLD.`rowid`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_search_on_variant_insert` AFTER INSERT ON `product_variants`
BEGIN
	DELETE FROM `product_search` WHERE `rowid` = (SELECT `rowid` FROM `products` WHERE `id` = NEW.`product_id`);
	INSERT INTO `product_search` (`rowid`, `name`, `description`, `skus`, `vendor`, `tags`, `option_values`)
		SELECT p.`rowid`, p.`name`, p.`description`,
			(SELECT coalesce(group_concat(v.`sku`, ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`),
			coalesce(p.`vendor`, ''),
			(SELECT coalesce(group_concat(t.`value`, ' '), '') FROM json_each(CASE WHEN json_valid(p.`tags`) THEN p.`tags` ELSE '[]' END) t),
			(SELECT coalesce(group_concat(trim(v.`option1` || ' ' || v.`option2` || ' ' || v.`option3`), ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`)
		FROM `products` p WHERE p.`id` = NEW.`product_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_search_on_variant_update` AFTER UPDATE OF `sku`, `option1`, `option2`, `option3` ON `product_variants`
BEGIN
	DELETE FROM `product_search` WHERE `rowid` = (SELECT `rowid` FROM `products` WHERE `id` = NEW.`product_id`);
	INSERT INTO `product_search` (`rowid`, `name`, `description`, `skus`, `vendor`, `tags`, `option_values`)
		SELECT p.`rowid`, p.`name`, p.`description`,
			(SELECT coalesce(group_concat(v.`sku`, ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`),
			coalesce(p.`vendor`, ''),
			(SELECT coalesce(group_concat(t.`value`, ' '), '') FROM json_each(CASE WHEN json_valid(p.`tags`) THEN p.`tags` ELSE '[]' END) t),
			(SELECT coalesce(group_concat(trim(v.`option1` || ' ' || v.`option2` || ' ' || v.`option3`), ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`)
		FROM `products` p WHERE p.`id` = NEW.`product_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_search_on_variant_delete` AFTER DELETE ON `product_variants`
BEGIN
	DELETE FROM `product_search` WHERE `rowid` = (SELECT `rowid` FROM `products` WHERE `id` = OLD.`product_id`);
	INSERT INTO `product_search` (`rowid`, `name`, `description`, `skus`, `vendor`, `tags`, `option_values`)
		SELECT p.`rowid`, p.`name`, p.`description`,
			(SELECT coalesce(group_concat(v.`sku`, ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`),
			coalesce(p.`vendor`, ''),
			(SELECT coalesce(group_concat(t.`value`, ' '), '') FROM json_each(CASE WHEN json_valid(p.`tags`) THEN p.`tags` ELSE '[]' END) t),
			(SELECT coalesce(group_concat(trim(v.`option1` || ' ' || v.`option2` || ' ' || v.`option3`), ' '), '') FROM `product_variants` v WHERE v.`product_id` = p.`id`)
		FROM `products` p WHERE p.`id` = OLD.`product_id`;
END;
