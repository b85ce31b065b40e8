import { asc, eq, sql } from "drizzle-orm";
import { inList, type Database } from "../db/client";
import { productOptions, productVariants, type ProductOptionRow, type ProductVariantRow } from "./schema";

// Options and variants (docs/decisions/025-variants.md): how their rows read as the API's shapes.

/** An option of a product: its name and values in display order. */
export interface ProductOption {
  name: string;
  values: string[];
}

/** A variant as shoppers see it: never a stock count, only whether it can be bought. */
export interface PublicVariant {
  id: string;
  sku: string | null;
  /** Option name → value (`{ Color: "Green", Size: "M" }`); `{}` for a default variant. */
  options: Record<string, string>;
  priceCents: number;
  compareAtPriceCents: number | null;
  inStock: boolean;
  /** How many are left when only a few are (1 to LOW_STOCK_LEVEL), else null. */
  lowStock: number | null;
  imageUrl: string | null;
}

/** At most three options per product (Shopify's limit, and option1–3). */
export const MAX_OPTIONS = 3;

/** The option values of a variant row, in option order. */
export function variantValues(row: Pick<ProductVariantRow, "option1" | "option2" | "option3">): string[] {
  return [row.option1, row.option2, row.option3];
}

/** A variant's option values by name (`{ Color: "Green" }`), following the product's options by position. */
export function optionsRecord(options: readonly ProductOption[], row: Pick<ProductVariantRow, "option1" | "option2" | "option3">): Record<string, string> {
  const values = variantValues(row);
  const record: Record<string, string> = {};
  options.forEach((option, i) => {
    if (values[i]) record[option.name] = values[i]!;
  });
  return record;
}

/** "Green / M": a variant's values for a line or a receipt; "" for a default variant. */
export function optionsLabel(values: Record<string, string>): string {
  return Object.values(values).join(" / ");
}

/** "Shirt (Green / M)", or the name alone for a default variant: two sizes of one shirt never share a name. */
export function variantTitle(name: string, values: Record<string, string>): string {
  const options = optionsLabel(values);
  return options ? `${name} (${options})` : name;
}

/** Option rows (any order) as the API's options, by position. */
export function toOptions(rows: readonly ProductOptionRow[]): ProductOption[] {
  return [...rows].sort((a, b) => a.position - b.position).map((r) => ({ name: r.name, values: parseStringArray(r.values) }));
}

/** A JSON array of strings as stored by us; anything else reads as empty (never a 500 on a bad row). */
export function parseStringArray(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}

/** A JSON object of strings (order lines' `option_values`); anything else reads as empty. */
export function parseOptionValues(text: string): Record<string, string> {
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== "object" || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return {};
  }
}

/** `products.id` spelled with its table: drizzle leaves a column of a one-table select unqualified, which inside these subqueries would name theirs. */
const productIdColumn = sql.raw(`"products"."id"`);

/**
 * The options and variants of a product as two JSON columns of the same SELECT (one statement per
 * catalog read, no extra round trip): `options_json` and `variants_json`, in display order.
 */
export const optionsJsonColumn = sql<string>`(SELECT json_group_array(json_object('name', o.name, 'values', json(o."values"))) FROM (SELECT name, "values" FROM ${productOptions} o WHERE o.product_id = ${productIdColumn} ORDER BY o.position) o)`;
/**
 * At or below this many, pages say how many are left. The catalog version changes with every
 * stock move at or below it (migrations low_stock_pages and variants), so a shared page never shows a stale count.
 */
export const LOW_STOCK_LEVEL = 5;

/** Each variant as JSON; its stock only as 0 to LOW_STOCK_LEVEL + 1 ("more than a few"), never the count. */
export const variantsJsonColumn = sql<string>`(SELECT json_group_array(json_object('id', v.id, 'sku', v.sku, 'o1', v.option1, 'o2', v.option2, 'o3', v.option3, 'p', v.price_cents, 'c', v.compare_at_price_cents, 's', min(max(v.stock, 0), ${sql.raw(String(LOW_STOCK_LEVEL + 1))}), 'i', v.image_url)) FROM (SELECT * FROM ${productVariants} v WHERE v.product_id = ${productIdColumn} ORDER BY v.position, v.id) v)`;

