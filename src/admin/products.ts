import { syncGateCredits } from "../stock-gate/credits";
import { loadConfig } from "../platform/config";
import { eq } from "drizzle-orm";
import { ProblemError } from "../platform/problem";
import { recordAudit } from "../audit/audit";
import { forgetCatalogVersion } from "../catalog/page-cache";
import { forgetPricingRows } from "../catalog/shared-pricing";
import type { Database } from "../db/client";
import { products, type ProductRow, type ProductStatus } from "../catalog/schema";
import type { ProductOption } from "../catalog/variants";
import {
  assertOptions,
  insertVariantStatement,
  optionStatements,
  updateVariant,
  variantWriteProblem,
  type StaffActor,
  type VariantFields,
} from "./product-variants";

export type { StaffActor } from "./product-variants";
import { findAdminProduct, findProductById, toAdminProduct, withVariants, type AdminProduct, type ProductWithVariants } from "./product-reads";
export type { AdminProduct, ProductWithVariants } from "./product-reads";
export { findAdminProduct, findProductById, findProductWithVariants, listAllProducts, toAdminProduct } from "./product-reads";
import { assertAmountChargeable } from "../payments/currency";
import { productUpdatedEvent } from "../catalog/product-events";
import { freeSlug, slugFromName } from "../catalog/slugs";
import { afterShopEvents, shopEventStatements } from "../integrations/events";

/**
 * The fields staff may set on a product (API.md); nothing else is accepted. `stock` is on hand and,
 * with `priceCents`, belongs to the product's default variant (a product with options: edit its
 * variants). `hidden` (API.md's field) and `status` say the same: hidden is "not active".
 */
export interface ProductFields {
  slug: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  hidden?: boolean | undefined;
  status?: ProductStatus | undefined;
  vendor?: string | null | undefined;
  productType?: string | null | undefined;
  tags?: string[] | undefined;
  imageUrl: string | null;
  category: string | null;
  taxCode: string | null;
}

/** A new product's fields: without a slug, one is made from its name. */
export type NewProductFields = Omit<ProductFields, "slug"> & { slug?: string | undefined };

/** What a new product may carry besides its fields: options and one variant per combination sold. */
export interface NewProductVariants {
  options?: ProductOption[] | undefined;
  variants?: Partial<VariantFields>[] | undefined;
}

/** A stock edit as the audit event tells it: on hand before and after, held at the edit, sellable after. */
interface StockNote {
  onHand: { from: number; to: number };
  heldAtEdit: number;
  sellable: number;
}

/** The status a patch or a new product asks for: `status` wins; `hidden` true is a draft, false is active. */
function statusOf(fields: Partial<ProductFields>, current?: ProductStatus): ProductStatus | undefined {
  if (fields.status) return fields.status;
  if (fields.hidden === undefined) return undefined;
  if (fields.hidden) return current && current !== "active" ? current : "draft";
  return "active";
}

/** The variant fields a new product's default variant takes from the product's own fields. */
function defaultVariant(fields: ProductFields): VariantFields {
  return {
    sku: null,
    options: {},
    priceCents: fields.priceCents,
    compareAtPriceCents: null,
    stock: fields.stock,
    weightGrams: null,
    barcode: null,
    imageUrl: null,
    lowStockThreshold: null,
    position: 0,
  };
}

/**
 * Inserts a product with its options and variants in one batch (a product without options gets
 * its default variant from `priceCents` and `stock`); null when the slug is taken.
 */
