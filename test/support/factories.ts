import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import { env } from "cloudflare:workers";
import { getDb } from "../../src/db/client";
import { products, type ProductRow } from "../../src/db/schema";

let seq = 0;
/** A unique suffix per call, so tests in one file never share ids (storage is per file). */
export function unique(prefix: string): string {
  seq += 1;
  return `${prefix}-${Date.now().toString(36)}-${seq}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Inserts a product straight into D1 and returns the row. */
export async function makeProduct(overrides: Partial<typeof products.$inferInsert> = {}): Promise<ProductRow> {
  const slug = overrides.slug ?? unique("product").toLowerCase();
  const [row] = await getDb(env.DB)
    .insert(products)
    .values({
      id: overrides.id ?? `prd_${crypto.randomUUID().replaceAll("-", "")}`,
      slug,
      name: overrides.name ?? `Product ${slug}`,
      description: overrides.description ?? "A sturdy thing for testing.",
      priceCents: overrides.priceCents ?? 1999,
      currency: overrides.currency ?? "USD",
      stock: overrides.stock ?? 10,
      hidden: overrides.hidden ?? false,
      imageUrl: overrides.imageUrl ?? null,
      category: overrides.category ?? null,
      createdAt: overrides.createdAt,
    })
    .returning();
  // A direct write, as a script's: isolates see the new catalog version within
  // CATALOG_VERSION_TTL_MS (decision 017). Tests do not wait; they tell this isolate at once.
  forgetCatalogVersion();
  return row!;
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
