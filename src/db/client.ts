import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = DrizzleD1Database<typeof schema>;

/** A drizzle client for this request. Made per request, never held at module level. */
export function getDb(d1: D1Database): Database {
  return drizzle(d1, { schema });
}
