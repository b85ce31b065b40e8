// The catalog's FTS5 search index (migration "product_search") around a D1 export: `wrangler d1
// export` refuses a database that holds a virtual table (locally and remotely; `--table` does not
// help remotely: cloudflare/workers-sdk#6305, #9519). The index is derived data (every row comes
// from products and variants), so `db:backup` drops it and its triggers for the export and builds
// it again right after (even when the export fails), and `db:restore` builds it in the restored
// database. Both run the migration's own SQL, so the index has one definition.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** The search index migration next to `config` (migrations/NNNN_product_search.sql), or null when the project has none. */
export function searchIndexMigration(config) {
  const dir = path.join(path.dirname(config ?? "wrangler.toml"), "migrations");
  if (!existsSync(dir)) return null;
  const name = readdirSync(dir).find((f) => /^\d+_product_search\.sql$/.test(f));
  return name ? path.join(dir, name) : null;
}

/** SQL that removes the index and its triggers (names read from the migration), leaving every other table alone. */
export function dropSearchIndexSql(migration) {
  const sql = readFileSync(migration, "utf8");
  const triggers = [...sql.matchAll(/CREATE TRIGGER `([a-z_]+)`/g)].map((m) => m[1]);
  return [...triggers.map((t) => `DROP TRIGGER IF EXISTS \`${t}\`;`), "DROP TABLE IF EXISTS `product_search`;"].join("\n");
}
