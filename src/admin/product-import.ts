import { and, eq, sql } from "drizzle-orm";
import { orderLines, orders } from "../checkout/schema";
import { inList, type Database } from "../db/client";
import { sanitiseHtml } from "../catalog/html-sanitiser";
import { productOptions, products, productVariants, type ProductOptionRow, type ProductRow, type ProductVariantRow } from "../catalog/schema";
import type { ImportedProduct, ImportedVariant, ParsedCatalog, RefusedRow } from "../catalog/shopify-columns";

// Applying a Shopify product CSV (issue 31): the plan compares each grouped product with what the
// shop holds (by Handle = slug, then each variant by SKU or by its option values), so importing the
// same file twice changes nothing; the writes are a few statements that each carry up to 250 rows
// as ONE bound JSON parameter (D1 binds at most 100 parameters per statement), run in one D1 batch
// (atomic: an import is written whole or not at all).

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

export function chunks<T>(items: readonly T[], size: number): T[][] {
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
export interface Writes {
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
      writes.options.push(...product.options.map((o, i) => ({ productId, position: i + 1, name: o.name, values: newValues[i] })));
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
