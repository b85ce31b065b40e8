import { and, asc, desc, eq, getTableColumns, sql, type SQL } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/client";
import { products, type ProductRow } from "./schema";
import { imagesJsonColumn } from "./product-images";
import { optionsJsonColumn, variantsJsonColumn } from "./variants";

/** A hit as the listing maps it (queries.ts ProductRowWithVariants): the row, its options and variants as JSON. */
type SearchRow = ProductRow & { optionsJson: string | null; variantsJson: string | null; imagesJson: string | null };

/** The product's columns, its options and variants (one statement), and how many match in all. */
const hitColumns = () => ({
  ...getTableColumns(products),
  optionsJson: optionsJsonColumn.as("options_json"),
  variantsJson: variantsJsonColumn.as("variants_json"),
  imagesJson: imagesJsonColumn.as("images_json"),
  total: sql<number>`count(*) OVER ()`.as("total"),
});

/**
 * The FTS5 index of migration "product_search" (hand-written: drizzle-kit does not generate virtual
 * tables, so this declaration lives here, not in schema.ts, and drizzle-kit never sees it). Row i
 * indexes the product whose rowid is i; triggers keep it in step with products and variants.
 */
const productSearch = sqliteTable("product_search", {
  rowid: integer("rowid").notNull(),
  name: text("name"),
});

/** At most this many words of a search are matched (the rest is ignored): a bounded query whatever the input. */
const MAX_TERMS = 8;
const MAX_TERM_CHARS = 40;

/**
 * A shopper's search as an FTS5 MATCH expression, or null when it holds no word. The input is never
 * FTS syntax: it is cut into words (letters and digits; everything else, including FTS5's quotes,
 * `*`, `^`, `:`, `+`, parentheses and the NEAR/AND/OR/NOT keywords' power, is a separator or just a
 * word) and each word becomes a quoted string with a prefix star (`"mug"*`), all of them required.
 */
export function matchExpression(q: string): string | null {
  const words = q
    .normalize("NFKC")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .slice(0, MAX_TERMS)
    .map((w) => w.slice(0, MAX_TERM_CHARS));
  if (words.length === 0) return null;
  // Words are letters and digits only, so no `"` can be inside; quoting makes NEAR, AND, OR and NOT plain words.
  return words.map((w) => `"${w}"*`).join(" ");
}

/** bm25 weights per indexed column: name, description, skus, vendor, tags, option values. */
const RANK = sql.raw("bm25(product_search, 10.0, 1.0, 8.0, 4.0, 4.0, 3.0)");

/** How a search orders its hits: by relevance (the default) or by the catalog's own sorts. */
export type SearchOrder = "relevance" | "name" | "price-asc" | "price-desc" | "newest";

function orderBy(order: SearchOrder): SQL[] {
  switch (order) {
    case "relevance":
    case "name":
      return [asc(products.name), asc(products.id)];
    case "price-asc":
      return [asc(products.priceCents), asc(products.id)];
    case "price-desc":
      return [desc(products.priceCents), asc(products.id)];
    case "newest":
      return [desc(products.createdAt), desc(products.id)];
  }
}

/**
 * One page of the ACTIVE products matching a search (P04: the join keeps only public products,
 * whatever the index holds), in `order`, with how many match in all. Pages are by offset: a
 * relevance rank is no stable keyset. An input without any word matches nothing.
 */
export async function searchProducts(db: Database, params: SearchParams): Promise<{ rows: SearchRow[]; total: number }> {
  const match = matchExpression(params.q);
  if (match === null) return { rows: [], total: 0 };
  try {
    return await indexedSearch(db, match, params);
  } catch (error) {
    // Only while `db:backup` has the index dropped for an export (scripts/search-index.mjs): search the catalog without it.
    if (!/no such table: product_search/.test(`${error} ${error instanceof Error ? String(error.cause) : ""}`)) throw error;
    return substringSearch(db, params);
  }
}

interface SearchParams {
  q: string;
  category: string | undefined;
  order: SearchOrder;
  offset: number;
  limit: number;
}

async function indexedSearch(db: Database, match: string, params: SearchParams): Promise<{ rows: SearchRow[]; total: number }> {
  // The rank is computed where the index is scanned: FTS5's bm25() cannot run under the outer query's window function.
  const hits = db
    .select({ hit: productSearch.rowid, rank: sql<number>`${RANK}`.as("rank") })
    .from(productSearch)
    .where(sql`${productSearch} MATCH ${match}`)
    .as("hits");
  const where = and(eq(products.status, "active"), params.category === undefined ? undefined : eq(products.category, params.category));
  const order = params.order === "relevance" ? [asc(hits.rank), asc(products.name), asc(products.id)] : orderBy(params.order);
  const rows = await db
    .select(hitColumns())
    .from(hits)
    .innerJoin(products, sql`${products}.rowid = ${hits.hit}`)
    .where(where)
    .orderBy(...order)
    .limit(params.limit)
    .offset(params.offset);
  let total = rows[0]?.total;
  if (total === undefined) {
    // Past the last hit no row carries the total: count without the page.
    const [row] =
      params.offset > 0
        ? await db.select({ n: sql<number>`count(*)` }).from(hits).innerJoin(products, sql`${products}.rowid = ${hits.hit}`).where(where)
        : [{ n: 0 }];
    total = row?.n ?? 0;
  }
  return { rows: rows.map(({ total: _total, ...row }) => row), total };
}

/** The search before the index: the whole query, lower-cased, as a substring of the name or description (bound, never spliced). */
async function substringSearch(db: Database, params: SearchParams): Promise<{ rows: SearchRow[]; total: number }> {
  const q = params.q.toLowerCase();
  const where = and(
    eq(products.status, "active"),
    params.category === undefined ? undefined : eq(products.category, params.category),
    sql`(instr(lower(${products.name}), ${q}) > 0 OR instr(lower(${products.description}), ${q}) > 0)`,
  );
  const rows = await db
    .select(hitColumns())
    .from(products)
    .where(where)
    .orderBy(...orderBy(params.order))
    .limit(params.limit)
    .offset(params.offset);
  return { rows: rows.map(({ total: _total, ...row }) => row), total: rows[0]?.total ?? 0 };
}
