import { createRoute, z } from "@hono/zod-openapi";
import { listAuditEvents, recordAuditRestored, verifyAuditLog } from "../audit/audit";
import { SLUG_PATTERN } from "../catalog/routes";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { clientIp, describeStaffAccess, staffGuard, staffUser } from "./guard";
import { requireFreshSession } from "../accounts/session";
import { OrderSchema } from "../checkout/routes";
import {
  couponInUse,
  CouponCreateBody,
  CouponPatchBody,
  createCouponAudited,
  findAdminCoupon,
  listCoupons,
  listRedemptions,
  toAdminCoupon,
  updateCouponAudited,
} from "./coupons";
import { findAdminOrder, ORDER_STATUSES, OrderSearchQuery, requestRefund, searchOrders } from "./orders";
import { afterCatalogWrite } from "../catalog/page-cache";
import { createProductAudited, listAllProducts, toAdminProduct, updateProductAudited, type StaffActor } from "./products";
import { changeRoleAudited, RoleBody, ROLES, searchUsers, UserSearchQuery } from "./users";
import { IdempotencyKey } from "../checkout/replay";
import { CATEGORY_PATTERN } from "../catalog/queries";

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
    hidden: z.boolean(),
    imageUrl: z.string().nullable(),
    category: z.string().nullable(),
    taxCode: z.string().nullable(),
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
  hidden: z.boolean(),
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
    description: productFields.description.default(""),
    currency: productFields.currency.default("USD"),
    stock: productFields.stock.default(0),
    hidden: productFields.hidden.default(false),
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
  summary: "Create a product (admin)",
  request: { body: { content: jsonContent(ProductCreateBody), required: true } },
  responses: {
    201: { description: "Created", content: jsonContent(AdminProductSchema) },
    409: problemResponseSpec("Slug taken"),
    422: problemResponseSpec(
      "Invalid or unknown field (`validation_failed`); a price the payment provider cannot charge in its currency: `currency_not_chargeable`, `amount_not_chargeable` (e.g. KWD not a multiple of 10 fils), `amount_above_maximum`; `currency_not_accepted` (single-currency shop)",
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
    409: problemResponseSpec("Slug taken"),
    422: problemResponseSpec(
      "Invalid or unknown field (`validation_failed`); a price the payment provider cannot charge in its currency: `currency_not_chargeable`, `amount_not_chargeable` (e.g. KWD not a multiple of 10 fils), `amount_above_maximum`; `currency_not_accepted` (single-currency shop)",
    ),
    ...guarded,
  },
});
const listAuditRoute = createRoute({
  method: "get",
  path: "/admin/audit",
  operationId: "adminListAuditEvents",
  tags: ["Staff"],
  summary: "Audit events, oldest first (admin). No route changes or deletes an event.",
  request: { query: CursorQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const verifyAuditRoute = createRoute({
  method: "get",
  path: "/admin/audit/verify",
  operationId: "adminVerifyAuditLog",
  tags: ["Staff"],
  summary: "Verify the audit log (admin): from the newest R2 checkpoint (O(new events)), or every event and checkpoint with `full=1`",
  request: { query: z.object({ full: z.enum(["0", "1"]).optional() }) },
  responses: {
    200: {
      description: "The verdict; `code` names the problem (gap, forged_row, unkeyed_row, wrong_key, events_refused, anchor_mismatch, stale_anchor…)",
      content: jsonContent(
        z.object({
          ok: z.boolean(),
          count: z.number().optional(),
          anchoredAt: z.number().nullable().optional(),
          brokenAt: z.number().optional(),
          code: z.string().optional(),
          reason: z.string().optional(),
        }),
      ),
    },
    ...guarded,
  },
});

const AuditRestoredBody = z
  .object({
    note: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .openapi({ example: "Time Travel restore to 2026-11-26T09:00Z after a bad migration; events 812–830 re-entered from Workers Logs" }),
  })
  .strict()
  .openapi("AuditRestored");
const recordAuditRestoredRoute = createRoute({
  method: "post",
  path: "/admin/audit/restored",
  operationId: "adminRecordAuditRestored",
  tags: ["Staff"],
  summary:
    "Explain the newest unexplained loss of audit events (admin, signed in within 10 minutes): records an `audit.restored` event with the note and the `audit.head_mismatch` event it explains. The verify route reports the log as broken while any such loss is unexplained.",
  request: { body: { content: jsonContent(AuditRestoredBody), required: true } },
  responses: {
    201: { description: "Recorded", content: jsonContent(z.object({ id: z.number().int(), hash: z.string() })) },
    409: problemResponseSpec("no_open_loss: the log reports no loss to explain"),
    422: problemResponseSpec("Invalid or unknown field"),
    503: problemResponseSpec("audit_unavailable: nothing was recorded"),
    ...guarded,
  },
});

/** Staff API (P16): one guard for every /api/admin route, strict bodies, an audit event per change. */
export const adminApi = createApiApp();
adminApi.use("/admin/*", staffGuard);
adminApi.use("/admin", staffGuard);
adminApi.use("/admin/products", afterCatalogWrite);
adminApi.use("/admin/products/*", afterCatalogWrite);

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
    const verdict = await verifyAuditLog(c.env, { from: c.req.valid("query").full === "1" ? "genesis" : "checkpoint" });
    return c.json(verdict.ok ? { ok: true, count: verdict.count, anchoredAt: verdict.anchoredAt ?? null } : verdict, 200);
  })
  .openapi(recordAuditRestoredRoute, async (c) => {
    const staff = staffUser(c);
    requireFreshSession(staff);
    const event = await recordAuditRestored(c.env, { id: staff.id, ip: clientIp(c) }, c.req.valid("json").note);
    return c.json(event, 201);
  });

// ---- Coupons ---------------------------------------------------------------------------------

const AdminCouponSchema = z
  .object({
    code: z.string(),
    percentOff: z.number().int().nullable(),
    amountOffCents: z.number().int().nullable(),
    currency: z.string().nullable(),
    maxRedemptions: z.number().int().nullable(),
    perCustomerLimit: z.number().int().nullable(),
    startsAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    active: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("AdminCoupon");
const RedemptionSchema = z.object({ orderId: z.string(), userId: z.string(), discountCents: z.number().int().nullable(), redeemedAt: z.string() });
const CouponCodeParam = z.object({ code: z.string().min(1).max(64) });

const listCouponsRoute = createRoute({
  method: "get",
  path: "/admin/coupons",
  operationId: "adminListCoupons",
  tags: ["Staff"],
  summary: "All coupons (admin)",
  request: { query: CursorQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AdminCouponSchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const getCouponRoute = createRoute({
  method: "get",
  path: "/admin/coupons/{code}",
  operationId: "adminGetCoupon",
  tags: ["Staff"],
  summary: "One coupon with its committed redemptions (admin)",
  request: { params: CouponCodeParam },
  responses: {
    200: {
      description: "The coupon",
      content: jsonContent(z.object({ coupon: AdminCouponSchema, redemptions: z.array(RedemptionSchema), inUse: z.boolean() })),
    },
    404: problemResponseSpec("No such coupon"),
    ...guarded,
  },
});
const createCouponRoute = createRoute({
  method: "post",
  path: "/admin/coupons",
  operationId: "adminCreateCoupon",
  tags: ["Staff"],
  summary: "Create a coupon (admin)",
  request: { body: { content: jsonContent(CouponCreateBody), required: true } },
  responses: {
    201: { description: "Created", content: jsonContent(AdminCouponSchema) },
    409: problemResponseSpec("Code taken (`coupon_exists`)"),
    422: problemResponseSpec(
      "Invalid or unknown field (`validation_failed`); an amount off the payment provider cannot charge in its currency: `currency_not_chargeable`, `amount_not_chargeable`, `amount_above_maximum`",
    ),
    ...guarded,
  },
});
const patchCouponRoute = createRoute({
  method: "patch",
  path: "/admin/coupons/{code}",
  operationId: "adminUpdateCoupon",
  tags: ["Staff"],
  summary: "Edit or deactivate (`active: false`) a coupon (admin)",
  description: "Adding or removing the total limit of a code that has been used is refused (`409 coupon_limit_locked`, decision 004).",
  request: { params: CouponCodeParam, body: { content: jsonContent(CouponPatchBody), required: true } },
  responses: {
    200: { description: "Updated", content: jsonContent(AdminCouponSchema) },
    404: problemResponseSpec("No such coupon"),
    409: problemResponseSpec("`coupon_limit_locked`"),
    422: problemResponseSpec(
      "Invalid or unknown field, `code_immutable`, or an amount off the payment provider cannot charge in its currency (`currency_not_chargeable`, `amount_not_chargeable`, `amount_above_maximum`)",
    ),
    ...guarded,
  },
});

// ---- Orders ----------------------------------------------------------------------------------

const AdminOrderSummarySchema = z
  .object({
    id: z.string(),
    status: z.enum(ORDER_STATUSES),
    userId: z.string(),
    customerEmail: z.string().nullable(),
    totalCents: z.number().int(),
    currency: z.string(),
    couponCode: z.string().nullable(),
    createdAt: z.string(),
    paidAt: z.string().nullable(),
  })
  .openapi("AdminOrderSummary");
export const AdminOrderSchema = OrderSchema.extend({
  userId: z.string(),
  customerEmail: z.string().nullable(),
  provider: z.string(),
  paymentSessionId: z.string().nullable(),
  paymentIntentId: z.string().nullable(),
  updatedAt: z.string(),
  timeline: z.array(z.object({ id: z.string(), kind: z.string(), detail: z.string().nullable(), createdAt: z.string() })),
  paymentInFlight: z.boolean().openapi({ description: "A delayed payment (bank transfer) is in flight: the order stays pending with its holds" }),
  couponOverRedeemed: z.boolean().openapi({ description: "Paid with a coupon that had no hold and no room left: resolve with the customer (decision 013)" }),
  paymentsAfterClose: z.array(
    z.object({ id: z.string(), amountCents: z.number().int(), currency: z.string(), receivedAt: z.string(), refundId: z.string().nullable() }),
  ),
}).openapi("AdminOrder");
const OrderIdParam = z.object({ id: z.string().min(1).max(100) });

const listOrdersRoute = createRoute({
  method: "get",
  path: "/admin/orders",
  operationId: "adminListOrders",
  tags: ["Staff"],
  summary: "Orders, newest first, by status and customer (email or user id) (admin and support)",
  request: { query: OrderSearchQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AdminOrderSummarySchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const getOrderRoute = createRoute({
  method: "get",
  path: "/admin/orders/{id}",
  operationId: "adminGetOrder",
  tags: ["Staff"],
  summary: "One order with its customer and payment timeline (admin and support)",
  request: { params: OrderIdParam },
  responses: { 200: { description: "The order", content: jsonContent(AdminOrderSchema) }, 404: problemResponseSpec("No such order"), ...guarded },
});
const RefundBody = z
  .object({ amountCents: z.number().int().min(1).max(100_000_000).optional().openapi({ description: "Minor units; default: everything not refunded yet" }) })
  .strict()
  .openapi("AdminRefund");

const refundOrderRoute = createRoute({
  method: "post",
  path: "/admin/orders/{id}/refund",
  operationId: "adminRefundOrder",
  tags: ["Staff"],
  summary: "Refund a paid order, in full or in part (admin, sign-in within 10 minutes)",
  description:
    "Refunds `amountCents` (default: everything not refunded yet), never more than what is left: two refunds at once cannot add up to more than was paid. " +
    "Send an `Idempotency-Key`: a replay with the same key answers the same refund and moves no money again. " +
    "The order becomes `refunded` when the provider's `charge.refunded` webhook reports the whole charge refunded; a partial refund keeps it `paid`.",
  request: {
    params: OrderIdParam,
    headers: z.object({ "idempotency-key": IdempotencyKey.optional() }),
    body: { required: false, content: { "application/json": { schema: RefundBody } } },
  },
  responses: {
    202: {
      description: "Refund requested",
      content: jsonContent(
        z.object({
          orderId: z.string(),
          refundId: z.string(),
          amountCents: z.number().int(),
          currency: z.string(),
          status: z.enum(ORDER_STATUSES),
          refundedCents: z.number().int().optional(),
          remainingCents: z.number().int().optional(),
        }),
      ),
    },
    404: problemResponseSpec("No such order"),
    409: problemResponseSpec(
      "`order_not_refundable` (not paid, or refunded in full), `refund_exceeds_remaining` or `refund_in_progress` (a replayed key whose refund is under way)",
    ),
    422: problemResponseSpec("`validation_failed`: an amount that is not a positive whole number of minor units, or an unknown field"),
    502: problemResponseSpec("`payment_unavailable`"),
    ...guarded,
  },
});

// ---- Users -----------------------------------------------------------------------------------

const AdminUserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    emailVerified: z.boolean(),
    twoFactorEnabled: z.boolean(),
    banned: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("AdminUser");
const UserIdParam = z.object({ id: z.string().min(1).max(100) });

const listUsersRoute = createRoute({
  method: "get",
  path: "/admin/users",
  operationId: "adminListUsers",
  tags: ["Staff"],
  summary: "Accounts, searched by part of an email or name, or an id (admin)",
  request: { query: UserSearchQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AdminUserSchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const setRoleRoute = createRoute({
  method: "put",
  path: "/admin/users/{id}/role",
  operationId: "adminSetUserRole",
  tags: ["Staff"],
  summary: "Change a user's role (admin, sign-in within 10 minutes)",
  description:
    "Signs the user out everywhere (their sessions are deleted), so the new role applies at their next sign-in. The last admin cannot be demoted (`409 last_admin`).",
  request: { params: UserIdParam, body: { content: jsonContent(RoleBody), required: true } },
  responses: {
    200: { description: "The user now", content: jsonContent(z.object({ user: AdminUserSchema, changed: z.boolean(), sessionsRevoked: z.number().int() })) },
    404: problemResponseSpec("No such user"),
    409: problemResponseSpec("`last_admin`"),
    422: problemResponseSpec("Invalid or unknown field"),
    ...guarded,
  },
});

function actorOf(c: Parameters<typeof staffUser>[0]): StaffActor {
  return { id: staffUser(c).id, ip: clientIp(c) };
}

adminApi
  .openapi(listCouponsRoute, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    return c.json(await listCoupons(getDb(c.env.DB), cursor ?? null, limit ?? 50), 200);
  })
  .openapi(getCouponRoute, async (c) => {
    const db = getDb(c.env.DB);
    const coupon = await findAdminCoupon(db, c.req.valid("param").code);
    if (!coupon) throw new ProblemError(404, "coupon_not_found", "No coupon has this code.");
    const [redemptions, inUse] = await Promise.all([listRedemptions(db, coupon.code), couponInUse(db, coupon.code)]);
    return c.json({ coupon: toAdminCoupon(coupon), redemptions, inUse }, 200);
  })
  .openapi(createCouponRoute, async (c) => {
    const row = await createCouponAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("json"));
    return c.json(toAdminCoupon(row), 201);
  })
  .openapi(patchCouponRoute, async (c) => {
    const row = await updateCouponAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("param").code, c.req.valid("json"));
    return c.json(toAdminCoupon(row), 200);
  })
  .openapi(listOrdersRoute, async (c) => c.json(await searchOrders(getDb(c.env.DB), c.req.valid("query")), 200))
  .openapi(getOrderRoute, async (c) => {
    const order = await findAdminOrder(getDb(c.env.DB), c.req.valid("param").id);
    if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
    return c.json(order, 200);
  })
  .openapi(refundOrderRoute, async (c) => {
    requireFreshSession(staffUser(c));
    const body = (c.req.valid("json") as { amountCents?: number } | undefined) ?? {};
    const input = { amountCents: body.amountCents, idempotencyKey: c.req.valid("header")["idempotency-key"] };
    return c.json(await requestRefund(c.env, c.var.config, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, input), 202);
  })
  .openapi(listUsersRoute, async (c) => c.json(await searchUsers(getDb(c.env.DB), c.req.valid("query")), 200))
  .openapi(setRoleRoute, async (c) => {
    requireFreshSession(staffUser(c));
    const result = await changeRoleAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, c.req.valid("json").role);
    return c.json(result, 200);
  });

describeStaffAccess(adminApi);
