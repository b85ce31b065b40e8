// What staff read of products: every column, status, options, variants with their held and
// sellable units, and images (the writes are products.ts).
import { asc, eq, gt } from "drizzle-orm";
import type { Database } from "../db/client";
import { products, type ProductRow, type ProductStatus, type ProductVariantRow } from "../catalog/schema";
import { optionsAndVariantsOf, parseStringArray, type ProductOption } from "../catalog/variants";
import { imagesOfProducts, type ProductImage } from "../catalog/product-images";
import { heldByVariant, toAdminVariant, type AdminVariant } from "./product-variants";

/**
 * A product as staff see it: every column, status and timestamps, its options and variants, and
 * its stock as the shelf has it (docs/decisions/013): `stock` is ON HAND (what staff count and
 * set), `held` the units taken by unpaid pending orders (they come back if those orders close
 * unpaid), `sellable` what shoppers can still buy (on hand − held). A product's stock and price
 * are its variants' (the sum; the lowest price), decision 025. `hidden` is `status !== "active"`.
 */
export interface AdminProduct {
  id: string;
  slug: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  held: number;
  sellable: number;
  hidden: boolean;
  status: ProductStatus;
  vendor: string | null;
  productType: string | null;
  tags: string[];
  imageUrl: string | null;
  /** Every image in display order (the first is `imageUrl`). */
  images: ProductImage[];
  category: string | null;
  taxCode: string | null;
  options: ProductOption[];
  variants: AdminVariant[];
  createdAt: string;
  updatedAt: string;
}

/** A product row with what staff see of its variants. */
export interface ProductWithVariants {
  row: ProductRow;
  options: ProductOption[];
  variants: ProductVariantRow[];
  heldByVariant: Map<string, number>;
  images: ProductImage[];
}

/** Maps a row with its variants to the staff shape: on hand = sellable + held, summed over variants. */
export function toAdminProduct(p: ProductWithVariants): AdminProduct {
  const variants = p.variants.map((v) => toAdminVariant(p.options, v, p.heldByVariant.get(v.id) ?? 0));
  const held = variants.reduce((sum, v) => sum + v.held, 0);
  const { row } = p;
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    priceCents: row.priceCents,
    currency: row.currency,
    stock: row.stock + held,
    held,
    sellable: row.stock,
    hidden: row.status !== "active",
    status: row.status,
    vendor: row.vendor,
    productType: row.productType,
    tags: parseStringArray(row.tags),
    imageUrl: row.imageUrl,
    images: p.images,
    category: row.category,
    taxCode: row.taxCode,
    options: p.options,
    variants,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Rows with their options, variants and held units (two round trips for any number of products). */
export async function withVariants(db: Database, rows: ProductRow[]): Promise<ProductWithVariants[]> {
  const found = await optionsAndVariantsOf(
    db,
    rows.map((r) => r.id),
  );
  const variantIds = [...found.values()].flatMap((f) => f.variants.map((v) => v.id));
  const ids = rows.map((r) => r.id);
  const [held, images] = await Promise.all([heldByVariant(db, variantIds), imagesOfProducts(db, ids)]);
  return rows.map((row) => ({
    row,
    ...(found.get(row.id) ?? { options: [], variants: [] }),
    heldByVariant: held,
    images: (images.get(row.id) ?? []).map((i) => ({ url: i.url, alt: i.alt })),
  }));
}

/** A product row with its options, variants and held units, or null. */
export async function findProductWithVariants(db: Database, id: string): Promise<ProductWithVariants | null> {
  const row = await findProductById(db, id);
  return row ? (await withVariants(db, [row]))[0]! : null;
}

/** One product as staff see it (options, variants, on hand, held, sellable), or null. */
export async function findAdminProduct(db: Database, id: string): Promise<AdminProduct | null> {
  const row = await findProductById(db, id);
  if (!row) return null;
  return toAdminProduct((await withVariants(db, [row]))[0]!);
}

/** A page of every product (any status), in id order after `cursor`. */
export async function listAllProducts(db: Database, cursor: string | null, limit: number): Promise<{ items: AdminProduct[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(products)
    .where(cursor ? gt(products.id, cursor) : undefined)
    .orderBy(asc(products.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const items = (await withVariants(db, page)).map(toAdminProduct);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

/** One product by id, or null. */
export async function findProductById(db: Database, id: string): Promise<ProductRow | null> {
  const [row] = await db.select().from(products).where(eq(products.id, id)).limit(1);
  return row ?? null;
}
