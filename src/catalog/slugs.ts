import { eq, like, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { products } from "./schema";

/** A slug's longest base: room left for a `-NNN` suffix within the 120 characters a slug may have. */
const BASE_LENGTH = 100;

/**
 * A slug made from a product's name: lower-case ASCII letters and digits joined by single hyphens
 * ("Crème Brûlée Set!" → "creme-brulee-set"); "product" when nothing of the name is left.
 * public/assets/staff.js makes the same one as staff type (the server's is the one that counts).
 */
export function slugFromName(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, BASE_LENGTH)
    .replace(/^-+|-+$/g, "");
  return base || "product";
}

/**
 * `base`, or `base-2`, `base-3`… : the first no product has. One read of the slugs that could
 * collide; a product created between the read and the insert still meets the unique index (409).
 */
export async function freeSlug(db: Database, base: string): Promise<string> {
  const rows = await db
    .select({ slug: products.slug })
    .from(products)
    .where(or(eq(products.slug, base), like(products.slug, `${base}-%`)));
  const taken = new Set(rows.map((r) => r.slug));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}
