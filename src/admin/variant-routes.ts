import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { actorOf } from "./guard";
import { addVariantAudited, deleteVariantAudited, setOptionsAudited, updateVariantAudited } from "./product-variants";
import { findAdminProduct, findProductWithVariants, forgetCatalogCopies } from "./products";
import { guarded, jsonContent } from "./staff-api";
import { mailLowStockAlerts } from "./low-stock";

// Staff API for options and variants (decision 025). The product schemas of product-routes.ts use
// these shapes too.

const OptionValue = z.string().trim().min(1).max(100);
export const OptionsSchema = z
  .array(z.object({ name: z.string().trim().min(1).max(100), values: z.array(OptionValue).min(1).max(100) }).strict())
  .max(3)
  .openapi("ProductOptions", { example: [{ name: "Color", values: ["Green", "Navy"] }] });

export const AdminVariantSchema = z
  .object({
    id: z.string(),
    sku: z.string().nullable(),
    options: z.record(z.string(), z.string()),
    priceCents: z.number().int(),
    compareAtPriceCents: z.number().int().nullable(),
    stock: z.number().int().openapi({ description: "On hand: what staff counted (sellable + held)" }),
    held: z.number().int(),
    sellable: z.number().int(),
    weightGrams: z.number().int().nullable(),
    barcode: z.string().nullable(),
    imageUrl: z.string().nullable(),
    lowStockThreshold: z.number().int().nullable().openapi({ description: "Staff are mailed once when sellable stock falls to it or below" }),
    position: z.number().int(),
  })
  .openapi("AdminVariant");

const IMAGE_PATH = /^\/(?:media\/products\/[0-9a-f]{64}\.(?:png|jpg|gif|webp|avif|svg)|images\/[a-z0-9][a-z0-9-]{0,100}\.(?:svg|png|jpg|webp|avif))$/;

// Strict: a key outside the contract is a 422, never silently applied (P16).
const variantFields = {
  sku: z.string().trim().min(1).max(100).nullable(),
  options: z.record(z.string(), OptionValue).openapi({ example: { Color: "Green", Size: "M" } }),
  priceCents: z.number().int().min(0).max(100_000_000),
  compareAtPriceCents: z.number().int().min(0).max(100_000_000).nullable(),
  stock: z.number().int().min(0).max(1_000_000).openapi({ description: "On hand" }),
  weightGrams: z.number().int().min(0).max(1_000_000).nullable(),
  barcode: z.string().trim().min(1).max(64).nullable(),
  imageUrl: z.string().max(300).regex(IMAGE_PATH, "a path on this shop: /media/... from an upload, or /images/...").nullable(),
  lowStockThreshold: z.number().int().min(0).max(1_000_000).nullable(),
  position: z.number().int().min(0).max(1000),
};
export const VariantCreateBody = z
  .object({
    ...variantFields,
    sku: variantFields.sku.default(null),
    options: variantFields.options.default({}),
    compareAtPriceCents: variantFields.compareAtPriceCents.default(null),
    stock: variantFields.stock.default(0),
    weightGrams: variantFields.weightGrams.default(null),
    barcode: variantFields.barcode.default(null),
    imageUrl: variantFields.imageUrl.default(null),
    lowStockThreshold: variantFields.lowStockThreshold.default(null),
    position: variantFields.position.default(0),
  })
  .strict()
  .openapi("AdminVariantCreate");
export const VariantPatchBody = z
  .object(variantFields)
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, "Change at least one field.")
  .openapi("AdminVariantPatch");

const ProductParam = z.object({ id: z.string().min(1).max(100) });
const VariantParam = z.object({ id: z.string().min(1).max(100), variantId: z.string().min(1).max(100) });
const AdminProductRef = z.object({}).passthrough().openapi({ description: "The product as staff see it (AdminProduct)" });

const VARIANT_422 =
  "Invalid or unknown field (`validation_failed`); `variant_options_invalid` (one value of each option, from its values); a price the provider cannot charge (`amount_not_chargeable`…)";

