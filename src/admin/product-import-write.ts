import { ProblemError } from "../platform/problem";
import { chunks, type Writes } from "./product-import";

/** Variant and option rows per JSON-bound statement: well under 100 KiB each. */
const CHUNK = 250;
/**
 * Product rows per statement: a description is up to 5,000 characters (up to 4 bytes each in
 * UTF-8), so 50 rows stay near 1 MiB, inside D1's 2 MB limit on one bound value.
 */
const PRODUCT_CHUNK = 50;

const col = (name: string, key: string): string => `json_extract(value, '$.${key}') AS ${name}`;

/** Writes a plan in one D1 batch (atomic). A constraint the plan could not foresee (a concurrent write) is 409, nothing written. */
export async function writeImport(d1: D1Database, writes: Writes, actor: string, importId: string): Promise<void> {
  const s: D1PreparedStatement[] = [];
  const json = (rows: unknown[]): string => JSON.stringify(rows);
  for (const part of chunks(writes.newProducts, PRODUCT_CHUNK)) {
    s.push(
      d1
        .prepare(
          `INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status, vendor, product_type, category, tags, image_url)
           SELECT ${col("id", "id")}, ${col("slug", "slug")}, ${col("name", "name")}, ${col("description", "description")}, ${col("p", "priceCents")}, ${col("c", "currency")}, 0,
             ${col("status", "status")}, ${col("vendor", "vendor")}, ${col("pt", "productType")}, ${col("category", "category")}, ${col("tags", "tags")}, ${col("image", "imageUrl")}
           FROM json_each(?1)`,
        )
        .bind(json(part)),
    );
  }
  for (const part of chunks(writes.changedProducts, PRODUCT_CHUNK)) {
    s.push(
      d1
        .prepare(
          `UPDATE products SET name = j.name, description = j.description, status = j.status, vendor = j.vendor, product_type = j.pt, category = j.category,
             tags = j.tags, image_url = j.image, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
           FROM (SELECT ${col("id", "id")}, ${col("name", "name")}, ${col("description", "description")}, ${col("status", "status")}, ${col("vendor", "vendor")},
             ${col("pt", "productType")}, ${col("category", "category")}, ${col("tags", "tags")}, ${col("image", "imageUrl")} FROM json_each(?1)) AS j
           WHERE products.id = j.id`,
        )
        .bind(json(part)),
    );
  }
  for (const part of chunks(writes.optionProducts, CHUNK)) {
    s.push(d1.prepare("DELETE FROM product_options WHERE product_id IN (SELECT value FROM json_each(?1))").bind(json(part)));
  }
  for (const part of chunks(writes.options, CHUNK)) {
    s.push(
      d1
        .prepare(
          `INSERT INTO product_options (product_id, position, name, "values") SELECT ${col("pid", "productId")}, ${col("pos", "position")}, ${col("name", "name")}, ${col("v", "values")} FROM json_each(?1)`,
        )
        .bind(json(part)),
    );
  }
  const variantColumns = `${col("sku", "sku")}, ${col("o1", "option1")}, ${col("o2", "option2")}, ${col("o3", "option3")}, ${col("price", "priceCents")}, ${col("compare", "compareAtPriceCents")},
    ${col("grams", "weightGrams")}, ${col("barcode", "barcode")}, ${col("image", "imageUrl")}, ${col("pos", "position")}`;
  for (const part of chunks(writes.newVariants, CHUNK)) {
    s.push(
      d1
        .prepare(
          `INSERT INTO product_variants (id, product_id, sku, option1, option2, option3, price_cents, compare_at_price_cents, weight_grams, barcode, image_url, position, stock, stock_reason, stock_actor, stock_ref)
           SELECT id, pid, sku, o1, o2, o3, price, compare, grams, barcode, image, pos, stock, 'import', ?2, ?3
           FROM (SELECT ${col("id", "id")}, ${col("pid", "productId")}, ${variantColumns}, ${col("stock", "stock")} FROM json_each(?1))`,
        )
        .bind(json(part), actor, importId),
    );
  }
  for (const part of chunks(writes.changedVariants, CHUNK)) {
    s.push(
      d1
        .prepare(
          `UPDATE product_variants SET sku = j.sku, option1 = j.o1, option2 = j.o2, option3 = j.o3, price_cents = j.price, compare_at_price_cents = j.compare,
             weight_grams = j.grams, barcode = j.barcode, image_url = j.image, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
           FROM (SELECT ${col("id", "id")}, ${variantColumns} FROM json_each(?1)) AS j WHERE product_variants.id = j.id`,
        )
        .bind(json(part)),
    );
  }
  for (const part of chunks(writes.stock, CHUNK)) {
    // On hand as counted; sellable = on hand − held, computed in the statement (decision 013). Below zero fails the CHECK: 409, nothing written.
    s.push(
      d1
        .prepare(
          `UPDATE product_variants SET stock = j.on_hand - (SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
             WHERE l.variant_id = product_variants.id AND o.status = 'pending'), stock_reason = 'import', stock_actor = ?2, stock_ref = ?3
           FROM (SELECT ${col("id", "id")}, ${col("on_hand", "onHand")} FROM json_each(?1)) AS j WHERE product_variants.id = j.id`,
        )
        .bind(json(part), actor, importId),
    );
  }
  if (s.length === 0) return;
  try {
    await d1.batch(s);
  } catch (error) {
    const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
    if (/UNIQUE|CHECK|constraint/i.test(text)) {
      throw new ProblemError(
        409,
        "import_conflict",
        "The catalog changed while the file was imported (a SKU or stock count no longer fits); nothing was written. Import it again.",
      );
    }
    throw error;
  }
}
