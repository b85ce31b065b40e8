import { asc, eq, sql } from "drizzle-orm";
import { inList, type Database } from "../db/client";
import { productImages, products, type ProductImageRow } from "./schema";

// A product's images (migration "product_images"): their order, alt text, and the main image
// (`products.image_url`, always the first image's URL).

/** An image as the API and pages show it: where it is and what it shows (plain text). */
export interface ProductImage {
  url: string;
  alt: string;
}

/** At most this many images per product: a gallery, not an album. */
export const MAX_PRODUCT_IMAGES = 20;

/** `products.id` spelled with its table (inside a subquery drizzle would leave it unqualified). */
const productIdColumn = sql.raw(`"products"."id"`);

/** A product's images as one JSON column of the catalog's SELECT (no extra round trip), in display order. */
export const imagesJsonColumn = sql<string>`(SELECT json_group_array(json_object('url', i.url, 'alt', i.alt)) FROM (SELECT url, alt FROM ${productImages} i WHERE i.product_id = ${productIdColumn} ORDER BY i.position, i.id) i)`;

/** The JSON column read back; anything unexpected reads as no images (never a 500 on a page). */
export function parseImagesJson(json: string | null): ProductImage[] {
  try {
    const value: unknown = JSON.parse(json ?? "[]");
    if (!Array.isArray(value)) return [];
    return value
      .filter((i): i is { url: string; alt: unknown } => typeof i === "object" && i !== null && typeof (i as { url: unknown }).url === "string")
      .map((i) => ({ url: i.url, alt: typeof i.alt === "string" ? i.alt : "" }));
  } catch {
    return [];
  }
}

/** A product's image rows in display order (the first is the main image). */
export async function listProductImages(db: Database, productId: string): Promise<ProductImageRow[]> {
  return db.select().from(productImages).where(eq(productImages.productId, productId)).orderBy(asc(productImages.position), asc(productImages.id));
}

/** The images of some products, in display order, by product id. */
export async function imagesOfProducts(db: Database, productIds: string[]): Promise<Map<string, ProductImageRow[]>> {
  const found = new Map<string, ProductImageRow[]>(productIds.map((id) => [id, []]));
  if (productIds.length === 0) return found;
  const rows = await db
    .select()
    .from(productImages)
    .where(inList(productImages.productId, productIds))
    .orderBy(asc(productImages.position), asc(productImages.id));
  for (const row of rows) found.get(row.productId)?.push(row);
  return found;
}

/** A new image row's id. */
export function newImageId(): string {
  return `img_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** Makes `products.image_url` the first image's URL again (null when none is left): in the batch of every image edit. */
export function mainImageStatement(db: Database, productId: string) {
  return db
    .update(products)
    .set({
      imageUrl: sql`(SELECT ${productImages.url} FROM ${productImages} WHERE ${productImages.productId} = ${productId} ORDER BY ${productImages.position}, ${productImages.id} LIMIT 1)`,
    })
    .where(eq(products.id, productId));
}
