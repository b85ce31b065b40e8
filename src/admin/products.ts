import { asc, eq, gt } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { forgetSharedPages } from "../catalog/first-page";
import { forgetPricingRows } from "../catalog/shared-pricing";
import type { Database } from "../db/client";
import { products, type ProductRow } from "../catalog/schema";

/** A product as staff see it: every column, including stock, hidden and timestamps. */
export interface AdminProduct {
  id: string;
  slug: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  hidden: boolean;
  imageUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The fields staff may set on a product (API.md); nothing else is accepted. */
export interface ProductFields {
  slug: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  hidden: boolean;
  imageUrl: string | null;
}

/** Maps a row to the staff shape. */
export function toAdminProduct(row: ProductRow): AdminProduct {
  return { ...row };
}

/** A page of every product (hidden too), in id order after `cursor`. */
export async function listAllProducts(db: Database, cursor: string | null, limit: number): Promise<{ items: AdminProduct[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(products)
    .where(cursor ? gt(products.id, cursor) : undefined)
    .orderBy(asc(products.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(toAdminProduct);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

/** One product by id, or null. */
export async function findProductById(db: Database, id: string): Promise<ProductRow | null> {
  const [row] = await db.select().from(products).where(eq(products.id, id)).limit(1);
  return row ?? null;
}

/** Inserts a product; null when the slug is taken. */
export async function createProduct(db: Database, fields: ProductFields): Promise<ProductRow | null> {
  const [row] = await db
    .insert(products)
    .values({ id: `prd_${crypto.randomUUID().replaceAll("-", "")}`, ...fields })
    .onConflictDoNothing({ target: products.slug })
    .returning();
  return row ?? null;
}

/** Field-by-field changes between a row and a patch: `{ field: { from, to } }`, only real changes. */
export function diffFields<T extends object>(before: T, patch: Partial<T>): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries(patch)) {
    if (to === undefined) continue;
    const from = (before as Record<string, unknown>)[key];
    if (from !== to) changes[key] = { from, to };
  }
  return changes;
}

/** Applies a patch; returns the new row, or `slug_taken` when the new slug belongs to another product. */
export async function updateProduct(db: Database, id: string, patch: Partial<ProductFields>): Promise<ProductRow | "slug_taken" | null> {
  if (patch.slug) {
    const [other] = await db.select({ id: products.id }).from(products).where(eq(products.slug, patch.slug)).limit(1);
    if (other && other.id !== id) return "slug_taken";
  }
  try {
    const [row] = await db
      .update(products)
      .set({ ...patch, updatedAt: new Date().toISOString() })
      .where(eq(products.id, id))
      .returning();
    return row ?? null;
  } catch (error) {
    if (String(error).includes("UNIQUE")) return "slug_taken";
    throw error;
  }
}

/**
 * A staff change to a product: this isolate drops its shared first page (decision 008) and its
 * shared pricing rows (decision 009) at once.
 */
function forgetCatalogCopies(d1: D1Database): void {
  forgetSharedPages(d1);
  forgetPricingRows(d1);
}

/** Who made a staff change, for its audit event. */
export interface StaffActor {
  id: string;
  ip: string | null;
}

/** Creates a product and records `product.created` with the values set. */
export async function createProductAudited(env: Env, db: Database, actor: StaffActor, fields: ProductFields): Promise<ProductRow | "slug_taken"> {
  const row = await createProduct(db, fields);
  if (!row) return "slug_taken";
  forgetCatalogCopies(env.DB);
  await recordAudit(env, { actor: actor.id, action: "product.created", subject: row.id, detail: { after: fields }, ip: actor.ip });
  return row;
}

/** Applies a patch and records `product.updated` with before/after of the changed fields only. */
export async function updateProductAudited(
  env: Env,
  db: Database,
  actor: StaffActor,
  id: string,
  patch: Partial<ProductFields>,
): Promise<ProductRow | "slug_taken" | null> {
  const before = await findProductById(db, id);
  if (!before) return null;
  const changes = diffFields(before, patch);
  if (Object.keys(changes).length === 0) return before;
  const after = await updateProduct(db, id, patch);
  if (after === null || after === "slug_taken") return after;
  forgetCatalogCopies(env.DB);
  await recordAudit(env, { actor: actor.id, action: "product.updated", subject: id, detail: { changes }, ip: actor.ip });
  return after;
}
