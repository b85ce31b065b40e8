import { and, eq, like } from "drizzle-orm";
import { getDb } from "../db/client";
import { storeDemoImage } from "./images";
import { products } from "./schema";

/**
 * Development: the demo products' pictures go the way staff uploads go — into the PRODUCT_IMAGES
 * bucket under their content hash, served from /media/ with a year of caching — read from the
 * shop's own static files (ASSETS). Only demo products (`prd_demo_…`) still pointing at
 * `/images/…` change; a picture staff replaced stays. Idempotent; returns how many moved.
 */
export async function moveDemoImagesToR2(env: Env, origin: string): Promise<number> {
  const db = getDb(env.DB);
  const rows = await db
    .select({ id: products.id, imageUrl: products.imageUrl })
    .from(products)
    .where(and(like(products.id, "prd_demo_%"), like(products.imageUrl, "/images/%.svg")));
  let moved = 0;
  for (const row of rows) {
    if (!row.id.startsWith("prd_demo_") || !row.imageUrl) continue;
    const file = await env.ASSETS.fetch(new Request(`${origin}${row.imageUrl}`));
    if (!file.ok) continue;
    const url = await storeDemoImage(env.PRODUCT_IMAGES, new Uint8Array(await file.arrayBuffer()));
    const done = await db
      .update(products)
      .set({ imageUrl: url })
      .where(and(eq(products.id, row.id), eq(products.imageUrl, row.imageUrl)));
    // `changes` also counts the catalog-version trigger's row: one product is one move.
    if ((done.meta.changes ?? 0) > 0) moved += 1;
  }
  return moved;
}
