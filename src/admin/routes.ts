import { createRoute, z } from "@hono/zod-openapi";
import { listAuditEvents, verifyAuditLog } from "../audit/audit";
import { SLUG_PATTERN } from "../catalog/routes";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { clientIp, staffGuard, staffUser } from "./guard";
import { createProductAudited, listAllProducts, toAdminProduct, updateProductAudited } from "./products";

const AdminProductSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    priceCents: z.number().int(),
    currency: z.string(),
    stock: z.number().int(),
    hidden: z.boolean(),
    imageUrl: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("AdminProduct");

// Strict: any key outside the contract (id, createdAt, role…) is a 422, never silently applied (P16).
const productFields = {
  slug: z.string().min(1).max(120).regex(SLUG_PATTERN, "lower-case words joined by hyphens"),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000),
  priceCents: z.number().int().min(0).max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/),
  stock: z.number().int().min(0).max(1_000_000),
  hidden: z.boolean(),
  imageUrl: z.string().max(2000).url().refine((u) => u.startsWith("https://") || u.startsWith("/"), "https or a path").nullable(),
};
export const ProductCreateBody = z
  .object({
    ...productFields,
    description: productFields.description.default(""),
    currency: productFields.currency.default("USD"),
    stock: productFields.stock.default(0),
    hidden: productFields.hidden.default(false),
    imageUrl: productFields.imageUrl.default(null),
  })
  .strict()
  .openapi("AdminProductCreate");
export const ProductPatchBody = z
  .object(productFields)
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, "Change at least one field.")
  .openapi("AdminProductPatch");

const CursorQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

const ProductIdParam = z.object({ id: z.string().min(1).max(100) });

const AuditEventSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    ip: z.string().nullable(),
    action: z.string(),
    subject: z.string().nullable(),
    detail: z.unknown(),
    hash: z.string(),
    prevHash: z.string(),
  })
  .openapi("AuditEvent");

const jsonContent = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });
const guarded = {
  401: problemResponseSpec("Not signed in"),
  403: problemResponseSpec("Not allowed for this role, or second factor missing"),
};

const listProductsRoute = createRoute({
  method: "get",
  path: "/admin/products",
  tags: ["Staff"],
  summary: "All products, hidden included (admin)",
  request: { query: CursorQuery },
  responses: { 200: { description: "A page", content: jsonContent(z.object({ items: z.array(AdminProductSchema), nextCursor: z.string().nullable() })) }, ...guarded },
});
const createProductRoute = createRoute({
  method: "post",
  path: "/admin/products",
  tags: ["Staff"],
  summary: "Create a product (admin)",
  request: { body: { content: jsonContent(ProductCreateBody), required: true } },
  responses: {
    201: { description: "Created", content: jsonContent(AdminProductSchema) },
    409: problemResponseSpec("Slug taken"),
    422: problemResponseSpec("Invalid or unknown field"),
    ...guarded,
  },
});
const patchProductRoute = createRoute({
  method: "patch",
  path: "/admin/products/{id}",
  tags: ["Staff"],
  summary: "Edit, hide or restock a product (admin)",
  request: { params: ProductIdParam, body: { content: jsonContent(ProductPatchBody), required: true } },
  responses: {
    200: { description: "Updated", content: jsonContent(AdminProductSchema) },
    404: problemResponseSpec("No such product"),
    409: problemResponseSpec("Slug taken"),
    422: problemResponseSpec("Invalid or unknown field"),
    ...guarded,
  },
});
const listAuditRoute = createRoute({
  method: "get",
  path: "/admin/audit",
  tags: ["Staff"],
  summary: "Audit events, oldest first (admin). No route changes or deletes an event.",
  request: { query: CursorQuery },
  responses: { 200: { description: "A page", content: jsonContent(z.object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() })) }, ...guarded },
});
const verifyAuditRoute = createRoute({
  method: "get",
  path: "/admin/audit/verify",
  tags: ["Staff"],
  summary: "Verify the audit hash chain (admin)",
  responses: {
    200: {
      description: "The verdict",
      content: jsonContent(z.object({ ok: z.boolean(), count: z.number().optional(), brokenAt: z.number().optional(), reason: z.string().optional() })),
    },
    ...guarded,
  },
});

/** Staff API (P16): one guard for every /api/admin route, strict bodies, an audit event per change. */
export const adminApi = createApiApp();
adminApi.use("/admin/*", staffGuard);
adminApi.use("/admin", staffGuard);

adminApi
  .openapi(listProductsRoute, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    return c.json(await listAllProducts(getDb(c.env.DB), cursor ?? null, limit ?? 50), 200);
  })
  .openapi(createProductRoute, async (c) => {
    const row = await createProductAudited(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, c.req.valid("json"));
    if (row === "slug_taken") throw new ProblemError(409, "slug_taken", "Another product has this slug.");
    return c.json(toAdminProduct(row), 201);
  })
  .openapi(patchProductRoute, async (c) => {
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const after = await updateProductAudited(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id, patch);
    if (after === "slug_taken") throw new ProblemError(409, "slug_taken", "Another product has this slug.");
    if (!after) throw new ProblemError(404, "product_not_found", "No product has this id.");
    return c.json(toAdminProduct(after), 200);
  })
  .openapi(listAuditRoute, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const after = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(after) || after < 0) throw new ProblemError(400, "invalid_cursor", "The cursor is not one this API issued.");
    return c.json(await listAuditEvents(c.env.DB, after, limit ?? 50), 200);
  })
  .openapi(verifyAuditRoute, async (c) => {
    const verdict = await verifyAuditLog(c.env);
    return c.json(verdict.ok ? { ok: true, count: verdict.count } : verdict, 200);
  });
