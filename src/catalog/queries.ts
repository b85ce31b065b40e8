import { and, asc, desc, eq, getTableColumns, gt, isNotNull, lt, or, type Placeholder, sql, type SQL } from "drizzle-orm";
import { inList, preparedStatement, type Database } from "../db/client";
import { fromBase64Url, toBase64Url } from "../platform/base64url";
import { products, type ProductRow } from "./schema";
import { imagesJsonColumn, parseImagesJson, type ProductImage } from "./product-images";
import { searchProducts } from "./search";
import { LOW_STOCK_LEVEL, optionsJsonColumn, publicOptionsAndVariants, variantsJsonColumn, type ProductOption, type PublicVariant } from "./variants";

/** The shopper-facing shape of a product (API.md). */
export interface Product {
  id: string;
  slug: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  /** The main image: the first of `images` (kept for clients that read one image). */
  imageUrl: string | null;
  /** Every image in display order, with its alt text (plain text). */
  images: ProductImage[];
  inStock: boolean;
  /** How many are left when only a few are (1 to LOW_STOCK_LEVEL), else null: pages say "Only 3 left". */
  lowStock: number | null;
  category: string | null;
  /** Always `active` here: nothing else is public (P04). */
  status: "active";
  options: ProductOption[];
  variants: PublicVariant[];
}

export { LOW_STOCK_LEVEL } from "./variants";

/** A page of products, how many match in all, and the opaque cursor of the next page. */
export interface ProductPage {
  items: Product[];
  nextCursor: string | null;
  /** Every visible product matching the filters (not only this page). */
  total: number;
  /** 0-based position of this page's first product among them. */
  offset: number;
}

/** Orders a shopper can sort the catalog by. */
export const CATALOG_SORTS = ["name", "price-asc", "price-desc", "newest"] as const;
export type CatalogSort = (typeof CATALOG_SORTS)[number];
/** A cursor's order: a sort, or `relevance` (a search's default order, paged by offset). */
export type CursorSort = CatalogSort | "relevance";

/** A category as we make them (like a slug, at most 40 characters). */
export const CATEGORY_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Position after which a page starts: the sort it belongs to, the previous page's last product's
 * sort key (name, price or creation time) and id, and how many products came before.
 */
export interface CatalogCursor {
  sort: CursorSort;
  key: string | number;
  id: string;
  offset: number;
}

/** A product row with its options and variants as the JSON columns of the same statement. */
export type ProductRowWithVariants = ProductRow & { optionsJson: string | null; variantsJson: string | null; imagesJson: string | null };

/** The row's columns plus its options and variants (`ProductRowWithVariants`), for a select. */
const withVariantsColumns = {
  ...getTableColumns(products),
  optionsJson: optionsJsonColumn.as("options_json"),
  variantsJson: variantsJsonColumn.as("variants_json"),
  imagesJson: imagesJsonColumn.as("images_json"),
};

/** Maps a D1 row to what shoppers see: never the stock count (only "a few left"), the status of others, or timestamps. */
export function toProduct(row: ProductRowWithVariants): Product {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    priceCents: row.priceCents,
    currency: row.currency,
    imageUrl: row.imageUrl,
    images: parseImagesJson(row.imagesJson),
    inStock: row.stock > 0,
    lowStock: row.stock > 0 && row.stock <= LOW_STOCK_LEVEL ? row.stock : null,
    category: row.category,
    status: "active",
    ...publicOptionsAndVariants(row.optionsJson, row.variantsJson),
  };
}

/**
 * THE query for every shopper-facing product read (P04). Only `active` products are public; the
 * filter is here, in the data layer, so no route or page can forget it: callers add conditions,
 * never remove this one.
 */
export async function selectVisibleProducts(db: Database, where: SQL | undefined, options: { limit?: number } = {}): Promise<ProductRow[]> {
  const query = visibleProductsQuery(db, where);
  return options.limit === undefined ? query : query.limit(options.limit);
}

/** `selectVisibleProducts` as an unexecuted query, for a `db.batch` (one D1 round trip). */
export function visibleProductsQuery(db: Database, where: SQL | undefined) {
  return db
    .select()
    .from(products)
    .where(and(eq(products.status, "active"), where))
    .orderBy(asc(products.name), asc(products.id));
}

/** Encodes a page position as an opaque base64url string. */
export function encodeCursor(cursor: CatalogCursor): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify([cursor.sort, cursor.key, cursor.id, cursor.offset])));
}

/**
 * Decodes a cursor made by `encodeCursor` (or the older `[name, id]` form); anything else is
 * `null` (the route answers 400). A cursor's key must have the type its sort uses.
 */
