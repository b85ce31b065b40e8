import { and, asc, eq, gt, inArray, or, sql, type SQL } from "drizzle-orm";
import { preparedStatement, type Database } from "../db/client";
import { products, type ProductRow } from "./schema";

/** The shopper-facing shape of a product (API.md). */
export interface Product {
  id: string;
  slug: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  imageUrl: string | null;
  inStock: boolean;
}

/** A page of products and the opaque cursor of the next page. */
export interface ProductPage {
  items: Product[];
  nextCursor: string | null;
}

/** Position after which a page starts: the (name, id) of the previous page's last product. */
export interface CatalogCursor {
  name: string;
  id: string;
}

/** Maps a D1 row to what shoppers see: never the stock count, the hidden flag or timestamps. */
export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    priceCents: row.priceCents,
    currency: row.currency,
    imageUrl: row.imageUrl,
    inStock: row.stock > 0,
  };
}

/**
 * THE query for every shopper-facing product read (P04). Hidden products are filtered here, in
 * the data layer, so no route or page can forget it: callers add conditions, never remove this one.
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
    .where(and(eq(products.hidden, false), where))
    .orderBy(asc(products.name), asc(products.id));
}

/** Encodes a page position as an opaque base64url string. */
export function encodeCursor(cursor: CatalogCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify([cursor.name, cursor.id]));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

/** Decodes a cursor made by `encodeCursor`; anything else is `null` (the route answers 400). */
export function decodeCursor(raw: string): CatalogCursor | null {
  if (!/^[A-Za-z0-9_-]{1,800}$/.test(raw)) return null;
  try {
    const binary = atob(raw.replaceAll("-", "+").replaceAll("_", "/"));
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") {
      return { name: value[0], id: value[1] };
    }
    return null;
  } catch {
    return null;
  }
}

/**
 * Lists visible products matching `q` (case-insensitive substring of name or description),
 * ordered by name, one page after `cursor`. `q` is a bound parameter: `instr` needs no escaping
 * of LIKE wildcards, so `%` and `_` match themselves. The four shapes (with or without `q` and
 * `cursor`) are prepared once per binding (`preparedStatement`); values are always bound.
 */
export async function listProducts(
  db: Database,
  params: { q?: string | undefined; cursor?: CatalogCursor | null | undefined; limit: number },
): Promise<ProductPage> {
  const q = params.q?.trim().toLowerCase() || undefined;
  const cursor = params.cursor ?? null;
  const statement = preparedStatement(db.$client, `catalog.list:${q ? "q" : ""}:${cursor ? "cursor" : ""}`, (pdb) => {
    const conditions: SQL[] = [];
    if (q) {
      const needle = sql.placeholder("q");
      conditions.push(or(sql`instr(lower(${products.name}), ${needle}) > 0`, sql`instr(lower(${products.description}), ${needle}) > 0`)!);
    }
    if (cursor) {
      const name = sql.placeholder("name");
      conditions.push(or(gt(products.name, name), and(eq(products.name, name), gt(products.id, sql.placeholder("id"))))!);
    }
    return visibleProductsQuery(pdb, conditions.length ? and(...conditions) : undefined)
      .limit(sql.placeholder("limit"))
      .prepare();
  });
  const rows = await statement.all({ q, name: cursor?.name, id: cursor?.id, limit: params.limit + 1 });
  const page = rows.slice(0, params.limit);
  const last = page.at(-1);
  return {
    items: page.map(toProduct),
    nextCursor: rows.length > params.limit && last ? encodeCursor({ name: last.name, id: last.id }) : null,
  };
}

/** One visible product by slug, or `null` when it does not exist or is hidden. */
export async function findProductBySlug(db: Database, slug: string): Promise<Product | null> {
  const statement = preparedStatement(db.$client, "catalog.bySlug", (pdb) =>
    visibleProductsQuery(pdb, eq(products.slug, sql.placeholder("slug")))
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
  return visibleProductsQuery(db, inArray(products.id, ids));
}

/** What pricing a cart needs of a product: no description, image or timestamps (less to move). */
export type PricingProduct = Pick<ProductRow, "id" | "slug" | "name" | "priceCents" | "currency" | "stock">;

/**
 * The pricing fields of visible products by id, as an unexecuted query (for a batch); `ids` must
 * not be empty. The ids are bound as one JSON array, so the statement's text is the same for any
 * number of ids.
 */
export function pricingProductsQuery(db: Database, ids: string[]) {
  return db
    .select({ id: products.id, slug: products.slug, name: products.name, priceCents: products.priceCents, currency: products.currency, stock: products.stock })
    .from(products)
    .where(and(eq(products.hidden, false), sql`${products.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`));
}
