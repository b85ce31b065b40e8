import { createRoute, z } from "@hono/zod-openapi";
import { SLUG_PATTERN } from "../catalog/routes";
import { CATEGORY_PATTERN } from "../catalog/queries";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { actorOf } from "./guard";
import { createProductAudited, findAdminProduct, listAllProducts, updateProductAudited } from "./products";
import { AdminVariantSchema, OptionsSchema, VariantCreateBody } from "./variant-routes";
import { PRODUCT_STATUSES } from "../catalog/schema";
import { CursorQuery, guarded, jsonContent } from "./staff-api";

const AdminProductSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    priceCents: z.number().int(),
    currency: z.string(),
    stock: z.number().int().openapi({ description: "On hand: what staff counted (sellable + held)" }),
    held: z.number().int().openapi({ description: "Units taken by unpaid pending orders (back on the shelf if they close unpaid)" }),
    sellable: z.number().int().openapi({ description: "What shoppers can still buy: on hand − held" }),
    hidden: z.boolean().openapi({ description: "Not public: `status` is not `active`" }),
    status: z.enum(PRODUCT_STATUSES).openapi({ description: "Only active products are public" }),
    vendor: z.string().nullable(),
    productType: z.string().nullable(),
    tags: z.array(z.string()),
    imageUrl: z.string().nullable().openapi({ description: "The main image: the first of `images`" }),
    images: z.array(z.object({ url: z.string(), alt: z.string() })).openapi({ description: "Every image in display order; the first is the main image" }),
    category: z.string().nullable(),
    taxCode: z.string().nullable(),
    options: OptionsSchema,
    variants: z.array(AdminVariantSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("AdminProduct");

/** A same-origin image path: an uploaded image or a file in public/images (no "..", no query). */
// `/media/…svg` is a demo drawing the dev seed stored (storeDemoImage); uploads are raster only.
const IMAGE_PATH = /^\/(?:media\/products\/[0-9a-f]{64}\.(?:png|jpg|gif|webp|avif|svg)|images\/[a-z0-9][a-z0-9-]{0,100}\.(?:svg|png|jpg|webp|avif))$/;

// Strict: any key outside the contract (id, createdAt, role…) is a 422, never silently applied (P16).
const productFields = {
  slug: z.string().min(1).max(120).regex(SLUG_PATTERN, "lower-case words joined by hyphens"),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000),
  priceCents: z.number().int().min(0).max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/),
  stock: z.number().int().min(0).max(1_000_000),
  hidden: z.boolean().openapi({ description: "true: not public (a draft); false: active. `status` says the same and wins" }),
  status: z.enum(PRODUCT_STATUSES),
  vendor: z.string().trim().min(1).max(200).nullable(),
  productType: z.string().trim().min(1).max(200).nullable(),
  tags: z
    .array(z.string().trim().min(1).max(100))
    .max(100)
    .transform((tags) => [...new Set(tags)]),
  // Images come only from this shop (the CSP is `img-src 'self'`): an upload (/media/...) or a
  // file the shop ships (/images/...). A URL elsewhere would never show.
  imageUrl: z
    .string()
    .max(300)
    .regex(IMAGE_PATH, "a path on this shop: /media/... from an upload, or /images/...")
    .nullable()
    .openapi({ example: "/media/products/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.png" }),
  category: z
    .string()
    .max(40)
    .regex(CATEGORY_PATTERN, "lower-case words joined by hyphens")
    .nullable()
    .openapi({ example: "kitchen", description: "Shoppers filter the catalog by it (GET /api/products?category=)" }),
  taxCode: z
    .string()
    .regex(/^txcd_\d{8}$/, "a Stripe Tax product code like txcd_99999999")
    .nullable()
    .openapi({ example: "txcd_99999999", description: "Stripe Tax product tax code (used when STRIPE_TAX=automatic)" }),
};
export const ProductCreateBody = z
  .object({
    ...productFields,
    slug: productFields.slug.optional().openapi({ description: "Absent: made from the name (`Blue Mug` → `blue-mug`, then `blue-mug-2` when taken)" }),
    description: productFields.description.default(""),
    currency: productFields.currency.default("USD"),
    stock: productFields.stock.default(0),
    hidden: productFields.hidden.optional(),
    status: productFields.status.optional(),
    vendor: productFields.vendor.default(null),
    productType: productFields.productType.default(null),
    tags: productFields.tags.default([]),
    options: OptionsSchema.optional().openapi({ description: "Up to three options; then `variants` lists each combination sold" }),
    variants: z.array(VariantCreateBody).min(1).max(100).optional(),
    imageUrl: productFields.imageUrl.default(null),
    category: productFields.category.default(null),
    taxCode: productFields.taxCode.default(null),
  })
  .strict()
  .openapi("AdminProductCreate");
