import { eq, sql } from "drizzle-orm";
import { preparedStatement, type Database } from "../db/client";
import { shopStep } from "../payments/currency";
import type { CouponLimits } from "./coupon-object";
import { ledgerFor } from "./ledgers";
import { coupons, type CouponRow } from "./schema";

/** Every refusal code a coupon can produce (API.md, PUT /api/cart/coupon and POST /api/checkout). */
export type CouponRefusal = "coupon_invalid" | "coupon_expired" | "coupon_exhausted" | "coupon_already_used";

/** A coupon that passed a check: its definition, to price the discount from. */
export type CouponCheck = { ok: true; coupon: CouponRow } | { ok: false; code: CouponRefusal };

const CODE_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,63}$/;

/**
 * The one spelling of a code: trimmed, upper-case, letters/digits/`-`/`_`, 1–64 characters.
 * Anything else cannot be a coupon, so it is `null` (the caller answers `coupon_invalid`).
 */
export function normaliseCouponCode(raw: string): string | null {
  const code = raw.trim().toUpperCase();
  return CODE_PATTERN.test(code) ? code : null;
}

/** The D1 definition of a code (normalised here), or null. */
export async function findCoupon(db: Database, rawCode: string): Promise<CouponRow | null> {
  const code = normaliseCouponCode(rawCode);
  if (!code) return null;
  return findNormalisedCoupon(db, code);
}

/**
 * The D1 definition of an already normalised code, or null, through a statement prepared once per
 * D1 binding: a cart that holds a coupon reads its definition on every priced call (definitions
 * are never shared between requests, decision 009), so building the query each time showed in
 * the profiles.
 */
export async function findNormalisedCoupon(db: Database, code: string): Promise<CouponRow | null> {
  const statement = preparedStatement(db.$client, "coupon.byCode", (pdb) =>
    pdb
      .select()
      .from(coupons)
      .where(eq(coupons.code, sql.placeholder("code")))
      .limit(1)
      .prepare(),
  );
  const [row] = await statement.all({ code });
  return row ?? null;
}

/** The definition of a normalised code as an unexecuted query (for a batch). */
export function couponByCodeQuery(db: Database, code: string) {
  return db.select().from(coupons).where(eq(coupons.code, code)).limit(1);
}

/**
 * Whether the definition itself allows use at `now` (the server's clock, never the client's):
 * inactive or not started yet is `coupon_invalid`, past `expiresAt` is `coupon_expired`.
 * `currency` (the cart's) refuses an amount-off coupon in another currency.
 */
export function couponDefinitionRefusal(coupon: CouponRow, now: Date, currency?: string | null): CouponRefusal | null {
  if (!coupon.active) return "coupon_invalid";
  const t = now.getTime();
  if (coupon.startsAt && t < Date.parse(coupon.startsAt)) return "coupon_invalid";
  if (coupon.expiresAt && t >= Date.parse(coupon.expiresAt)) return "coupon_expired";
  if (coupon.amountOffCents !== null && currency && coupon.currency !== currency) return "coupon_invalid";
  return null;
}

/**
 * The discount in integer cents for a subtotal. Percentages round down (floor of
 * subtotal × percent / 100): a fraction of a cent never goes to the shopper, and the
 * discount never exceeds the subtotal, so totals are never negative. With the cart's `currency`,
 * a percentage rounds down to the currency's chargeable step (10 fils in KWD: Stripe wants the
 * last digit of three-decimal amounts to be 0), so the total stays one the provider can charge.
 */
export function computeDiscountCents(coupon: CouponRow, subtotalCents: number, currency?: string | null): number {
  const step = currency ? shopStep(currency) : 1;
  const raw = coupon.percentOff !== null ? Math.floor((subtotalCents * coupon.percentOff) / (100 * step)) * step : (coupon.amountOffCents ?? 0);
  return Math.max(0, Math.min(subtotalCents, raw));
}

/** The limits the ledger enforces, from the D1 definition. */
export function couponLimits(coupon: CouponRow): CouponLimits {
  return { maxRedemptions: coupon.maxRedemptions, perCustomerLimit: coupon.perCustomerLimit };
}

/**
 * The check of `PUT /api/cart/coupon` (M-012, first of two): the definition at the server's
 * clock, then the ledger's limits for this customer (reservations included). A guest (`userId`
 * null) is checked against the total only; the per-customer check runs again at checkout.
 */
export async function checkCoupon(
  env: Env,
  db: Database,
  input: { code: string; userId: string | null; currency?: string | null; now?: Date },
): Promise<CouponCheck> {
  const coupon = await findCoupon(db, input.code);
  if (!coupon) return { ok: false, code: "coupon_invalid" };
  const now = input.now ?? new Date();
  const refusal = couponDefinitionRefusal(coupon, now, input.currency);
  if (refusal) return { ok: false, code: refusal };
  return checkCouponLimits(env, coupon, input.userId, now);
}

/**
 * The ledger half of `checkCoupon`, for a definition the caller already read and found usable:
 * this customer's limits, reservations included (a guest, `userId` null: the total only).
 */
export async function checkCouponLimits(env: Env, coupon: CouponRow, userId: string | null, now: Date): Promise<CouponCheck> {
  // A coupon without any limit has nothing to count: no object is woken for a mere check.
  const limited = coupon.maxRedemptions !== null || coupon.perCustomerLimit !== null;
  const ledger = limited ? ledgerFor(env, coupon, userId) : null;
  if (ledger) {
    const verdict = await ledger.check({ userId, definition: couponLimits(coupon), now: now.getTime() });
    if (!verdict.ok) return verdict;
  }
  return { ok: true, coupon };
}
