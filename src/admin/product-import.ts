import { and, eq, sql } from "drizzle-orm";
import { orderLines, orders } from "../checkout/schema";
import { inList, type Database } from "../db/client";
import { sanitiseHtml } from "../catalog/html-sanitiser";
import { productOptions, products, productVariants, type ProductOptionRow, type ProductRow, type ProductVariantRow } from "../catalog/schema";
import type { ImportedProduct, ImportedVariant, ParsedCatalog, RefusedRow } from "../catalog/shopify-csv";
import { ProblemError } from "../platform/problem";

// Applying a Shopify product CSV (issue 31): the plan compares each grouped product with what the
// shop holds (by Handle = slug, then each variant by SKU or by its option values), so importing the
// same file twice changes nothing; the writes are a few statements that each carry up to CHUNK rows
// as ONE bound JSON parameter (D1 binds at most 100 parameters per statement), run in one D1 batch
// (atomic: an import is written whole or not at all).

/** Rows per JSON-bound statement: a few hundred KiB at most, far inside D1's limits. */
const CHUNK = 250;
/** Ids or slugs per read. */
const READ_CHUNK = 500;

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
}

/** What an import did, or would do (dry run). */
export interface ImportReport {
  dryRun: boolean;
  rows: number;
  products: ImportCounts;
  variants: ImportCounts;
  refused: RefusedRow[];
  images: { stored: number; failed: { line: number; url: string; reason: string }[] };
  ignoredColumns: string[];
}

/** An image the file names, resolved to this shop's path (or null: keep what the product has). */
export type ImageResolver = (line: number, url: string) => Promise<string | null>;