export function decodeCursor(raw: string): CatalogCursor | null {
  if (!/^[A-Za-z0-9_-]{1,800}$/.test(raw)) return null;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(raw));
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return null;
    if (value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") return { sort: "name", key: value[0], id: value[1], offset: 0 };
    const [sort, key, id, offset] = value as unknown[];
    if (value.length !== 4 || typeof id !== "string" || !Number.isSafeInteger(offset) || (offset as number) < 0) return null;
    if (sort !== "relevance" && !CATALOG_SORTS.includes(sort as CatalogSort)) return null;
    const numeric = sort === "price-asc" || sort === "price-desc" || sort === "relevance";
    if (numeric ? !Number.isSafeInteger(key) : typeof key !== "string") return null;
    return { sort: sort as CursorSort, key: key as string | number, id, offset: offset as number };
  } catch {
    return null;
  }
}

/** A search as the catalog matches it: NFC, trimmed, inner whitespace collapsed, lower case; empty is none. */
export function normaliseSearch(q: string | undefined): string | undefined {
  return q?.normalize("NFC").trim().replace(/\s+/g, " ").toLowerCase() || undefined;
}

/** A listing in its one form per meaningful page: what `listProducts` would do with it, spelled one way. */
export interface CatalogListing {
  q: string | undefined;
  category: string | undefined;
  /** Undefined for the default order (by name; a search's by relevance). */
  sort: CursorSort | undefined;
  /** Only a cursor of the listing's own order (another order starts over, so its cursor means nothing). */
  cursor: CatalogCursor | null;
  /** The cursor re-encoded: an older or other spelling of the same position is one text. */
  cursorText: string | undefined;
}

/** Normalises a listing's parameters: equal pages get equal parameters (shared-cache keys, decision 017). */
export function normaliseListing(input: {
  q?: string | undefined;
  category?: string | undefined;
  sort?: CursorSort | undefined;
  cursor?: CatalogCursor | null;
}): CatalogListing {
  const q = normaliseSearch(input.q);
  const byDefault: CursorSort = q ? "relevance" : "name";
  const sort: CursorSort = input.sort ?? input.cursor?.sort ?? byDefault;
  const cursor = input.cursor && input.cursor.sort === sort ? input.cursor : null;
  return {
    q,
    category: input.category || undefined,
    sort: sort === byDefault ? undefined : sort,
    cursor,
    cursorText: cursor ? encodeCursor(cursor) : undefined,
  };
}

/** What a catalog listing asks for; every value is bound, never spliced into SQL (P04). */
export interface CatalogQuery {
  q?: string | undefined;
  category?: string | undefined;
  sort?: CursorSort | undefined;
  cursor?: CatalogCursor | null | undefined;
  limit: number;
}

/** The sort's column, for the ORDER BY and the keyset condition after a cursor. */
function sortColumn(sort: CatalogSort) {
  return sort === "name" ? products.name : sort === "newest" ? products.createdAt : products.priceCents;
}

/**
 * Lists visible products matching `q` (the search index: search.ts) and `category`, in the chosen
 * order, one page after `cursor`, with the number that match in all. Without `q`, each shape
 * (filters × sort × cursor) is prepared once per binding (`preparedStatement`); the total is a
 * scalar subquery of the same statement (one round trip).
 */
