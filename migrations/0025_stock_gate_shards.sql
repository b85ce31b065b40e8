-- Hand-written (drizzle-kit would rebuild product_variants, dropping its ledger and catalog-version
-- triggers): one column, added in place, with its range check (decision 028).
ALTER TABLE `product_variants` ADD COLUMN `gate_shards` integer DEFAULT 1 NOT NULL CONSTRAINT "product_variants_gate_shards_range" CHECK(`gate_shards` BETWEEN 1 AND 8);
