import { loadConfig } from "../platform/config";
import { and, asc, eq, gt, sql } from "drizzle-orm";
import { orderLines, orders } from "../checkout/schema";
import { ProblemError } from "../platform/problem";
import { recordAudit } from "../audit/audit";
import { forgetCatalogVersion } from "../catalog/page-cache";
import { forgetPricingRows } from "../catalog/shared-pricing";
import { inList, type Database } from "../db/client";
import { products, type ProductRow } from "../catalog/schema";
import { assertAmountChargeable } from "../payments/currency";
import { productUpdatedEvent } from "../catalog/product-events";
import { afterShopEvents, shopEventStatements } from "../integrations/events";

/**
 * A product as staff see it: every column, hidden and timestamps, and its stock as the shelf has
 * it (docs/decisions/013): `stock` is ON HAND (what staff count and set), `held` the units taken
 * by unpaid pending orders (they come back if those orders close unpaid), `sellable` what
 * shoppers can still buy (on hand − held, the `products.stock` column).
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
  imageUrl: string | null;
  category: string | null;
  taxCode: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The fields staff may set on a product (API.md); nothing else is accepted. `stock` is on hand. */
export interface ProductFields {
  slug: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  hidden: boolean;
  imageUrl: string | null;
  category: string | null;
  taxCode: string | null;
}

/** A product row with the units its pending orders hold (0 when not looked up: a new product holds none). */
export type HeldProductRow = ProductRow & { held?: number };

/** Maps a row to the staff shape: on hand = sellable + held. */
export function toAdminProduct(row: HeldProductRow): AdminProduct {
  const { held = 0, ...rest } = row;
  return { ...rest, stock: row.stock + held, held, sellable: row.stock };
}

/**
 * The held units clause: Σ quantities of the product's lines in pending orders. One expression so
 * that a stock edit computes sellable = on hand − held in the same statement that writes it.
 */
function heldOf(productId: SQLParam) {
  return sql<number>`(SELECT coalesce(sum(${orderLines.quantity}), 0) FROM ${orderLines} JOIN ${orders} ON ${orders.id} = ${orderLines.orderId} WHERE ${orderLines.productId} = ${productId} AND ${orders.status} = 'pending')`;
}
type SQLParam = Parameters<typeof sql>[1];

/** Held units per product id (only ids with holds appear); any number of ids binds one parameter for them (a page is 100). */
export async function heldUnits(db: Database, productIds: string[]): Promise<Map<string, number>> {
  if (productIds.length === 0) return new Map();
  const rows = await db
    .select({ productId: orderLines.productId, held: sql<number>`sum(${orderLines.quantity})` })
    .from(orderLines)
    .innerJoin(orders, eq(orders.id, orderLines.orderId))
    .where(and(inList(orderLines.productId, productIds), eq(orders.status, "pending")))
    .groupBy(orderLines.productId);
  return new Map(rows.map((r) => [r.productId, Number(r.held)]));
}

/** One product as staff see it (on hand, held, sellable), or null. */
export async function findAdminProduct(db: Database, id: string): Promise<AdminProduct | null> {
  const row = await findProductById(db, id);
  if (!row) return null;
  return toAdminProduct({ ...row, held: (await heldUnits(db, [id])).get(id) ?? 0 });
}