export async function listProducts(db: Database, params: CatalogQuery): Promise<ProductPage> {
  const q = normaliseSearch(params.q);
  const category = params.category || undefined;
  const cursor = params.cursor ?? null;
  if (q) return listSearch(db, q, category, cursor, params);
  if (params.sort === "relevance") return listProducts(db, { ...params, sort: "name", cursor: null });
  // A cursor belongs to the order it was made in; with another sort it starts over.
  const sort = (params.sort ?? (cursor?.sort === "relevance" ? undefined : cursor?.sort) ?? "name") as CatalogSort;
  const after = cursor && cursor.sort === sort ? cursor : null;
  const shape = `catalog.list:${q ? "q" : ""}:${category ? "c" : ""}:${sort}:${after ? "cursor" : ""}`;
  const statement = preparedStatement(db.$client, shape, (pdb) => {
    const matching = catalogFilter(q ? sql.placeholder("q") : undefined, category ? sql.placeholder("category") : undefined);
    const conditions: SQL[] = [matching];
    const column = sortColumn(sort);
    const descending = sort === "price-desc" || sort === "newest";
    if (after) {
      const key = sql.placeholder("key");
      const id = sql.placeholder("id");
      conditions.push(
        descending
          ? or(lt(column, key), and(eq(column, key), sort === "newest" ? lt(products.id, id) : gt(products.id, id)))!
          : or(gt(column, key), and(eq(column, key), gt(products.id, id)))!,
      );
    }
    const order = sort === "newest" ? [desc(products.createdAt), desc(products.id)] : [descending ? desc(column) : asc(column), asc(products.id)];
    return pdb
      .select({ ...withVariantsColumns, total: sql<number>`(SELECT count(*) FROM ${products} WHERE ${matching})`.as("total") })
      .from(products)
      .where(and(...conditions))
      .orderBy(...order)
      .limit(sql.placeholder("limit"))
      .prepare();
  });
  const rows = await statement.all({ q, category, key: after?.key, id: after?.id, limit: params.limit + 1 });
  const page = rows.slice(0, params.limit);
  const last = page.at(-1);
  const offset = after?.offset ?? 0;
  // Past the last product there is no row to carry the total: count without the page.
  const total = rows[0]?.total ?? (after ? await countVisible(db, q, category) : 0);
  const keyOf = (row: ProductRowWithVariants): string | number => (sort === "name" ? row.name : sort === "newest" ? row.createdAt : row.priceCents);
  return {
    items: page.map(toProduct),
    nextCursor: rows.length > params.limit && last ? encodeCursor({ sort, key: keyOf(last), id: last.id, offset: offset + page.length }) : null,
    total,
    offset,
  };
}

/** A search's page: relevance (or the chosen sort) by offset; the cursor carries the next offset. */
async function listSearch(db: Database, q: string, category: string | undefined, cursor: CatalogCursor | null, params: CatalogQuery): Promise<ProductPage> {
  const order: CursorSort = params.sort ?? cursor?.sort ?? "relevance";
  const offset = cursor && cursor.sort === order ? cursor.offset : 0;
  const { rows, total } = await searchProducts(db, { q, category, order, offset, limit: params.limit + 1 });
  const page = rows.slice(0, params.limit);
  const last = page.at(-1);
  const next = offset + page.length;
  return {
    items: page.map(toProduct),
    nextCursor:
      rows.length > params.limit && last
        ? encodeCursor({ sort: order, key: order === "relevance" ? next : keyOfRow(order, last), id: last.id, offset: next })
        : null,
    total,
    offset,
  };
}

function keyOfRow(sort: CatalogSort, row: ProductRow): string | number {
  return sort === "name" ? row.name : sort === "newest" ? row.createdAt : row.priceCents;
}

async function countVisible(db: Database, q: string | undefined, category: string | undefined): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(products).where(catalogFilter(q, category));
  return row?.n ?? 0;
}

/**
 * Which visible products a listing shows: `q` (lower-cased) in the name or description, and the
 * category. Values or placeholders of a prepared statement; bound either way, never spliced (P04).
 */
function catalogFilter(q: string | Placeholder | undefined, category: string | Placeholder | undefined): SQL {
  const filters: SQL[] = [eq(products.status, "active")];
  if (q !== undefined) filters.push(or(sql`instr(lower(${products.name}), ${q}) > 0`, sql`instr(lower(${products.description}), ${q}) > 0`)!);
  if (category !== undefined) filters.push(eq(products.category, category));
  return and(...filters)!;
}

/** The categories shoppers can browse: those of visible products, with how many each holds. */
export async function listCategories(db: Database): Promise<{ category: string; count: number }[]> {
  const rows = await db
    .select({ category: products.category, count: sql<number>`count(*)` })
    .from(products)
    .where(and(eq(products.status, "active"), isNotNull(products.category)))
    .groupBy(products.category)
    .orderBy(asc(products.category));
  return rows.map((r) => ({ category: r.category!, count: r.count }));
}

export async function findProductBySlug(db: Database, slug: string): Promise<Product | null> {
  const statement = preparedStatement(db.$client, "catalog.bySlug", (pdb) =>
    pdb
      .select(withVariantsColumns)
      .from(products)
      .where(and(eq(products.status, "active"), eq(products.slug, sql.placeholder("slug"))))
      .limit(1)
      .prepare(),
  );
  const [row] = await statement.all({ slug });
  return row ? toProduct(row) : null;
}

/** Visible products by id (for carts and checkout), with their stock; hidden ones are absent. */
export async function findProductsByIds(db: Database, ids: string[]): Promise<ProductRow[]> {
  if (ids.length === 0) return [];
  return productsByIdsQuery(db, ids);
}

/** `findProductsByIds` as an unexecuted query (for a batch); `ids` must not be empty. */
export function productsByIdsQuery(db: Database, ids: string[]) {
  return visibleProductsQuery(db, inList(products.id, ids));
}
