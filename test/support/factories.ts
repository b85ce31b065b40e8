import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import { env } from "cloudflare:workers";
import { getDb } from "../../src/db/client";
import { eq } from "drizzle-orm";
import { migratedDefaultVariantId, newVariantId } from "../../src/catalog/variants";
import { productOptions, products, productVariants, type ProductRow } from "../../src/db/schema";

let seq = 0;
/** A unique suffix per call, so tests in one file never share ids (storage is per file). */
export function unique(prefix: string): string {
  seq += 1;
  return `${prefix}-${Date.now().toString(36)}-${seq}-${crypto.randomUUID().slice(0, 8)}`;
}

/** What `makeProduct` may set: a product's columns, its default variant's stock and price, `hidden` (a draft) from before status. */
export type ProductOverrides = Partial<typeof products.$inferInsert> & { hidden?: boolean; sku?: string | null };

/** A product as the factories made it: the row and its default variant's id. */
export type MadeProduct = ProductRow & { variantId: string };

/** Inserts a product straight into D1, with its one default variant (price and stock), and returns the row. */
export async function makeProduct(overrides: ProductOverrides = {}): Promise<MadeProduct> {
  const slug = overrides.slug ?? unique("product").toLowerCase();
  const db = getDb(env.DB);
  const id = overrides.id ?? `prd_${crypto.randomUUID().replaceAll("-", "")}`;
  // The id a product from before variants has for its default variant (decision 025), so tests that add by product id alone name it.
  const variantId = migratedDefaultVariantId(id);
  const priceCents = overrides.priceCents ?? 1999;
  const stock = overrides.stock ?? 10;
  await db.batch([
    db.insert(products).values({
      id,
      slug,
      name: overrides.name ?? `Product ${slug}`,
      description: overrides.description ?? "A sturdy thing for testing.",
      priceCents,
      currency: overrides.currency ?? "USD",
      stock,
      status: overrides.status ?? (overrides.hidden ? "draft" : "active"),
      imageUrl: overrides.imageUrl ?? null,
      category: overrides.category ?? null,
      createdAt: overrides.createdAt,
    }),
    db
      .insert(productVariants)
      .values({ id: variantId, productId: id, sku: overrides.sku ?? null, priceCents, stock, stockReason: "opening_balance", stockActor: "test" }),
  ]);
  const [row] = await db.select().from(products).where(eq(products.id, id));
  // A direct write, as a script's: isolates see the new catalog version within
  // CATALOG_VERSION_TTL_MS (decision 017). Tests do not wait; they tell this isolate at once.
  forgetCatalogVersion();
  return { ...row!, variantId };
}

/**
 * A product with options (default: Color × Size) and one variant per combination, each with its
 * own SKU, price and stock (`stockOf` picks a combination's stock; default 5).
 */
export async function makeProductWithOptions(
  input: {
    options?: { name: string; values: string[] }[];
    priceCents?: number;
    stockOf?: (values: string[]) => number;
    status?: "active" | "draft" | "archived";
  } = {},
): Promise<{ product: ProductRow; variants: { id: string; sku: string; values: string[]; stock: number }[] }> {
  const options = input.options ?? [
    { name: "Color", values: ["Green", "Navy"] },
    { name: "Size", values: ["S", "M", "L"] },
  ];
  const made = await makeProduct({ priceCents: input.priceCents ?? 2500, stock: 0, status: input.status ?? "active" });
  const db = getDb(env.DB);
  const combos = options.reduce<string[][]>((acc, o) => acc.flatMap((prefix) => o.values.map((v) => [...prefix, v])), [[]]);
  const variants = combos.map((values) => ({
    id: newVariantId(),
    sku: `${made.slug}-${values.join("-")}`.toUpperCase(),
    values,
    stock: input.stockOf?.(values) ?? 5,
  }));
  await db.batch([
    db.delete(productVariants).where(eq(productVariants.productId, made.id)),
    ...options.map((o, i) => db.insert(productOptions).values({ productId: made.id, position: i + 1, name: o.name, values: JSON.stringify(o.values) })),
    ...variants.map((v, i) =>
      db.insert(productVariants).values({
        id: v.id,
        productId: made.id,
        sku: v.sku,
        option1: v.values[0] ?? "",
        option2: v.values[1] ?? "",
        option3: v.values[2] ?? "",
        priceCents: (input.priceCents ?? 2500) + i * 100,
        stock: v.stock,
        position: i,
        stockReason: "opening_balance",
        stockActor: "test",
      }),
    ),
  ]);
  const [product] = await db.select().from(products).where(eq(products.id, made.id));
  forgetCatalogVersion();
  return { product: product!, variants };
}

/** The D1 schema as sqlite_master lists it, to prove an attack changed nothing. */
export async function schemaSnapshot(): Promise<string> {
  // D1's own bookkeeping (`_cf_*`, e.g. the Sessions API's metadata) appears when D1 first needs it: not ours.
  const { results } = await env.DB.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name").all();
  return JSON.stringify(results);
}

/** Counts rows of a table (name from a fixed list in the test, never from input). */
export async function countRows(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}