export const ProductPatchBody = z
  .object(productFields)
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, "Change at least one field.")
  .openapi("AdminProductPatch");

const ProductIdParam = z.object({ id: z.string().min(1).max(100) });

const listProductsRoute = createRoute({
  method: "get",
  path: "/admin/products",
  operationId: "adminListProducts",
  tags: ["Staff"],
  summary: "All products, hidden included (admin)",
  request: { query: CursorQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AdminProductSchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const createProductRoute = createRoute({
  method: "post",
  path: "/admin/products",
  operationId: "adminCreateProduct",
  tags: ["Staff"],
  summary: "Create a product, with its options and variants (admin)",
  request: { body: { content: jsonContent(ProductCreateBody), required: true } },
  responses: {
    201: { description: "Created", content: jsonContent(AdminProductSchema) },
    409: problemResponseSpec("Slug taken (`slug_taken`), a SKU taken (`sku_taken`), two variants with the same options (`variant_exists`)"),
    422: problemResponseSpec(
      "Invalid or unknown field (`validation_failed`); a price the payment provider cannot charge in its currency: `currency_not_chargeable`, `amount_not_chargeable` (e.g. KWD not a multiple of 10 fils), `amount_above_maximum`; `currency_not_accepted` (single-currency shop); `options_invalid`, `variants_required`, `variant_options_invalid`; `variant_required` (price or stock of a product with variants: edit the variant)",
    ),
    ...guarded,
  },
});
const patchProductRoute = createRoute({
  method: "patch",
  path: "/admin/products/{id}",
  operationId: "adminUpdateProduct",
  tags: ["Staff"],
  summary: "Edit, hide or restock a product (admin)",
  request: { params: ProductIdParam, body: { content: jsonContent(ProductPatchBody), required: true } },
  responses: {
    200: { description: "Updated", content: jsonContent(AdminProductSchema) },
    404: problemResponseSpec("No such product"),
    409: problemResponseSpec("Slug taken (`slug_taken`), a SKU taken (`sku_taken`), two variants with the same options (`variant_exists`)"),
    422: problemResponseSpec(
      "Invalid or unknown field (`validation_failed`); a price the payment provider cannot charge in its currency: `currency_not_chargeable`, `amount_not_chargeable` (e.g. KWD not a multiple of 10 fils), `amount_above_maximum`; `currency_not_accepted` (single-currency shop); `options_invalid`, `variants_required`, `variant_options_invalid`; `variant_required` (price or stock of a product with variants: edit the variant)",
    ),
    ...guarded,
  },
});

/** Staff API for products (admin): every change audited (routes.ts makes shoppers' next read see it). */
export const productApi = createApiApp();

productApi
  .openapi(listProductsRoute, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    return c.json(await listAllProducts(getDb(c.env.DB), cursor ?? null, limit ?? 50), 200);
  })
  .openapi(createProductRoute, async (c) => {
    const { options, variants, ...fields } = c.req.valid("json");
    const db = getDb(c.env.DB);
    const row = await createProductAudited(c.env, db, actorOf(c), fields, { options, variants });
    if (row === "slug_taken") throw new ProblemError(409, "slug_taken", "Another product has this slug.");
    return c.json((await findAdminProduct(db, row.id))!, 201);
  })
  .openapi(patchProductRoute, async (c) => {
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const after = await updateProductAudited(c.env, getDb(c.env.DB), actorOf(c), id, patch);
    if (after === "slug_taken") throw new ProblemError(409, "slug_taken", "Another product has this slug.");
    if (!after) throw new ProblemError(404, "product_not_found", "No product has this id.");
    return c.json(after, 200);
  });
