// What carts and checkout read of the variants they price: active products only (P04), one
// statement for any number of ids (the ids bound as one JSON array).
import { and, eq, sql } from "drizzle-orm";
import { inList, type Database } from "../db/client";
import { products, productVariants } from "./schema";

/**
 * What pricing a cart needs of a variant: its product's name, slug and currency beside its own
 * price, stock, SKU and option values, and how many options its product has (a product with
 * options needs a variant chosen). Never a description, image or timestamps (less to move).
 */
export interface PricingVariant {
  variantId: string;
  productId: string;
  slug: string;
  name: string;
  currency: string;
  priceCents: number;
  stock: number;
  /** Its stock-gate shard count (decision 028). */
  gateShards: number;
  sku: string | null;
  option1: string;
  option2: string;
  option3: string;
  optionNames: string;
  taxCode: string | null;
  /** The variant's own image, else its product's (the cart's thumbnail). */
  imageUrl: string | null;
}

// No two columns share a name: D1's batch answers rows by column name (a second `id` would shift them).
const pricingColumns = {
  variantId: productVariants.id,
  productId: productVariants.productId,
  slug: products.slug,
  name: products.name,
  currency: products.currency,
  priceCents: productVariants.priceCents,
  stock: productVariants.stock,
  gateShards: productVariants.gateShards,
  sku: productVariants.sku,
  option1: productVariants.option1,
  option2: productVariants.option2,
  option3: productVariants.option3,
  // The product's option names in order, a JSON array ('[]' without options).
  optionNames:
    sql<string>`(SELECT json_group_array(name) FROM (SELECT name FROM product_options WHERE product_id = ${sql.raw(`"products"."id"`)} ORDER BY position))`.as(
      "option_names",
    ),
  taxCode: products.taxCode,
  imageUrl: sql<string | null>`coalesce(${productVariants.imageUrl}, ${products.imageUrl})`.as("image_url"),
};

/**
 * The pricing rows of variants by id, of active products only (P04), as an unexecuted query (for
 * a batch); `variantIds` must not be empty. The ids are bound as one JSON array, so the
 * statement's text is the same for any number of ids.
 */
export function pricingVariantsQuery(db: Database, variantIds: string[]) {
  return db
    .select(pricingColumns)
    .from(productVariants)
    .innerJoin(products, eq(products.id, productVariants.productId))
    .where(and(eq(products.status, "active"), inList(productVariants.id, variantIds)));
}

/** The pricing rows of every variant of active products by product id (an add that names no variant). */
export function pricingVariantsOfProductsQuery(db: Database, productIds: string[]) {
  return db
    .select(pricingColumns)
    .from(productVariants)
    .innerJoin(products, eq(products.id, productVariants.productId))
    .where(and(eq(products.status, "active"), inList(products.id, productIds)));
}

/** The variant an active product sells for these option values (by position; '' past its options), or null. */
export async function variantIdForOptions(db: Database, productId: string, values: [string, string, string]): Promise<string | null> {
  const [row] = await db
    .select({ id: productVariants.id })
    .from(productVariants)
    .innerJoin(products, eq(products.id, productVariants.productId))
    .where(
      and(
        eq(products.status, "active"),
        eq(productVariants.productId, productId),
        eq(productVariants.option1, values[0]),
        eq(productVariants.option2, values[1]),
        eq(productVariants.option3, values[2]),
      ),
    )
    .limit(1);
  return row?.id ?? null;
}
