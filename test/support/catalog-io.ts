import { env } from "cloudflare:workers";
import { forgetCatalogVersion } from "../../src/catalog/page-cache";

/** A word of letters only, unique per call: one search token that no other test's product holds. */
export function uniqueWord(prefix: string): string {
  const letters = [...crypto.getRandomValues(new Uint8Array(10))].map((b) => String.fromCharCode(97 + (b % 26))).join("");
  return `${prefix}${letters}`;
}

export interface VariantSpec {
  sku?: string | null;
  options?: string[];
  priceCents?: number;
  stock?: number;
}

/**
 * Inserts a product with options and variants straight into D1 (as a script would; the search
 * index's triggers run as for any writer) and returns its id and slug.
 */
export async function makeVariantProduct(spec: {
  name: string;
  description?: string;
  status?: "active" | "draft" | "archived";
  vendor?: string | null;
  tags?: string[];
  priceCents?: number;
  options?: { name: string; values: string[] }[];
  variants?: VariantSpec[];
}): Promise<{ id: string; slug: string }> {
  const id = `prd_${crypto.randomUUID().replaceAll("-", "")}`;
  const slug = `p-${crypto.randomUUID().slice(0, 12)}`;
  const variants = spec.variants ?? [{}];
  const statements = [
    env.DB.prepare(
      "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status, vendor, tags) VALUES (?, ?, ?, ?, ?, 'USD', 0, ?, ?, ?)",
    ).bind(id, slug, spec.name, spec.description ?? "", spec.priceCents ?? 1000, spec.status ?? "active", spec.vendor ?? null, JSON.stringify(spec.tags ?? [])),
    ...(spec.options ?? []).map((o, i) =>
      env.DB.prepare('INSERT INTO product_options (product_id, position, name, "values") VALUES (?, ?, ?, ?)').bind(
        id,
        i + 1,
        o.name,
        JSON.stringify(o.values),
      ),
    ),
    ...variants.map((v, i) =>
      env.DB.prepare(
        "INSERT INTO product_variants (id, product_id, sku, option1, option2, option3, price_cents, stock, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).bind(
        `var_${crypto.randomUUID().replaceAll("-", "")}`,
        id,
        v.sku ?? null,
        v.options?.[0] ?? "",
        v.options?.[1] ?? "",
        v.options?.[2] ?? "",
        v.priceCents ?? spec.priceCents ?? 1000,
        v.stock ?? 5,
        i,
      ),
    ),
  ];
  await env.DB.batch(statements);
  forgetCatalogVersion();
  return { id, slug };
}
