import { syncGateCredits } from "../stock-gate/credits";
import { and, eq, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { productOptions, productVariants, type ProductVariantRow } from "../catalog/schema";
import { findVariant, MAX_OPTIONS, newVariantId, optionsRecord, type ProductOption } from "../catalog/variants";
import { orderLines, orders } from "../checkout/schema";
import { inList, type Database } from "../db/client";
import { assertAmountChargeable } from "../payments/currency";
import { ProblemError } from "../platform/problem";

// Staff's side of variants (decision 025): stock as the shelf has it (on hand = sellable + held,
// docs/decisions/013), edits that say who made them (the ledger's actor), options kept in step
// with the variants that use their values.

/** A variant as staff see it: every field, stock on hand, held by unpaid orders, sellable. */
export interface AdminVariant {
  id: string;
  sku: string | null;
  options: Record<string, string>;
  priceCents: number;
  compareAtPriceCents: number | null;
  stock: number;
  held: number;
  sellable: number;
  weightGrams: number | null;
  barcode: string | null;
  imageUrl: string | null;
  lowStockThreshold: number | null;
  position: number;
}

/** What staff may set on a variant; `stock` is on hand; `options` by option name. */
export interface VariantFields {
  sku: string | null;
  options: Record<string, string>;
  priceCents: number;
  compareAtPriceCents: number | null;
  stock: number;
  weightGrams: number | null;
  barcode: string | null;
  imageUrl: string | null;
  lowStockThreshold: number | null;
  position: number;
}

/** Who made a staff change, for its audit event and the ledger. */
export interface StaffActor {
  id: string;
  ip: string | null;
}

export function toAdminVariant(options: readonly ProductOption[], row: ProductVariantRow, held: number): AdminVariant {
  return {
    id: row.id,
    sku: row.sku,
    options: optionsRecord(options, row),
    priceCents: row.priceCents,
    compareAtPriceCents: row.compareAtPriceCents,
    stock: row.stock + held,
    held,
    sellable: row.stock,
    weightGrams: row.weightGrams,
    barcode: row.barcode,
    imageUrl: row.imageUrl,
    lowStockThreshold: row.lowStockThreshold,
    position: row.position,
  };
}

/** The held units clause for a variant: Σ quantities of its lines in pending orders (one expression, used inside the UPDATE). */
function heldOfVariant(variantId: unknown) {
  return sql<number>`(SELECT coalesce(sum(${orderLines.quantity}), 0) FROM ${orderLines} JOIN ${orders} ON ${orders.id} = ${orderLines.orderId} WHERE ${orderLines.variantId} = ${variantId} AND ${orders.status} = 'pending')`;
}

/** Held units per variant id (only ids with holds appear); any number of ids binds one parameter. */
export async function heldByVariant(db: Database, variantIds: string[]): Promise<Map<string, number>> {
  if (variantIds.length === 0) return new Map();
  const rows = await db
    .select({ variantId: orderLines.variantId, held: sql<number>`sum(${orderLines.quantity})` })
    .from(orderLines)
    .innerJoin(orders, eq(orders.id, orderLines.orderId))
    .where(and(inList(orderLines.variantId, variantIds), eq(orders.status, "pending")))
    .groupBy(orderLines.variantId);
  return new Map(rows.map((r) => [r.variantId, Number(r.held)]));
}

/** The option1–3 columns for a variant's values by name, checked against the product's options (422 `variant_options_invalid`). */
export function optionColumns(options: readonly ProductOption[], values: Record<string, string>): { option1: string; option2: string; option3: string } {
  const names = Object.keys(values);
  const known = options.map((o) => o.name);
  if (names.length !== known.length || names.some((n) => !known.includes(n))) {
    throw new ProblemError(422, "variant_options_invalid", `A variant names one value for each option of its product: ${known.join(", ") || "none"}.`);
  }
  const columns = options.map((o) => {
    const value = values[o.name]!;
    if (!o.values.includes(value)) throw new ProblemError(422, "variant_options_invalid", `${o.name} has no value "${value}".`);
    return value;
  });
  return { option1: columns[0] ?? "", option2: columns[1] ?? "", option3: columns[2] ?? "" };
}

/** Checks a set of options: at most three, distinct names, each with distinct non-empty values. */
export function assertOptions(options: readonly ProductOption[]): void {
  if (options.length > MAX_OPTIONS) throw new ProblemError(422, "options_invalid", "A product has at most three options.");
  const names = new Set(options.map((o) => o.name));
  if (names.size !== options.length) throw new ProblemError(422, "options_invalid", "Option names must differ.");
  for (const o of options) {
    if (o.values.length === 0 || new Set(o.values).size !== o.values.length) {
      throw new ProblemError(422, "options_invalid", `${o.name} needs distinct values.`);
    }
  }
}

/** A constraint failure as a problem: a taken SKU, a combination already sold, stock below what is held. */
export function variantWriteProblem(error: unknown, held: number): ProblemError | null {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  if (text.includes("product_variants.sku")) return new ProblemError(409, "sku_taken", "Another variant has this SKU.");
  if (text.includes("product_variants.product_id"))
    return new ProblemError(409, "variant_exists", "This product already has a variant with these option values.");
  if (text.includes("product_variants_stock_nonnegative")) {
    return new ProblemError(
      409,
      "stock_below_held",
      `On hand cannot be less than the ${held} units held by unpaid orders; they are still on the shelf until those orders close.`,
    );
  }
  return null;
}

/** The statements that write a product's options (replacing any), for a batch. */
export function optionStatements(db: Database, productId: string, options: readonly ProductOption[]) {
  return [
    db.delete(productOptions).where(eq(productOptions.productId, productId)),
    ...options.map((o, i) => db.insert(productOptions).values({ productId, position: i + 1, name: o.name, values: JSON.stringify(o.values) })),
  ];
}

/** A new variant's insert (its opening stock is a ledger row by `actor`), for a batch. */
export function insertVariantStatement(db: Database, productId: string, options: readonly ProductOption[], fields: VariantFields, actor: string) {
  return db.insert(productVariants).values({
    id: newVariantId(),
    productId,
    sku: fields.sku,
    ...optionColumns(options, fields.options),
    priceCents: fields.priceCents,
    compareAtPriceCents: fields.compareAtPriceCents,
    stock: fields.stock,
    weightGrams: fields.weightGrams,
    barcode: fields.barcode,
    imageUrl: fields.imageUrl,
    lowStockThreshold: fields.lowStockThreshold,
    position: fields.position,
    stockReason: "staff_edit",
    stockActor: actor,
  });
}

/**
 * Applies a patch to one variant of `productId` (another product's variant is not found); `stock`
 * is ON HAND: sellable becomes on hand − held in the same UPDATE (no checkout can slip between the
 * count and the write), and the ledger row names the staff member. Audited `product.variant_updated`.
 */
export async function updateVariantAudited(
  env: Env,
  db: Database,
  actor: StaffActor,
  input: { productId: string; currency: string; options: readonly ProductOption[]; variantId: string; patch: Partial<VariantFields> },
): Promise<ProductVariantRow | null> {
  const result = await updateVariant(db, actor, input);
  if (!result) return null;
  if (input.patch.stock !== undefined) await syncGateCredits(env, [input.variantId]);
  await recordAudit(env, {
    actor: actor.id,
    action: "product.variant_updated",
    subject: input.productId,
    detail: { variantId: input.variantId, changes: result.changes },
    ip: actor.ip,
  });
  return result.after;
}

/**
 * `updateVariantAudited` without its audit event (a product's own edit of its default variant is
 * audited as `product.updated`): the new row, the changes (stock as on hand) and the units held.
 */
export async function updateVariant(
  db: Database,
  actor: StaffActor,
  input: { productId: string; currency: string; options: readonly ProductOption[]; variantId: string; patch: Partial<VariantFields> },
): Promise<{ after: ProductVariantRow; changes: Record<string, { from: unknown; to: unknown }>; held: number } | null> {
  const { patch } = input;
  const before = await findVariant(db, input.variantId);
  if (!before || before.productId !== input.productId) return null;
  if (patch.priceCents !== undefined) assertAmountChargeable(input.currency, patch.priceCents);
  const { stock: onHand, options: values, ...rest } = patch;
  const held = (await heldByVariant(db, [before.id])).get(before.id) ?? 0;
  const set = {
    ...rest,
    ...(values === undefined ? {} : optionColumns(input.options, values)),
    ...(onHand === undefined ? {} : { stock: sql`${onHand} - ${heldOfVariant(productVariants.id)}`, stockReason: "staff_edit" as const, stockActor: actor.id }),
    updatedAt: new Date().toISOString(),
  };
  let after: ProductVariantRow | undefined;
  try {
    [after] = await db
      .update(productVariants)
      .set(set)
      .where(and(eq(productVariants.id, before.id), eq(productVariants.productId, input.productId)))
      .returning();
  } catch (error) {
    throw variantWriteProblem(error, held) ?? error;
  }
  if (!after) return null;
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries({ ...rest, ...(values ? { options: values } : {}) })) {
    const from = key === "options" ? optionsRecord(input.options, before) : (before as Record<string, unknown>)[key];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
  }
  if (onHand !== undefined) changes.stock = { from: before.stock + held, to: onHand };
  return { after, changes, held };
}

