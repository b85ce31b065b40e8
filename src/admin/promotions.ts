import { z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { promotions, type PromotionRow } from "../coupons/schema";
import type { Database } from "../db/client";
import { assertAmountChargeable, isChargeableCurrency } from "../payments/currency";
import { ProblemError } from "../platform/problem";
import { diffFields, type StaffActor } from "./products";

// Staff manage automatic promotions (issue 33, decision 030): create, edit, switch off. The
// bodies are strict (P16 mass assignment: an id, a use count or anything unknown is a 422); the
// kind and its value are checked together after a patch is merged, so D1's CHECK never sees a
// mismatch (a 500); every change is audited with what changed.

export const PROMOTION_KINDS = ["free_shipping", "percent_off", "amount_off"] as const;

/** A promotion as staff see it (product ids as a list, not the stored JSON). */
export interface AdminPromotion {
  id: string;
  name: string;
  kind: (typeof PROMOTION_KINDS)[number];
  currency: string;
  percentOff: number | null;
  amountOffCents: number | null;
  minSubtotalCents: number | null;
  category: string | null;
  productIds: string[] | null;
  startsAt: string | null;
  endsAt: string | null;
  firstOrderOnly: boolean;
  active: boolean;
  createdAt: string;
}

type PromotionFields = Omit<AdminPromotion, "id" | "createdAt">;

const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());
// Printable text only: a name reaches the cart, receipts, the Stripe coupon and the audit log.
const NAME = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[^\p{Cc}]+$/u, "No control characters");
const fields = {
  name: NAME,
  kind: z.enum(PROMOTION_KINDS),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .refine(isChargeableCurrency, "Payments cannot be taken in this currency."),
  percentOff: z.number().int().min(1).max(100).nullable(),
  amountOffCents: z.number().int().min(1).max(100_000_000).nullable(),
  minSubtotalCents: z.number().int().min(0).max(100_000_000).nullable(),
  category: z.string().trim().min(1).max(100).nullable(),
  productIds: z.array(z.string().min(1).max(100)).min(1).max(50).nullable(),
  startsAt: isoTime.nullable(),
  endsAt: isoTime.nullable(),
  firstOrderOnly: z.boolean(),
  active: z.boolean(),
};

export const PromotionCreateBody = z
  .object({
    name: fields.name,
    kind: fields.kind,
    currency: fields.currency,
    percentOff: fields.percentOff.default(null),
    amountOffCents: fields.amountOffCents.default(null),
    minSubtotalCents: fields.minSubtotalCents.default(null),
    category: fields.category.default(null),
    productIds: fields.productIds.default(null),
    startsAt: fields.startsAt.default(null),
    endsAt: fields.endsAt.default(null),
    firstOrderOnly: fields.firstOrderOnly.default(false),
    active: fields.active.default(true),
  })
  .strict()
  .openapi("AdminPromotionCreate");
export type PromotionCreateBody = z.infer<typeof PromotionCreateBody>;

