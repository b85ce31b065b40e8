import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

/** Query-builder client: the shop uses `db.select()`/`db.insert()`, never `db.query.*`. */
export type Database = DrizzleD1Database;

/**
 * A drizzle client for this request. Made per request, never held at module level. Without a
 * `schema` option: drizzle would rebuild its relational-query config from every table on each
 * call (5% of a catalog read's CPU), for a `db.query` API the shop does not use.
 */
export function getDb(d1: D1Database): Database {
  return drizzle(d1);
}