/** Adds a variant to a product (its options must name a combination not sold yet). Audited `product.variant_created`. */
export async function addVariantAudited(
  env: Env,
  db: Database,
  actor: StaffActor,
  input: { productId: string; currency: string; options: readonly ProductOption[]; fields: VariantFields },
): Promise<void> {
  assertAmountChargeable(input.currency, input.fields.priceCents);
  try {
    await insertVariantStatement(db, input.productId, input.options, input.fields, actor.id);
  } catch (error) {
    throw variantWriteProblem(error, 0) ?? error;
  }
  await recordAudit(env, { actor: actor.id, action: "product.variant_created", subject: input.productId, detail: { after: input.fields }, ip: actor.ip });
}

/**
 * Deletes a variant of a product (never its last: a product sells at least one). Pending orders
 * keep their lines (frozen); their held units simply do not come back to a variant that is gone.
 */
export async function deleteVariantAudited(env: Env, db: Database, actor: StaffActor, productId: string, variantId: string): Promise<boolean> {
  const [count] = await db.select({ n: sql<number>`count(*)` }).from(productVariants).where(eq(productVariants.productId, productId));
  const [deleted] = await db
    .delete(productVariants)
    .where(and(eq(productVariants.id, variantId), eq(productVariants.productId, productId), sql`${count?.n ?? 0} > 1`))
    .returning();
  if (!deleted) {
    if ((count?.n ?? 0) <= 1 && (await findVariant(db, variantId))?.productId === productId) {
      throw new ProblemError(409, "last_variant", "A product sells at least one variant; delete or archive the product instead.");
    }
    return false;
  }
  await recordAudit(env, { actor: actor.id, action: "product.variant_deleted", subject: productId, detail: { variantId, sku: deleted.sku }, ip: actor.ip });
  return true;
}