interface VariantJson {
  id: string;
  sku: string | null;
  o1: string;
  o2: string;
  o3: string;
  p: number;
  c: number | null;
  /** Stock clamped to 0 … LOW_STOCK_LEVEL + 1. */
  s: number;
  i: string | null;
}

/** The two JSON columns read back as the public shapes. */
export function publicOptionsAndVariants(optionsJson: string | null, variantsJson: string | null): { options: ProductOption[]; variants: PublicVariant[] } {
  const options = (JSON.parse(optionsJson ?? "[]") as ProductOption[]).map((o) => ({ name: o.name, values: Array.isArray(o.values) ? o.values : [] }));
  const variants = (JSON.parse(variantsJson ?? "[]") as VariantJson[]).map((v) => ({
    id: v.id,
    sku: v.sku,
    options: optionsRecord(options, { option1: v.o1, option2: v.o2, option3: v.o3 }),
    priceCents: v.p,
    compareAtPriceCents: v.c,
    inStock: v.s > 0,
    lowStock: v.s > 0 && v.s <= LOW_STOCK_LEVEL ? v.s : null,
    imageUrl: v.i,
  }));
  return { options, variants };
}

/** Options and variant rows of some products (any product status), by product id. */
export async function optionsAndVariantsOf(
  db: Database,
  productIds: string[],
): Promise<Map<string, { options: ProductOption[]; variants: ProductVariantRow[] }>> {
  const found = new Map<string, { options: ProductOption[]; variants: ProductVariantRow[] }>();
  if (productIds.length === 0) return found;
  const [optionRows, variantRows] = await db.batch([
    db.select().from(productOptions).where(inList(productOptions.productId, productIds)),
    db.select().from(productVariants).where(inList(productVariants.productId, productIds)).orderBy(asc(productVariants.position), asc(productVariants.id)),
  ]);
  for (const id of productIds) found.set(id, { options: [], variants: [] });
  const optionsByProduct = new Map<string, ProductOptionRow[]>();
  for (const row of optionRows) optionsByProduct.set(row.productId, [...(optionsByProduct.get(row.productId) ?? []), row]);
  for (const [id, rows] of optionsByProduct) found.get(id)!.options = toOptions(rows);
  for (const row of variantRows) found.get(row.productId)?.variants.push(row);
  return found;
}

/** One variant row by id, or null. */
export async function findVariant(db: Database, variantId: string): Promise<ProductVariantRow | null> {
  const [row] = await db.select().from(productVariants).where(eq(productVariants.id, variantId)).limit(1);
  return row ?? null;
}

/** A new variant's id. Migrated default variants are `var_` + their product's id (decision 025). */
export function newVariantId(): string {
  return `var_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The id migration "variants" (0019) gave a product's default variant (and carts stored before it name). */
export function migratedDefaultVariantId(productId: string): string {
  return `var_${productId}`;
}

/** What a product page shows as chosen: a value per option, and the variant that sells it (null: that combination is not sold). */
export interface VariantChoice {
  values: string[];
  variant: PublicVariant | null;
}

/**
 * The choice a product page shows for the values a shopper asked for (`o1`…`o3`, by option
 * position). A value that is not one of its option's values counts as not asked; unasked options
 * take the values of the first variant in stock (or the first variant). The answer names only
 * values of the product, so a page keyed by it is one of a bounded few.
 */
export function chooseVariant(product: { options: ProductOption[]; variants: PublicVariant[] }, asked: readonly (string | undefined)[]): VariantChoice {
  const { options, variants } = product;
  if (options.length === 0) return { values: [], variant: variants[0] ?? null };
  const preferred = variants.find((v) => v.inStock) ?? variants[0];
  const values = options.map((o, i) => {
    const wanted = asked[i];
    return wanted !== undefined && o.values.includes(wanted) ? wanted : (preferred?.options[o.name] ?? o.values[0]!);
  });
  const variant = variants.find((v) => options.every((o, i) => v.options[o.name] === values[i])) ?? null;
  return { values, variant };
}
