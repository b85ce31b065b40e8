import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { firstCatalogPage } from "./first-page";
import { decodeCursor, findProductBySlug, listProducts } from "./queries";

export const ProductSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    priceCents: z.number().int().nonnegative(),
    currency: z.string().length(3),
    imageUrl: z.string().nullable(),
    inStock: z.boolean(),
  })
  .openapi("Product");

/** `limit` is clamped to 1–100 (API.md); anything that is not a number is the default. */
const LimitParam = z
  .string()
  .optional()
  .transform((raw) => {
    const n = raw === undefined ? NaN : Number.parseInt(raw, 10);
    if (!Number.isFinite(n)) return 24;
    return Math.min(100, Math.max(1, n));
  })
  .openapi({ param: { name: "limit", in: "query" }, type: "integer", example: 24, description: "1–100, default 24" });

export const ListProductsQuery = z.object({
  q: z.string().max(200).optional().openapi({ description: "Search in name and description" }),
  cursor: z.string().max(800).optional().openapi({ description: "Opaque cursor from nextCursor" }),
  limit: LimitParam,
});

/** A slug as we make them; anything else cannot name a product, so it is a plain 404. */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const listRoute = createRoute({
  method: "get",
  path: "/products",
  operationId: "listProducts",
  ...access.public,
  tags: ["Catalog"],
  summary: "List and search visible products",
  request: { query: ListProductsQuery },
  responses: {
    200: {
      description: "A page of products",
      content: {
        "application/json": {
          schema: z.object({ items: z.array(ProductSchema), nextCursor: z.string().nullable() }).openapi("ProductPage"),
        },
      },
    },
    400: problemResponseSpec("Invalid cursor or parameter"),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/products/{slug}",
  operationId: "getProduct",
  ...access.public,
  tags: ["Catalog"],
  summary: "One visible product by slug",
  request: { params: z.object({ slug: z.string().max(200) }) },
  responses: {
    200: { description: "The product", content: { "application/json": { schema: ProductSchema } } },
    404: problemResponseSpec("No visible product has this slug"),
  },
});

/** Catalog API (P04): every read goes through the hidden-filtering query in queries.ts. */
export const catalogApi = createApiApp()
  .openapi(listRoute, async (c) => {
    const { q, cursor: rawCursor, limit } = c.req.valid("query");
    const cursor = rawCursor ? decodeCursor(rawCursor) : null;
    if (rawCursor && !cursor) throw new ProblemError(400, "invalid_cursor", "The cursor is not one this API issued.");
    // The first page is what most visitors load: shared for a few seconds (decision 008).
    const db = getDb(c.env.DB);
    const page = !q && !cursor ? await firstCatalogPage(db, limit) : await listProducts(db, { q, cursor, limit });
    c.header("cache-control", "public, max-age=30");
    return c.json(page, 200);
  })
  .openapi(getRoute, async (c) => {
    const { slug } = c.req.valid("param");
    const product = SLUG_PATTERN.test(slug) ? await findProductBySlug(getDb(c.env.DB), slug) : null;
    if (!product) throw new ProblemError(404, "product_not_found", "No product has this address.");
    c.header("cache-control", "public, max-age=30");
    return c.json(product, 200);
  });