/**
 * Replaces a product's options. With the same number of options, every variant's values must stay
 * among the new values (names may change, values may be added or reordered); a product with one
 * variant may gain or lose options (that variant takes each new option's first value). Anything
 * else would leave variants meaning nothing: 409 `options_in_use`. Audited `product.options_updated`.
 */
export async function setOptionsAudited(
  env: Env,
  db: Database,
  actor: StaffActor,
  input: { productId: string; before: readonly ProductOption[]; variants: readonly ProductVariantRow[]; options: ProductOption[] },
): Promise<void> {
  assertOptions(input.options);
  const { options, variants } = input;
  const updates = [];
  if (options.length === input.before.length) {
    for (const v of variants) {
      const values = [v.option1, v.option2, v.option3];
      options.forEach((o, i) => {
        if (!o.values.includes(values[i]!)) throw new ProblemError(409, "options_in_use", `A variant still sells ${input.before[i]?.name} "${values[i]}".`);
      });
    }
  } else if (variants.length === 1) {
    const first = options.map((o) => o.values[0]!);
    updates.push(
      db
        .update(productVariants)
        .set({ option1: first[0] ?? "", option2: first[1] ?? "", option3: first[2] ?? "", updatedAt: new Date().toISOString() })
        .where(eq(productVariants.id, variants[0]!.id)),
    );
  } else {
    throw new ProblemError(409, "options_in_use", "Options can be added or removed only while the product has one variant.");
  }
  await db.batch([...optionStatements(db, input.productId, options), ...updates] as unknown as Parameters<typeof db.batch>[0]);
  await recordAudit(env, {
    actor: actor.id,
    action: "product.options_updated",
    subject: input.productId,
    detail: { from: input.before, to: options },
    ip: actor.ip,
  });
}