/** PATCH body: any subset of the fields; `active: false` switches a promotion off (nothing is deleted: orders name it). */
export const PromotionPatchBody = z
  .object({
    name: fields.name.optional(),
    kind: fields.kind.optional(),
    currency: fields.currency.optional(),
    percentOff: fields.percentOff.optional(),
    amountOffCents: fields.amountOffCents.optional(),
    minSubtotalCents: fields.minSubtotalCents.optional(),
    category: fields.category.optional(),
    productIds: fields.productIds.optional(),
    startsAt: fields.startsAt.optional(),
    endsAt: fields.endsAt.optional(),
    firstOrderOnly: fields.firstOrderOnly.optional(),
    active: fields.active.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "Change at least one field.")
  .openapi("AdminPromotionPatch");
export type PromotionPatchBody = z.infer<typeof PromotionPatchBody>;

function productIdsOf(stored: string | null): string[] | null {
  if (stored === null) return null;
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** Maps a row to the staff shape. */
export function toAdminPromotion(row: PromotionRow): AdminPromotion {
  return { ...row, productIds: productIdsOf(row.productIds) };
}

/**
 * The rules a whole promotion keeps, checked after a patch is merged: the kind's value and only
 * it, an amount the payment provider can take in the currency, a window that ends after it starts.
 */
function assertCoherent(p: PromotionFields): void {
  const refuse = (detail: string) => {
    throw new ProblemError(422, "validation_failed", detail);
  };
  if (p.kind === "percent_off" && (p.percentOff === null || p.amountOffCents !== null)) refuse("A percent_off promotion has percentOff and no amountOffCents.");
  if (p.kind === "amount_off" && (p.amountOffCents === null || p.percentOff !== null)) refuse("An amount_off promotion has amountOffCents and no percentOff.");
  if (p.kind === "free_shipping" && (p.percentOff !== null || p.amountOffCents !== null))
    refuse("A free_shipping promotion has no percentOff or amountOffCents.");
  if (p.startsAt && p.endsAt && Date.parse(p.startsAt) >= Date.parse(p.endsAt)) refuse("startsAt must be before endsAt.");
  if (p.amountOffCents !== null) assertAmountChargeable(p.currency, p.amountOffCents);
}

function toRowFields(p: PromotionFields): Omit<PromotionRow, "id" | "createdAt"> {
  return { ...p, productIds: p.productIds === null ? null : JSON.stringify(p.productIds) };
}

/** Every promotion, by name (a shop has a handful: at most 500 are listed). */
export async function listPromotions(db: Database): Promise<AdminPromotion[]> {
  const rows = await db.select().from(promotions).orderBy(asc(promotions.name), asc(promotions.id)).limit(500);
  return rows.map(toAdminPromotion);
}

/** A promotion by id, or null. */
export async function findPromotion(db: Database, id: string): Promise<AdminPromotion | null> {
  const [row] = await db.select().from(promotions).where(eq(promotions.id, id)).limit(1);
  return row ? toAdminPromotion(row) : null;
}

/** Creates a promotion and records `promotion.created`. */
export async function createPromotionAudited(env: Env, db: Database, actor: StaffActor, body: PromotionCreateBody): Promise<AdminPromotion> {
  const fieldsOf: PromotionFields = { ...body };
  assertCoherent(fieldsOf);
  const id = `promo_${crypto.randomUUID().replaceAll("-", "")}`;
  const [row] = await db
    .insert(promotions)
    .values({ id, ...toRowFields(fieldsOf) })
    .returning();
  if (!row) throw new Error("promotion insert returned no row");
  await recordAudit(env, { actor: actor.id, action: "promotion.created", subject: id, detail: { after: fieldsOf }, ip: actor.ip });
  return toAdminPromotion(row);
}

/** Applies a patch and records `promotion.updated` with the changed fields; 404 `promotion_not_found`. */
export async function updatePromotionAudited(env: Env, db: Database, actor: StaffActor, id: string, patch: PromotionPatchBody): Promise<AdminPromotion> {
  const before = await findPromotion(db, id);
  if (!before) throw new ProblemError(404, "promotion_not_found", "No promotion has this id.");
  const next: Partial<PromotionFields> = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  // Switching the kind clears the value of the other kinds unless the patch gives it.
  if (patch.kind !== undefined && patch.kind !== before.kind) {
    if (patch.kind !== "percent_off" && patch.percentOff === undefined) next.percentOff = null;
    if (patch.kind !== "amount_off" && patch.amountOffCents === undefined) next.amountOffCents = null;
  }
  const { id: _id, createdAt: _createdAt, ...current } = before;
  const merged: PromotionFields = { ...current, ...next };
  assertCoherent(merged);
  const changes = diffFields(current, next);
  if (Object.keys(changes).length === 0) return before;
  const [after] = await db.update(promotions).set(toRowFields(merged)).where(eq(promotions.id, id)).returning();
  if (!after) throw new ProblemError(404, "promotion_not_found", "No promotion has this id.");
  await recordAudit(env, { actor: actor.id, action: "promotion.updated", subject: id, detail: { changes }, ip: actor.ip });
  return toAdminPromotion(after);
}
