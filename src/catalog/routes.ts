import { createRoute, z } from "@hono/zod-openapi";
import type { TypedResponse } from "hono";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { moveDemoImagesToR2 } from "./demo-images";
import { forgetCatalogVersion, sharedCatalogAnswer, sharedKeyOf } from "./page-cache";
import { CATALOG_SORTS, CATEGORY_PATTERN, decodeCursor, findProductBySlug, listCategories, listProducts, normaliseListing } from "./queries";

export const ProductSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    priceCents: z.number().int().nonnegative(),
    currency: z.string().length(3),
    imageUrl: z.string().nullable().openapi({ description: "The main image: the first of `images`" }),
    images: z
      .array(z.object({ url: z.string(), alt: z.string().openapi({ description: "Plain text describing the image (may be empty)" }) }).openapi("ProductImage"))
      .openapi({ description: "Every image in display order; the first is the main image" }),
    inStock: z.boolean(),
    lowStock: z.number().int().positive().nullable().openapi({ description: "How many are left when only a few are (1–5), else null" }),
    category: z.string().nullable(),
  })
  .openapi("Product");

/** Shared catalog answers carry an ETag (decision 017); a client that sends it back may get a 304. */
const ETAG_HEADER = { ETag: { schema: { type: "string" as const }, description: "Entity tag for If-None-Match (changes with the catalog)" } };
const NOT_MODIFIED = { description: "Not modified: the If-None-Match header names the current ETag", headers: ETAG_HEADER };

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
  category: z.string().max(40).regex(CATEGORY_PATTERN).optional().openapi({ description: "Only this category (see GET /api/categories)" }),
  sort: z.enum(CATALOG_SORTS).optional().openapi({ description: "name (default), price-asc, price-desc or newest" }),
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
      headers: ETAG_HEADER,
      content: {
        "application/json": {
          schema: z
            .object({
              items: z.array(ProductSchema),
              nextCursor: z.string().nullable(),
              total: z.number().int().openapi({ description: "How many visible products match, on all pages" }),
              offset: z.number().int().openapi({ description: "Position of this page's first item among them (0-based)" }),
            })
            .openapi("ProductPage"),
        },
      },
    },
    304: NOT_MODIFIED,
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
    200: { description: "The product", headers: ETAG_HEADER, content: { "application/json": { schema: ProductSchema } } },
    304: NOT_MODIFIED,
    404: problemResponseSpec("No visible product has this slug"),
  },
});

/** Browsers and proxies may keep catalog answers for 30 s (API.md). */
const API_CACHE_CONTROL = "public, max-age=30";

type ProductPageBody = { items: z.infer<typeof ProductSchema>[]; nextCursor: string | null; total: number; offset: number };

const categoriesRoute = createRoute({
  method: "get",
  path: "/categories",
  operationId: "listCategories",
  ...access.public,
  tags: ["Catalog"],
  summary: "The categories of visible products, with how many each holds",
  responses: {
    200: {
      description: "Categories, by name",
      headers: ETAG_HEADER,
      content: {
        "application/json": { schema: z.object({ items: z.array(z.object({ category: z.string(), count: z.number().int() })) }).openapi("CategoryList") },
      },
    },
    304: NOT_MODIFIED,
  },
});

const demoImagesRoute = createRoute({
  method: "post",
  path: "/dev/demo-images",
  operationId: "storeDemoImages",
  ...access.public,
  tags: ["Development"],
  summary: "Move the demo products' pictures into the image bucket, as uploads are stored (development only; 404 otherwise)",
  responses: {
    200: {
      description: "How many demo products now show their picture from /media/",
      content: { "application/json": { schema: z.object({ moved: z.number().int() }).openapi("DevDemoImages") } },
    },
    404: problemResponseSpec("Not in development"),
  },
});

/** Catalog API (P04): every read goes through the hidden-filtering query in queries.ts. */
export const catalogApi = createApiApp()
  .openapi(listRoute, async (c) => {
    const { q, category, sort, cursor: rawCursor, limit } = c.req.valid("query");
    const cursor = rawCursor ? decodeCursor(rawCursor) : null;
    if (rawCursor && !cursor) throw new ProblemError(400, "invalid_cursor", "The cursor is not one this API issued.");
    // The same for every visitor: shared through the page cache (decision 017), one key per meaningful page.
    const listing = normaliseListing({ q, category, sort, cursor });
    const key = sharedKeyOf("api/products", { q: listing.q, category: listing.category, sort: listing.sort, cursor: listing.cursorText, limit: String(limit) });
    const answer = await sharedCatalogAnswer(c, { key, kind: "json", browser: API_CACHE_CONTROL }, async (db) =>
      JSON.stringify(await listProducts(db, { ...listing, limit })),
    );
    return answer as unknown as TypedResponse<ProductPageBody, 200, "json">;
  })
  .openapi(demoImagesRoute, async (c) => {
    const config = c.var.config;
    if (!config.devRoutes) throw new ProblemError(404, "not_found", "No such route.");
    const moved = await moveDemoImagesToR2(c.env, config.PUBLIC_ORIGIN);
    if (moved > 0) forgetCatalogVersion();
    return c.json({ moved }, 200);
  })
  .openapi(categoriesRoute, async (c) => {
    const answer = await sharedCatalogAnswer(c, { key: "api/categories", kind: "json", browser: API_CACHE_CONTROL }, async (db) =>
      JSON.stringify({ items: await listCategories(db) }),
    );
    return answer as unknown as TypedResponse<{ items: { category: string; count: number }[] }, 200, "json">;
  })
  .openapi(getRoute, async (c) => {
    const { slug } = c.req.valid("param");
    const answer = SLUG_PATTERN.test(slug)
      ? await sharedCatalogAnswer(c, { key: `api/products/${slug}`, kind: "json", browser: API_CACHE_CONTROL }, async (db) => {
          const product = await findProductBySlug(db, slug);
          return product ? JSON.stringify(product) : null;
        })
      : null;
    if (!answer) throw new ProblemError(404, "product_not_found", "No product has this address.");
    return answer as unknown as TypedResponse<z.infer<typeof ProductSchema>, 200, "json">;
  });
