import { sql, type AnyColumn, type SQL } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

/** The database's clock as an ISO 8601 timestamp, for `updated_at`-style columns set in a write. */
export const sqlNowIso = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** Query-builder client: the shop uses `db.select()`/`db.insert()`, never `db.query.*`. */
export type Database = DrizzleD1Database & { $client: D1Database };

/**
 * A drizzle client for this request. Made per request, never held at module level. Without a
 * `schema` option: drizzle would rebuild its relational-query config from every table on each
 * call (5% of a catalog read's CPU), for a `db.query` API the shop does not use.
 */
export function getDb(d1: D1Database): Database {
  return drizzle(d1);
}

const preparedByBinding = new WeakMap<D1Database, Map<string, unknown>>();

/**
 * A drizzle prepared statement for the hottest reads (catalog pages, the session lookup), built
 * once per D1 binding instead of on every request: building a query costs drizzle ~0.3 ms of CPU
 * (docs/benchmarks.md). A prepared statement holds only its SQL and the env's D1 binding (the
 * same object every request of the isolate gets), never request state; values are bound per
 * call through `sql.placeholder`. `name` identifies the statement's shape.
 */
export function preparedStatement<T>(d1: D1Database, name: string, build: (db: Database) => T): T {
  let statements = preparedByBinding.get(d1);
  if (!statements) {
    statements = new Map();
    preparedByBinding.set(d1, statements);
  }
  let statement = statements.get(name) as T | undefined;
  if (statement === undefined) {
    statement = build(drizzle(d1));
    statements.set(name, statement);
  }
  return statement;
}

/**
 * `column IN (the values)` as ONE bound parameter, a JSON array read by `json_each`: D1 binds at
 * most 100 parameters per statement, so `inArray` breaks once a list (a page of 100 products, a
 * shopper's orders) and the statement's other values pass 100. The statement's text is also the
 * same for any number of values. Use it for every list that comes from data or from a request.
 */
export function inList(column: AnyColumn, values: readonly (string | number)[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}