export async function createProduct(db: Database, fields: ProductFields, extra: NewProductVariants, actor: string): Promise<ProductRow | null> {
  const { hidden: _hidden, status: _status, tags, ...columns } = fields;
  const options = extra.options ?? [];
  assertOptions(options);
  if (options.length > 0 && (extra.variants ?? []).length === 0) {
    throw new ProblemError(422, "variants_required", "A product with options needs at least one variant.");
  }
  const variants: VariantFields[] =
    options.length === 0 ? [defaultVariant(fields)] : extra.variants!.map((v, i) => ({ ...defaultVariant(fields), ...v, position: v.position || i }));
  const id = `prd_${crypto.randomUUID().replaceAll("-", "")}`;
  const [slugTaken] = await db.select({ id: products.id }).from(products).where(eq(products.slug, fields.slug)).limit(1);
  if (slugTaken) return null;
  try {
    const [inserted] = await db.batch([
      db
        .insert(products)
        .values({ id, ...columns, status: statusOf(fields) ?? "active", tags: JSON.stringify(tags ?? []) })
        .returning(),
      ...optionStatements(db, id, options),
      ...variants.map((v) => insertVariantStatement(db, id, options, v, actor)),
    ]);
    return (await findProductById(db, (inserted as ProductRow[])[0]!.id)) ?? null;
  } catch (error) {
    if (String(error).includes("products.slug")) return null;
    throw variantWriteProblem(error, 0) ?? error;
  }
}

/** Field-by-field changes between a row and a patch: `{ field: { from, to } }`, only real changes. */
export function diffFields<T extends object>(before: T, patch: Partial<T>): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries(patch)) {
    if (to === undefined) continue;
    const from = (before as Record<string, unknown>)[key];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
  }
  return changes;
}

/**
 * Applies a patch; returns the new row, or `slug_taken` when the new slug belongs to another
 * product. Product fields go to the product; `priceCents` and `stock` (ON HAND) go to its default
 * variant (updateVariant: sellable = on hand − held in one UPDATE, a ledger row naming the
 * staff member). A product with options or several variants: 422 `variant_required`.
 */
export async function updateProduct(
  db: Database,
  actor: StaffActor,
  current: ProductWithVariants,
  patch: Partial<ProductFields>,
  changed: string[] = Object.keys(patch).filter((k) => patch[k as keyof ProductFields] !== undefined),
  /** After the edit is committed, with the batch's answers (the webhook relay's claimed deliveries). */
  afterCommit: (answers: readonly unknown[]) => Promise<void> = async () => {},
): Promise<{ row: ProductRow; stockNote?: StockNote | undefined } | "slug_taken" | null> {
  const id = current.row.id;
  if (patch.slug) {
    const [other] = await db.select({ id: products.id }).from(products).where(eq(products.slug, patch.slug)).limit(1);
    if (other && other.id !== id) return "slug_taken";
  }
  const { stock: onHand, priceCents, hidden: _hidden, status: _status, tags, ...rest } = patch;
  let stockNote: StockNote | undefined;
  if (onHand !== undefined || priceCents !== undefined) {
    const only = current.variants.length === 1 && current.options.length === 0 ? current.variants[0]! : null;
    if (!only) throw new ProblemError(422, "variant_required", "This product has variants: change price and stock on each variant.");
    const variantPatch = { ...(onHand === undefined ? {} : { stock: onHand }), ...(priceCents === undefined ? {} : { priceCents }) };
    const edited = await updateVariant(db, actor, {
      productId: id,
      currency: patch.currency ?? current.row.currency,
      options: [],
      variantId: only.id,
      patch: variantPatch,
    });
    if (edited && onHand !== undefined) {
      stockNote = {
        onHand: { from: only.stock + (current.heldByVariant.get(only.id) ?? 0), to: onHand },
        heldAtEdit: edited.held,
        sellable: edited.after.stock,
      };
    }
  }
  const status = statusOf(patch, current.row.status);
  const updatedAt = new Date().toISOString();
  try {
    // `product.updated` for integrations in the same batch as the edit (decision 023); it reads the
    // product's price and stock after its variant's edit above.
    const answers = await db.batch([
      db
        .update(products)
        .set({ ...rest, ...(status ? { status } : {}), ...(tags ? { tags: JSON.stringify(tags) } : {}), updatedAt })
        .where(eq(products.id, id))
        .returning(),
      ...shopEventStatements(db, productUpdatedEvent(id, updatedAt, changed)),
    ]);
    const [row] = answers[0];
    if (!row) return null;
    await afterCommit(answers);
    return { row, stockNote };
  } catch (error) {
    if (String(error).includes("UNIQUE")) return "slug_taken";
    throw error;
  }
}

