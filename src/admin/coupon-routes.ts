import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
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
import { actorOf } from "./guard";
import { CursorQuery, guarded, jsonContent } from "./staff-api";

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

/** Staff API for coupons (admin): every change audited. */
export const couponApi = createApiApp();

couponApi
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
  });