/** A page of every product (hidden too), in id order after `cursor`. */
export async function listAllProducts(db: Database, cursor: string | null, limit: number): Promise<{ items: AdminProduct[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(products)
    .where(cursor ? gt(products.id, cursor) : undefined)
    .orderBy(asc(products.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const held = await heldUnits(
    db,
    page.map((r) => r.id),
  );
  const items = page.map((r) => toAdminProduct({ ...r, held: held.get(r.id) ?? 0 }));
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

/**
 * Applies a patch; returns the new row (with its held units), or `slug_taken` when the new slug
 * belongs to another product. `stock` in the patch is ON HAND: the sellable column becomes
 * on hand − held, computed in the same UPDATE (one D1 statement, so no checkout or close can slip
 * between the count and the write), and a held unit is never counted twice when its order closes.
 * On hand below the held units is 409 `stock_below_held` and changes nothing.
 */
export async function updateProduct(
  db: Database,
  id: string,
  patch: Partial<ProductFields>,
  changed: string[] = Object.keys(patch).filter((k) => patch[k as keyof ProductFields] !== undefined),
  /** After the edit is committed, with the batch's answers (the webhook relay's claimed deliveries). */
  afterCommit: (answers: readonly unknown[]) => Promise<void> = async () => {},
): Promise<HeldProductRow | "slug_taken" | null> {
  if (patch.slug) {
    const [other] = await db.select({ id: products.id }).from(products).where(eq(products.slug, patch.slug)).limit(1);
    if (other && other.id !== id) return "slug_taken";
  }
  const { stock: onHand, ...rest } = patch;
  const updatedAt = new Date().toISOString();
  try {
    // `product.updated` for integrations in the same batch as the edit (decision 023).
    const answers = await db.batch([
      db
        .update(products)
        .set({ ...rest, ...(onHand === undefined ? {} : { stock: sql`${onHand} - ${heldOf(products.id)}` }), updatedAt })
        .where(eq(products.id, id))
        .returning(),
      ...shopEventStatements(db, productUpdatedEvent(id, updatedAt, changed)),
    ]);
    const [row] = answers[0];
    if (!row) return null;
    await afterCommit(answers);
    return { ...row, held: (await heldUnits(db, [id])).get(id) ?? 0 };
  } catch (error) {
    if (String(error).includes("UNIQUE")) return "slug_taken";
    const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
    if (text.includes("products_stock_nonnegative")) {
      const held = (await heldUnits(db, [id])).get(id) ?? 0;
      throw new ProblemError(
        409,
        "stock_below_held",
        `On hand cannot be less than the ${held} units held by unpaid orders; they are still on the shelf until those orders close.`,
      );
    }
    throw error;
  }
}

/**
 * A staff change to a product: this isolate reads the catalog version again (decision 017) and
 * drops its shared pricing rows (decision 009) at once.
 */
function forgetCatalogCopies(d1: D1Database): void {
  forgetCatalogVersion();
  forgetPricingRows(d1);
}

/** Who made a staff change, for its audit event. */
export interface StaffActor {
  id: string;
  ip: string | null;
}

/** A single-currency shop (SHOP_CURRENCY) sells nothing priced in another currency (422 `currency_not_accepted`). */
function assertShopCurrency(env: Env, currency: string | undefined): void {
  const loaded = loadConfig(env);
  const only = loaded.ok ? loaded.config.SHOP_CURRENCY : undefined;
  if (only && currency !== undefined && currency !== only) {
    throw new ProblemError(422, "currency_not_accepted", `This shop sells in ${only} only.`);
  }
}

/** Creates a product and records `product.created` with the values set. */
export async function createProductAudited(env: Env, db: Database, actor: StaffActor, fields: ProductFields): Promise<ProductRow | "slug_taken"> {
  assertShopCurrency(env, fields.currency);
  // A price the provider could never charge in its currency is refused now, not at every checkout.
  assertAmountChargeable(fields.currency, fields.priceCents);
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
): Promise<HeldProductRow | "slug_taken" | null> {
  assertShopCurrency(env, patch.currency);
  const row = await findProductById(db, id);
  if (!row) return null;
  if (patch.priceCents !== undefined || patch.currency !== undefined) {
    assertAmountChargeable(patch.currency ?? row.currency, patch.priceCents ?? row.priceCents);
  }
  const held = (await heldUnits(db, [id])).get(id) ?? 0;
  // Compared as staff see it: stock is on hand.
  const changes = diffFields({ ...row, stock: row.stock + held }, patch);
  if (Object.keys(changes).length === 0) return { ...row, held };
  const after = await updateProduct(db, id, patch, Object.keys(changes), (answers) => afterShopEvents(env, answers));
  if (after === null || after === "slug_taken") return after;
  forgetCatalogCopies(env.DB);
  const stockNote = changes.stock ? { onHand: changes.stock, heldAtEdit: after.held ?? 0, sellable: after.stock } : undefined;
  await recordAudit(env, {
    actor: actor.id,
    action: "product.updated",
    subject: id,
    detail: stockNote ? { changes, stock: stockNote } : { changes },
    ip: actor.ip,
  });
  return after;
}