/**
 * A staff change to a product: this isolate reads the catalog version again (decision 017) and
 * drops its shared pricing rows (decision 009) at once.
 */
export function forgetCatalogCopies(d1: D1Database): void {
  forgetCatalogVersion();
  forgetPricingRows(d1);
}

/** A single-currency shop (SHOP_CURRENCY) sells nothing priced in another currency (422 `currency_not_accepted`). */
function assertShopCurrency(env: Env, currency: string | undefined): void {
  const loaded = loadConfig(env);
  const only = loaded.ok ? loaded.config.SHOP_CURRENCY : undefined;
  if (only && currency !== undefined && currency !== only) {
    throw new ProblemError(422, "currency_not_accepted", `This shop sells in ${only} only.`);
  }
}

/** Creates a product (with its options and variants) and records `product.created` with the values set. */
export async function createProductAudited(
  env: Env,
  db: Database,
  actor: StaffActor,
  input: NewProductFields,
  extra: NewProductVariants = {},
): Promise<ProductRow | "slug_taken"> {
  // No slug given: one made from the name, with a suffix when another product has it (never a 409).
  const fields: ProductFields = { ...input, slug: input.slug ?? (await freeSlug(db, slugFromName(input.name))) };
  assertShopCurrency(env, fields.currency);
  // A price the provider could never charge in its currency is refused now, not at every checkout.
  assertAmountChargeable(fields.currency, fields.priceCents);
  for (const v of extra.variants ?? []) if (v.priceCents !== undefined) assertAmountChargeable(fields.currency, v.priceCents);
  const row = await createProduct(db, fields, extra, actor.id);
  if (!row) return "slug_taken";
  forgetCatalogCopies(env.DB);
  await recordAudit(env, { actor: actor.id, action: "product.created", subject: row.id, detail: { after: { ...fields, ...extra } }, ip: actor.ip });
  return row;
}

/** Applies a patch and records `product.updated` with before/after of the changed fields only. */
export async function updateProductAudited(
  env: Env,
  db: Database,
  actor: StaffActor,
  id: string,
  patch: Partial<ProductFields>,
): Promise<AdminProduct | "slug_taken" | null> {
  assertShopCurrency(env, patch.currency);
  const row = await findProductById(db, id);
  if (!row) return null;
  const [current] = await withVariants(db, [row]);
  const before = toAdminProduct(current!);
  if (patch.priceCents !== undefined || patch.currency !== undefined) {
    assertAmountChargeable(patch.currency ?? row.currency, patch.priceCents ?? row.priceCents);
  }
  // Compared as staff see it: stock is on hand, hidden and status as the API shows them.
  const changes = diffFields(before as unknown as ProductFields, patch);
  if (Object.keys(changes).length === 0) return before;
  // Only what changed is written: an unchanged price or stock of a product with variants is no edit of them.
  const changed = Object.fromEntries(Object.keys(changes).map((k) => [k, (patch as Record<string, unknown>)[k]])) as Partial<ProductFields>;
  const after = await updateProduct(db, actor, current!, changed, Object.keys(changes), (answers) => afterShopEvents(env, answers));
  if (after === null || after === "slug_taken") return after;
  if (changed.stock !== undefined)
    await syncGateCredits(
      env,
      current!.variants.map((v) => v.id),
    );
  forgetCatalogCopies(env.DB);
  const detail = after.stockNote ? { changes, stock: after.stockNote } : { changes };
  await recordAudit(env, { actor: actor.id, action: "product.updated", subject: id, detail, ip: actor.ip });
  return findAdminProduct(db, id);
}
