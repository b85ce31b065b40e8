import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, inArray } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { orders } from "../checkout/schema";
import { couponRedemptions, coupons, type CouponRow } from "../coupons/schema";
import type { Database } from "../db/client";
import { assertAmountChargeable } from "../payments/currency";
import { ProblemError } from "../platform/problem";
import { diffFields, type StaffActor } from "./products";

/** A coupon as staff see it (API.md "Staff"). */
export interface AdminCoupon {
  code: string;
  percentOff: number | null;
  amountOffCents: number | null;
  currency: string | null;
  maxRedemptions: number | null;
  perCustomerLimit: number | null;
  startsAt: string | null;
  expiresAt: string | null;
  active: boolean;
  createdAt: string;
}

/** One committed redemption (a `coupon_redemptions` row). */
export interface AdminRedemption {
  orderId: string;
  userId: string;
  discountCents: number | null;
  redeemedAt: string;
}

/** The columns staff may set; everything else (createdAt, counts) is the server's. */
type CouponFields = Omit<AdminCoupon, "createdAt">;

// Same spelling rule as the coupon domain's normaliseCouponCode: upper-case letters, digits, - and _.
// A code with a line break or a separator can therefore never reach the audit log (P16/T10).
const CODE = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9][A-Z0-9_-]{0,63}$/, "1–64 letters, digits, - or _");
const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

const couponFields = {
  code: CODE,
  percentOff: z.number().int().min(1).max(100),
  amountOffCents: z.number().int().min(1).max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/),
  maxRedemptions: z.number().int().min(1).max(10_000_000).nullable(),
  perCustomerLimit: z.number().int().min(1).max(10_000).nullable(),
  startsAt: isoTime.nullable(),
  expiresAt: isoTime.nullable(),
  active: z.boolean(),
};

function windowIsOrdered(body: { startsAt?: string | null; expiresAt?: string | null }): boolean {
  return !body.startsAt || !body.expiresAt || Date.parse(body.startsAt) < Date.parse(body.expiresAt);
}

/**
 * POST body. Strict (P16 mass assignment): `redemptions`, `createdAt` or any other key is a 422.
 * Exactly one of `percentOff` / `amountOffCents`; `currency` only with an amount (default USD).
 */
export const CouponCreateBody = z
  .object({
    code: couponFields.code,
    percentOff: couponFields.percentOff.optional(),
    amountOffCents: couponFields.amountOffCents.optional(),
    currency: couponFields.currency.optional(),
    maxRedemptions: couponFields.maxRedemptions.default(null),
    perCustomerLimit: couponFields.perCustomerLimit.default(null),
    startsAt: couponFields.startsAt.default(null),
    expiresAt: couponFields.expiresAt.default(null),
    active: couponFields.active.default(true),
  })
  .strict()
  .refine((b) => (b.percentOff === undefined) !== (b.amountOffCents === undefined), {
    message: "Give exactly one of percentOff or amountOffCents.",
    path: ["percentOff"],
  })
  .refine((b) => b.currency === undefined || b.amountOffCents !== undefined, { message: "currency only goes with amountOffCents.", path: ["currency"] })
  .refine(windowIsOrdered, { message: "startsAt must be before expiresAt.", path: ["expiresAt"] })
  .openapi("AdminCouponCreate");
export type CouponCreateBody = z.infer<typeof CouponCreateBody>;

/**
 * PATCH body: any subset of the fields. `code` may be repeated but not changed (a new code is a
 * new coupon). Switching the discount kind clears the other one.
 */
export const CouponPatchBody = z
  .object({
    code: couponFields.code.optional(),
    percentOff: couponFields.percentOff.optional(),
    amountOffCents: couponFields.amountOffCents.optional(),
    currency: couponFields.currency.optional(),
    maxRedemptions: couponFields.maxRedemptions.optional(),
    perCustomerLimit: couponFields.perCustomerLimit.optional(),
    startsAt: couponFields.startsAt.optional(),
    expiresAt: couponFields.expiresAt.optional(),
    active: couponFields.active.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).filter((k) => k !== "code").length > 0, "Change at least one field.")
  .refine((b) => b.percentOff === undefined || b.amountOffCents === undefined, {
    message: "Give only one of percentOff or amountOffCents.",
    path: ["percentOff"],
  })
  .refine((b) => b.currency === undefined || b.percentOff === undefined, { message: "currency only goes with amountOffCents.", path: ["currency"] })
  .openapi("AdminCouponPatch");
export type CouponPatchBody = z.infer<typeof CouponPatchBody>;

/** Maps a row to the staff shape. */
export function toAdminCoupon(row: CouponRow): AdminCoupon {
  return { ...row };
}

/** A page of coupons in code order after `cursor`. */
export async function listCoupons(db: Database, cursor: string | null, limit: number): Promise<{ items: AdminCoupon[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(coupons)
    .where(cursor ? gt(coupons.code, cursor) : undefined)
    .orderBy(asc(coupons.code))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(toAdminCoupon);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.code : null };
}

/** A coupon by its (normalised) code, or null. */
export async function findAdminCoupon(db: Database, rawCode: string): Promise<CouponRow | null> {
  const code = rawCode.trim().toUpperCase();
  const [row] = await db.select().from(coupons).where(eq(coupons.code, code)).limit(1);
  return row ?? null;
}

