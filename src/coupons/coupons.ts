import { eq, sql } from "drizzle-orm";
import { preparedStatement, type Database } from "../db/client";
import type { CouponCommitResult, CouponLimits, CouponObject } from "./coupon-object";
import { couponRedemptions, coupons, type CouponRow } from "./schema";
import { shopStep } from "../payments/currency";

/** Every refusal code a coupon can produce (API.md, PUT /api/cart/coupon and POST /api/checkout). */
export type CouponRefusal = "coupon_invalid" | "coupon_expired" | "coupon_exhausted" | "coupon_already_used";

/** A coupon that passed a check: its definition, to price the discount from. */
export type CouponCheck = { ok: true; coupon: CouponRow } | { ok: false; code: CouponRefusal };

/** Result of `reserveCoupon`: on success the definition the order must be priced with. */
export type CouponReservation = { ok: true; coupon: CouponRow; expiresAt: number } | { ok: false; code: CouponRefusal };

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
 * Name of the ledger object for a code. A code with a total limit has one ledger (the limit is
 * global, so one object must serialise it). A code without one only has per-customer limits,
 * so each customer gets their own shard `CODE#user:<id>` and a popular code spreads over many
 * objects (docs/decisions/004-coupon-sharding.md).
 */
export function couponLedgerName(code: string, shardUserId: string | null): string {
  return shardUserId === null ? code : `${code}#user:${shardUserId}`;
}

/**
 * Stub of a coupon ledger: `couponStub(env, code)` is the code's own object; with `shardUserId`,
 * that customer's shard. `code` must already be normalised.
 */
export function couponStub(env: Env, code: string, shardUserId: string | null = null): DurableObjectStub<CouponObject> {
  return (env.COUPON as unknown as DurableObjectNamespace<CouponObject>).getByName(couponLedgerName(code, shardUserId));
}

/** The ledger that holds `userId`'s redemptions of this coupon (sharded when there is no total limit). */
function ledgerFor(env: Env, coupon: CouponRow, userId: string | null): DurableObjectStub<CouponObject> | null {
  if (coupon.maxRedemptions !== null) return couponStub(env, coupon.code);
  // No total limit: only the customer's shard matters; a guest has no shard to count against.
  return userId === null ? null : couponStub(env, coupon.code, userId);
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

/**
 * For checkout (M-012 second check, M-013): re-reads the definition, then reserves one
 * redemption for `orderId` in the ledger, atomically against the limits. Idempotent per order.
 * Commit with `commitCoupon` when paid; `releaseCoupon` when the order closes unpaid; `holdCoupon`
 * pins it while a payment is in flight. `holdUntil` (epoch ms) is when the ledger's clock may give
 * it back if nothing else did (docs/decisions/013).
 */
export async function reserveCoupon(
  env: Env,
  db: Database,
  input: { code: string; orderId: string; userId: string; currency?: string | null; now?: Date; definition?: CouponRow | null; holdUntil?: number },
): Promise<CouponReservation> {
  // `definition`: the caller read the code's D1 row in this request already (checkout batches it
  // with the products); null means D1 has no such code.
  const coupon = input.definition !== undefined ? input.definition : await findCoupon(db, input.code);
  if (!coupon) return { ok: false, code: "coupon_invalid" };
  const now = input.now ?? new Date();
  const refusal = couponDefinitionRefusal(coupon, now, input.currency);
  if (refusal) return { ok: false, code: refusal };
  const ledger = ledgerFor(env, coupon, input.userId)!;
  const ttlMs = input.holdUntil !== undefined ? Math.max(1, input.holdUntil - now.getTime()) : undefined;
  const result = await ledger.reserve({
    orderId: input.orderId,
    userId: input.userId,
    definition: couponLimits(coupon),
    now: now.getTime(),
    ...(ttlMs ? { ttlMs } : {}),
  });
  return result.ok ? { ok: true, coupon, expiresAt: result.expiresAt } : result;
}

/**
 * The two ledgers an order's reservation may sit in: the one the current definition points to
 * first, then the other (staff may have changed `maxRedemptions` between reserve and commit).
 */
async function candidateLedgers(env: Env, db: Database, rawCode: string, userId: string): Promise<DurableObjectStub<CouponObject>[]> {
  const code = normaliseCouponCode(rawCode);
  if (!code) return [];
  const coupon = await findCoupon(db, code);
  const shard = couponStub(env, code, userId);
  const global = couponStub(env, code);
  return coupon && coupon.maxRedemptions === null ? [shard, global] : [global, shard];
}

/**
 * Payment succeeded: the reservation becomes a redemption (idempotent), and a row goes to D1
 * `coupon_redemptions` for staff. A reservation that already expired is recorded anyway
 * (`late: true`), because the order was paid at the discounted price.
 */
export async function commitCoupon(
  env: Env,
  db: Database,
  input: { code: string; orderId: string; userId: string; discountCents?: number | null },
): Promise<CouponCommitResult> {
  const ledgers = await candidateLedgers(env, db, input.code, input.userId);
  if (ledgers.length === 0) return { ok: false, code: "reservation_not_found" };
  let result: CouponCommitResult = { ok: false, code: "reservation_not_found" };
  for (const ledger of ledgers) {
    result = await ledger.commit(input.orderId);
    if (result.ok) break;
  }
  // Nothing held anywhere (expired and swept): record it in the primary ledger all the same, and
  // learn whether that went over the limits (the caller flags the order for staff).
  if (!result.ok) {
    const coupon = await findCoupon(db, normaliseCouponCode(input.code)!);
    result = await ledgers[0]!.commit(input.orderId, input.userId, coupon ? couponLimits(coupon) : undefined);
  }
  await db
    .insert(couponRedemptions)
    .values({ code: normaliseCouponCode(input.code)!, orderId: input.orderId, userId: input.userId, discountCents: input.discountCents ?? null })
    .onConflictDoNothing();
  return result;
}

/**
 * Moves the end of the order's reservation (`until` epoch ms; null pins it until commit or
 * release). True when a reservation was held.
 */
export async function extendCouponHold(
  env: Env,
  db: Database,
  input: { code: string; orderId: string; userId: string; until: number | null },
): Promise<boolean> {
  for (const ledger of await candidateLedgers(env, db, input.code, input.userId)) {
    if (await ledger.hold(input.orderId, input.until)) return true;
  }
  return false;
}

/** Checkout failed or expired: gives the order's reservation back. True when one was held. */
export async function releaseCoupon(env: Env, db: Database, input: { code: string; orderId: string; userId: string }): Promise<boolean> {
  for (const ledger of await candidateLedgers(env, db, input.code, input.userId)) {
    if (await ledger.release(input.orderId)) return true;
  }
  return false;
}
