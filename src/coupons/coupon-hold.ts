import { getDb, type Database } from "../db/client";
import type { CouponCommitResult, CouponObject } from "./coupon-object";
import { couponDefinitionRefusal, couponLimits, findCoupon, normaliseCouponCode, type CouponRefusal } from "./coupons";
import { ledgerFor, ledgersThatMayHold } from "./ledgers";
import { couponRedemptions, type CouponRow } from "./schema";

// The whole life of a coupon held for an order, and the only door to the ledger objects for it
// (docs/decisions/013): reserved at checkout, pinned while a payment is in flight, confirmed when
// the order is paid, released when it closes unpaid (checkout failed, cancelled, expired, refused).
// The ledger's own clock gives back a reservation nobody confirmed or released (RESERVATION_TTL_MS,
// or the `holdUntil` checkout asked for). Every step is idempotent per order.

/** Which hold: the coupon code as the order has it, the order, and the customer key the ledger counts (couponCustomerKey). */
export interface CouponHold {
  code: string;
  orderId: string;
  userId: string;
}

/** Result of `reserveCouponHold`: on success the definition the order must be priced with. */
export type CouponReservation = { ok: true; coupon: CouponRow; expiresAt: number } | { ok: false; code: CouponRefusal };

/**
 * For checkout (M-012 second check, M-013): checks the definition at the server's clock, then
 * reserves one redemption for the order in the ledger, atomically against the limits. `definition`:
 * the caller read the code's D1 row in this request already (checkout batches it with the
 * products); null means D1 has no such code. `holdUntil` (epoch ms) is when the ledger's clock may
 * give the reservation back if nothing else did.
 */
export async function reserveCouponHold(
  env: Env,
  input: CouponHold & { currency?: string | null; now?: Date; definition?: CouponRow | null; holdUntil?: number },
): Promise<CouponReservation> {
  const coupon = input.definition !== undefined ? input.definition : await findCoupon(getDb(env.DB), input.code);
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

/** A payment is in flight (delayed method, or completed without its webhook yet): the hold stays until the order closes. True when one was held. */
export async function pinCouponHold(env: Env, hold: CouponHold): Promise<boolean> {
  for (const ledger of await ledgersOf(getDb(env.DB), env, hold)) {
    if (await ledger.hold(hold.orderId, null)) return true;
  }
  return false;
}

/**
 * The order was paid: the hold becomes a redemption (idempotent), and a row goes to D1
 * `coupon_redemptions` for staff. A hold that already expired is recorded anyway (`late: true`),
 * because the order was paid at the discounted price; one that found no room left says
 * `overLimit` (the caller flags the order for staff).
 */
export async function confirmCouponHold(env: Env, hold: CouponHold & { discountCents?: number | null }): Promise<CouponCommitResult> {
  const db = getDb(env.DB);
  const ledgers = await ledgersOf(db, env, hold);
  if (ledgers.length === 0) return { ok: false, code: "reservation_not_found" };
  let result: CouponCommitResult = { ok: false, code: "reservation_not_found" };
  for (const ledger of ledgers) {
    result = await ledger.commit(hold.orderId);
    if (result.ok) break;
  }
  // Nothing held anywhere (expired and swept): record it in the primary ledger all the same, and
  // learn whether that went over the limits.
  if (!result.ok) {
    const coupon = await findCoupon(db, normaliseCouponCode(hold.code)!);
    result = await ledgers[0]!.commit(hold.orderId, hold.userId, coupon ? couponLimits(coupon) : undefined);
  }
  await db
    .insert(couponRedemptions)
    .values({ code: normaliseCouponCode(hold.code)!, orderId: hold.orderId, userId: hold.userId, discountCents: hold.discountCents ?? null })
    .onConflictDoNothing();
  return result;
}

/** The order closed unpaid (or its checkout failed): the hold goes back to the coupon. True when one was held. */
export async function releaseCouponHold(env: Env, hold: CouponHold): Promise<boolean> {
  for (const ledger of await ledgersOf(getDb(env.DB), env, hold)) {
    if (await ledger.release(hold.orderId)) return true;
  }
  return false;
}

/** The ledgers this hold may sit in, most likely first; none for a code that cannot be a coupon. */
async function ledgersOf(db: Database, env: Env, hold: CouponHold): Promise<DurableObjectStub<CouponObject>[]> {
  const code = normaliseCouponCode(hold.code);
  if (!code) return [];
  return ledgersThatMayHold(env, code, await findCoupon(db, code), hold.userId);
}