/** The committed redemptions of a code, newest first (at most `limit`). */
export async function listRedemptions(db: Database, code: string, limit = 200): Promise<AdminRedemption[]> {
  const rows = await db
    .select()
    .from(couponRedemptions)
    .where(eq(couponRedemptions.code, code))
    .orderBy(desc(couponRedemptions.redeemedAt), desc(couponRedemptions.orderId))
    .limit(limit);
  return rows.map((r) => ({ orderId: r.orderId, userId: r.userId, discountCents: r.discountCents, redeemedAt: r.redeemedAt }));
}

/**
 * Whether a code has been used: a committed redemption, or an order still holding a reservation
 * (pending) or paid with it. The per-customer ledger shards of a code without a total limit
 * cannot be listed, so D1 is where their use is visible (decision 004).
 */
export async function couponInUse(db: Database, code: string): Promise<boolean> {
  const [redeemed] = await db.select({ orderId: couponRedemptions.orderId }).from(couponRedemptions).where(eq(couponRedemptions.code, code)).limit(1);
  if (redeemed) return true;
  const [held] = await db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.couponCode, code), inArray(orders.status, ["pending", "paid"])))
    .limit(1);
  return !!held;
}

/** Creates a coupon and records `coupon.created`; 409 `coupon_exists` when the code is taken. */
export async function createCouponAudited(env: Env, db: Database, actor: StaffActor, body: CouponCreateBody): Promise<CouponRow> {
  const fields: CouponFields = {
    code: body.code,
    percentOff: body.percentOff ?? null,
    amountOffCents: body.amountOffCents ?? null,
    currency: body.amountOffCents !== undefined ? (body.currency ?? "USD") : null,
    maxRedemptions: body.maxRedemptions,
    perCustomerLimit: body.perCustomerLimit,
    startsAt: body.startsAt,
    expiresAt: body.expiresAt,
    active: body.active,
  };
  // An amount off is sent to the provider as the discount: it must be chargeable in its currency.
  if (fields.amountOffCents !== null) assertAmountChargeable(fields.currency ?? "USD", fields.amountOffCents);
  const [row] = await db.insert(coupons).values(fields).onConflictDoNothing({ target: coupons.code }).returning();
  if (!row) throw new ProblemError(409, "coupon_exists", "A coupon with this code already exists.");
  await recordAudit(env, { actor: actor.id, action: "coupon.created", subject: row.code, detail: { after: fields }, ip: actor.ip });
  return row;
}

/**
 * Applies a patch and records `coupon.updated` with before/after of the changed fields.
 * Refusals: 404 `coupon_not_found`; 422 `code_immutable`; 409 `coupon_limit_locked` when a used
 * code would move between "no total limit" and "a total limit": its counts live in different
 * ledgers (per-customer shards vs one global object, decision 004), so the new ledger would not
 * see the old redemptions. Staff create a new code instead.
 */
export async function updateCouponAudited(env: Env, db: Database, actor: StaffActor, rawCode: string, patch: CouponPatchBody): Promise<CouponRow> {
  const before = await findAdminCoupon(db, rawCode);
  if (!before) throw new ProblemError(404, "coupon_not_found", "No coupon has this code.");
  if (patch.code !== undefined && patch.code !== before.code) {
    throw new ProblemError(422, "code_immutable", "A coupon's code cannot change: create a new coupon instead.");
  }
  const next: Partial<CouponFields> = {};
  if (patch.percentOff !== undefined) Object.assign(next, { percentOff: patch.percentOff, amountOffCents: null, currency: null });
  if (patch.amountOffCents !== undefined) {
    Object.assign(next, { amountOffCents: patch.amountOffCents, percentOff: null, currency: patch.currency ?? before.currency ?? "USD" });
  } else if (patch.currency !== undefined) {
    if (before.amountOffCents === null) throw new ProblemError(422, "validation_failed", "currency only goes with amountOffCents.");
    next.currency = patch.currency;
  }
  for (const key of ["maxRedemptions", "perCustomerLimit", "startsAt", "expiresAt", "active"] as const) {
    if (patch[key] !== undefined) Object.assign(next, { [key]: patch[key] });
  }
  if (next.amountOffCents !== undefined || next.currency !== undefined) {
    const amountOff = next.amountOffCents !== undefined ? next.amountOffCents : before.amountOffCents;
    if (amountOff !== null) assertAmountChargeable(next.currency ?? before.currency ?? "USD", amountOff);
  }
  const startsAt = next.startsAt !== undefined ? next.startsAt : before.startsAt;
  const expiresAt = next.expiresAt !== undefined ? next.expiresAt : before.expiresAt;
  if (!windowIsOrdered({ startsAt, expiresAt })) throw new ProblemError(422, "validation_failed", "startsAt must be before expiresAt.");

  const changes = diffFields(before, next);
  if (Object.keys(changes).length === 0) return before;
  if ("maxRedemptions" in changes && (before.maxRedemptions === null) !== (next.maxRedemptions === null) && (await couponInUse(db, before.code))) {
    throw new ProblemError(
      409,
      "coupon_limit_locked",
      "This code has been used: adding or removing a total limit would lose its redemption counts. Create a new code instead.",
    );
  }
  const [after] = await db.update(coupons).set(next).where(eq(coupons.code, before.code)).returning();
  if (!after) throw new ProblemError(404, "coupon_not_found", "No coupon has this code.");
  await recordAudit(env, { actor: actor.id, action: "coupon.updated", subject: before.code, detail: { changes }, ip: actor.ip });
  return after;
}