const patchVariantRoute = createRoute({
  method: "patch",
  path: "/admin/products/{id}/variants/{variantId}",
  operationId: "adminUpdateVariant",
  tags: ["Staff"],
  summary: "Edit one variant: price, stock on hand, SKU, options, weight, barcode, image, low-stock threshold (admin)",
  request: { params: VariantParam, body: { content: jsonContent(VariantPatchBody), required: true } },
  responses: {
    200: { description: "Updated; the product as staff see it", content: jsonContent(AdminProductRef) },
    404: problemResponseSpec("No such product, or no such variant of it"),
    409: problemResponseSpec("`sku_taken`, `variant_exists`, `stock_below_held`"),
    422: problemResponseSpec(VARIANT_422),
    ...guarded,
  },
});
const createVariantRoute = createRoute({
  method: "post",
  path: "/admin/products/{id}/variants",
  operationId: "adminCreateVariant",
  tags: ["Staff"],
  summary: "Add a variant to a product (admin)",
  request: { params: ProductParam, body: { content: jsonContent(VariantCreateBody), required: true } },
  responses: {
    201: { description: "Created; the product as staff see it", content: jsonContent(AdminProductRef) },
    404: problemResponseSpec("No such product"),
    409: problemResponseSpec("`sku_taken`, `variant_exists`"),
    422: problemResponseSpec(VARIANT_422),
    ...guarded,
  },
});
const deleteVariantRoute = createRoute({
  method: "delete",
  path: "/admin/products/{id}/variants/{variantId}",
  operationId: "adminDeleteVariant",
  tags: ["Staff"],
  summary: "Delete a variant (never the last one) (admin)",
  request: { params: VariantParam },
  responses: {
    200: { description: "Deleted; the product as staff see it", content: jsonContent(AdminProductRef) },
    404: problemResponseSpec("No such product, or no such variant of it"),
    409: problemResponseSpec("`last_variant`"),
    ...guarded,
  },
});
const putOptionsRoute = createRoute({
  method: "put",
  path: "/admin/products/{id}/options",
  operationId: "adminSetProductOptions",
  tags: ["Staff"],
  summary: "Replace a product's options (names and ordered values) (admin)",
  request: { params: ProductParam, body: { content: jsonContent(z.object({ options: OptionsSchema }).strict()), required: true } },
  responses: {
    200: { description: "Updated; the product as staff see it", content: jsonContent(AdminProductRef) },
    404: problemResponseSpec("No such product"),
    409: problemResponseSpec("`options_in_use`: a variant still sells a value that would go"),
    422: problemResponseSpec("`options_invalid` or `validation_failed`"),
    ...guarded,
  },
});

async function productOr404(db: ReturnType<typeof getDb>, id: string) {
  const product = await findProductWithVariants(db, id);
  if (!product) throw new ProblemError(404, "product_not_found", "No product has this id.");
  return product;
}

/** Staff API for variants (admin): every change audited and, by its trigger, in the inventory ledger. */
export const variantApi = createApiApp()
  .openapi(patchVariantRoute, async (c) => {
    const { id, variantId } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const product = await productOr404(db, id);
    const updated = await updateVariantAudited(c.env, db, actorOf(c), {
      productId: id,
      currency: product.row.currency,
      options: product.options,
      variantId,
      patch: c.req.valid("json"),
    });
    if (!updated) throw new ProblemError(404, "variant_not_found", "This product has no variant with this id.");
    forgetCatalogCopies(c.env.DB);
    // A count below the threshold mails staff now rather than at the next cron run.
    c.executionCtx.waitUntil(mailLowStockAlerts(c.env));
    return c.json((await findAdminProduct(db, id))!, 200);
  })
  .openapi(createVariantRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const product = await productOr404(db, id);
    await addVariantAudited(c.env, db, actorOf(c), { productId: id, currency: product.row.currency, options: product.options, fields: c.req.valid("json") });
    forgetCatalogCopies(c.env.DB);
    return c.json((await findAdminProduct(db, id))!, 201);
  })
  .openapi(deleteVariantRoute, async (c) => {
    const { id, variantId } = c.req.valid("param");
    const db = getDb(c.env.DB);
    await productOr404(db, id);
    if (!(await deleteVariantAudited(c.env, db, actorOf(c), id, variantId))) {
      throw new ProblemError(404, "variant_not_found", "This product has no variant with this id.");
    }
    forgetCatalogCopies(c.env.DB);
    return c.json((await findAdminProduct(db, id))!, 200);
  })
  .openapi(putOptionsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    const product = await productOr404(db, id);
    await setOptionsAudited(c.env, db, actorOf(c), {
      productId: id,
      before: product.options,
      variants: product.variants,
      options: c.req.valid("json").options,
    });
    forgetCatalogCopies(c.env.DB);
    return c.json((await findAdminProduct(db, id))!, 200);
  });