interface Existing {
  products: Map<string, ProductRow>;
  options: Map<string, ProductOptionRow[]>;
  variants: Map<string, ProductVariantRow[]>;
  bySku: Map<string, ProductVariantRow>;
  held: Map<string, number>;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function loadExisting(db: Database, parsed: ParsedCatalog): Promise<Existing> {
  const found: ProductRow[] = [];
  for (const part of chunks(
    parsed.products.map((p) => p.handle),
    READ_CHUNK,
  )) {
    found.push(...(await db.select().from(products).where(inList(products.slug, part))));
  }
  const ids = found.map((p) => p.id);
  const options: ProductOptionRow[] = [];
  const variants: ProductVariantRow[] = [];
  for (const part of chunks(ids, READ_CHUNK)) {
    options.push(...(await db.select().from(productOptions).where(inList(productOptions.productId, part))));
    variants.push(...(await db.select().from(productVariants).where(inList(productVariants.productId, part))));
  }
  const skus = parsed.products.flatMap((p) => p.variants.flatMap((v) => (v.sku ? [v.sku] : [])));
  const bySku = new Map<string, ProductVariantRow>();
  for (const part of chunks(skus, READ_CHUNK)) {
    for (const v of await db.select().from(productVariants).where(inList(productVariants.sku, part))) bySku.set(v.sku!, v);
  }
  const held = new Map<string, number>();
  for (const part of chunks(
    variants.map((v) => v.id),
    READ_CHUNK,
  )) {
    const rows = await db
      .select({ variantId: orderLines.variantId, held: sql<number>`sum(${orderLines.quantity})` })
      .from(orderLines)
      .innerJoin(orders, eq(orders.id, orderLines.orderId))
      .where(and(inList(orderLines.variantId, part), eq(orders.status, "pending")))
      .groupBy(orderLines.variantId);
    for (const r of rows) held.set(r.variantId, Number(r.held));
  }
  const group = <T extends { productId: string }>(rows: T[]): Map<string, T[]> => {
    const map = new Map<string, T[]>();
    for (const r of rows) map.set(r.productId, [...(map.get(r.productId) ?? []), r]);
    return map;
  };
  return { products: new Map(found.map((p) => [p.slug, p])), options: group(options), variants: group(variants), bySku, held };
}

/** The rows a batch writes, by statement kind. */
interface Writes {
  newProducts: Record<string, unknown>[];
  changedProducts: Record<string, unknown>[];
  optionProducts: string[];
  options: Record<string, unknown>[];
  newVariants: Record<string, unknown>[];
  changedVariants: Record<string, unknown>[];
  stock: Record<string, unknown>[];
}

const combination = (values: readonly string[]): string => [0, 1, 2].map((i) => values[i] ?? "").join("\u0000");
const combinationOf = (v: ProductVariantRow): string => [v.option1, v.option2, v.option3].join("\u0000");

/** Plans the import: counts, refusals, and the rows to write. Images are resolved here (the resolver decides whether to fetch). */
export async function planImport(
  db: Database,
  parsed: ParsedCatalog,
  currency: string,
  resolveImage: ImageResolver,
): Promise<{ report: Omit<ImportReport, "dryRun" | "images" | "ignoredColumns" | "rows">; writes: Writes }> {
  const existing = await loadExisting(db, parsed);
  const refused = [...parsed.refused];
  const writes: Writes = { newProducts: [], changedProducts: [], optionProducts: [], options: [], newVariants: [], changedVariants: [], stock: [] };
  const counts = { products: { created: 0, updated: 0, unchanged: 0 }, variants: { created: 0, updated: 0, unchanged: 0 } };
  for (const product of parsed.products) {
    const before = existing.products.get(product.handle);
    if (before && before.currency !== currency) {
      refused.push({
        line: product.line,
        handle: product.handle,
        reason: `the shop's product ${product.handle} is priced in ${before.currency}, the import in ${currency}`,
      });
      continue;
    }
    const oldOptions = (before ? (existing.options.get(before.id) ?? []) : []).sort((a, b) => a.position - b.position);
    const oldVariants = before ? (existing.variants.get(before.id) ?? []) : [];
    if (before && oldOptions.map((o) => o.name).join("\u0000") !== product.options.map((o) => o.name).join("\u0000")) {
      refused.push({
        line: product.line,
        handle: product.handle,
        reason: `its options (${product.options.map((o) => o.name).join(", ") || "none"}) differ from the shop's (${oldOptions.map((o) => o.name).join(", ") || "none"}); change them on the product page first`,
      });
      continue;
    }
    const productId = before?.id ?? `prd_${crypto.randomUUID().replaceAll("-", "")}`;
    const image = await firstImage(product, resolveImage);
    const variantRows = await planVariants(product, productId, oldVariants, existing, resolveImage, refused);
    if (variantRows === null) continue;
    if (!before && variantRows.created.length === 0) {
      refused.push({ line: product.line, handle: product.handle, reason: "none of its variants could be imported" });
      continue;
    }
    const fields = {
      id: productId,
      slug: product.handle,
      name: product.title,
      description: product.descriptionHtml,
      status: product.status,
      vendor: product.vendor,
      productType: product.productType,
      // A staff-set category stays unless the Type changes (an export's Type re-imports unchanged).
      category: before && before.productType === product.productType ? before.category : product.category,
      tags: JSON.stringify(product.tags),
      imageUrl: image ?? before?.imageUrl ?? null,
    };
    if (!before) {
      counts.products.created++;
      const minPrice = Math.min(...variantRows.created.map((v) => v.priceCents as number));
      writes.newProducts.push({ ...fields, priceCents: minPrice, currency });
    } else {
      const same =
        before.name === fields.name &&
        sanitiseHtml(before.description) === fields.description &&
        before.status === fields.status &&
        before.vendor === fields.vendor &&
        before.productType === fields.productType &&
        before.category === fields.category &&
        before.tags === fields.tags &&
        before.imageUrl === fields.imageUrl;
      if (same) counts.products.unchanged++;
      else {
        counts.products.updated++;
        writes.changedProducts.push({
          ...fields,
          description: sanitiseHtml(before.description) === fields.description ? before.description : fields.description,
        });
      }
    }
    const oldValues = oldOptions.map((o) => o.values);
    const newValues = product.options.map((o, i) => JSON.stringify(mergeValues(JSON.parse(oldValues[i] ?? "[]") as string[], o.values)));
    if (!before || newValues.join("\u0000") !== oldValues.join("\u0000")) {
      writes.optionProducts.push(productId);
      product.options.forEach((o, i) => writes.options.push({ productId, position: i + 1, name: o.name, values: newValues[i] }));
    }
    writes.newVariants.push(...variantRows.created);
    writes.changedVariants.push(...variantRows.changed);
    writes.stock.push(...variantRows.stock);
    counts.variants.created += variantRows.created.length;
    counts.variants.updated += variantRows.updated;
    counts.variants.unchanged += variantRows.unchanged;
  }
  refused.sort((a, b) => a.line - b.line);
  return { report: { ...counts, refused }, writes };
}

/** Values the shop had first (their order is what shoppers see), then the file's new ones. */
function mergeValues(old: string[], file: string[]): string[] {
  return [...old, ...file.filter((v) => !old.includes(v))];
}

async function firstImage(product: ImportedProduct, resolveImage: ImageResolver): Promise<string | null> {
  const [first] = [...product.images].sort((a, b) => (a.position ?? Number.MAX_SAFE_INTEGER) - (b.position ?? Number.MAX_SAFE_INTEGER));
  return first ? resolveImage(first.line, first.src) : null;
}

async function planVariants(
  product: ImportedProduct,
  productId: string,
  old: ProductVariantRow[],
  existing: Existing,
  resolveImage: ImageResolver,
  refused: RefusedRow[],
): Promise<{
  created: Record<string, unknown>[];
  changed: Record<string, unknown>[];
  stock: Record<string, unknown>[];
  updated: number;
  unchanged: number;
} | null> {
  const out = {
    created: [] as Record<string, unknown>[],
    changed: [] as Record<string, unknown>[],
    stock: [] as Record<string, unknown>[],
    updated: 0,
    unchanged: 0,
  };
  const taken = new Set<string>();
  for (const [position, v] of product.variants.entries()) {
    const owner = v.sku ? existing.bySku.get(v.sku) : undefined;
    if (owner && owner.productId !== productId) {
      refused.push({ line: v.line, handle: product.handle, reason: `Variant SKU ${v.sku} belongs to another product` });
      continue;
    }
    const match = (owner && !taken.has(owner.id) ? owner : undefined) ?? old.find((o) => !taken.has(o.id) && combinationOf(o) === combination(v.optionValues));
    if (match) taken.add(match.id);
    const imageUrl = v.imageSrc ? ((await resolveImage(v.line, v.imageSrc)) ?? match?.imageUrl ?? null) : (match?.imageUrl ?? null);
    const row = variantFields(v, imageUrl, position);
    if (!match) {
      out.created.push({ id: `var_${crypto.randomUUID().replaceAll("-", "")}`, productId, ...row, stock: v.stock });
      continue;
    }
    const clash = old.find((o) => o.id !== match.id && combinationOf(o) === combination(v.optionValues));
    if (clash) {
      refused.push({ line: v.line, handle: product.handle, reason: `Variant SKU ${v.sku} names options another variant of the product has` });
      continue;
    }
    const held = existing.held.get(match.id) ?? 0;
    const fieldsSame =
      match.sku === row.sku &&
      combinationOf(match) === combination(v.optionValues) &&
      match.priceCents === row.priceCents &&
      match.compareAtPriceCents === row.compareAtPriceCents &&
      match.weightGrams === row.weightGrams &&
      match.barcode === row.barcode &&
      match.imageUrl === row.imageUrl;
    const stockSame = match.stock + held === v.stock;
    if (!stockSame && v.stock < held) {
      refused.push({ line: v.line, handle: product.handle, reason: `Variant Inventory Qty ${v.stock} is below the ${held} units held by unpaid orders` });
      continue;
    }
    if (fieldsSame && stockSame) out.unchanged++;
    else out.updated++;
    if (!fieldsSame) out.changed.push({ id: match.id, ...row, position: match.position });
    if (!stockSame) out.stock.push({ id: match.id, onHand: v.stock });
  }
  return out;
}

function variantFields(v: ImportedVariant, imageUrl: string | null, position: number) {
  return {
    sku: v.sku,
    option1: v.optionValues[0] ?? "",
    option2: v.optionValues[1] ?? "",
    option3: v.optionValues[2] ?? "",
    priceCents: v.priceMinor,
    compareAtPriceCents: v.compareAtMinor,
    weightGrams: v.grams,
    barcode: v.barcode,
    imageUrl,
    position,
  };
}

const col = (name: string, key: string): string => `json_extract(value, '$.${key}') AS ${name}`;

/** Writes a plan in one D1 batch (atomic). A constraint the plan could not foresee (a concurrent write) is 409, nothing written. */
export async function writeImport(d1: D1Database, writes: Writes, actor: string, importId: string): Promise<void> {
  const s: D1PreparedStatement[] = [];
  const json = (rows: unknown[]): string => JSON.stringify(rows);
  for (const part of chunks(writes.newProducts, CHUNK)) {
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
  for (const part of chunks(writes.changedProducts, CHUNK)) {
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
