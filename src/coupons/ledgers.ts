import type { CouponObject } from "./coupon-object";
import type { CouponRow } from "./schema";

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
function couponStub(env: Env, code: string, shardUserId: string | null = null): DurableObjectStub<CouponObject> {
  return (env.COUPON as unknown as DurableObjectNamespace<CouponObject>).getByName(couponLedgerName(code, shardUserId));
}

/** The ledger that counts `userId`'s redemptions of this coupon (sharded when there is no total limit); null for a guest on a sharded code. */
export function ledgerFor(env: Env, coupon: CouponRow, userId: string | null): DurableObjectStub<CouponObject> | null {
  if (coupon.maxRedemptions !== null) return couponStub(env, coupon.code);
  // No total limit: only the customer's shard matters; a guest has no shard to count against.
  return userId === null ? null : couponStub(env, coupon.code, userId);
}

/**
 * The two ledgers an order's reservation may sit in, for a normalised `code`: the one the current
 * definition points to first, then the other (staff may have changed `maxRedemptions` between
 * reserve and commit). `definition` null: the code is gone from D1, the total ledger first.
 */
export function ledgersThatMayHold(env: Env, code: string, definition: CouponRow | null, userId: string): DurableObjectStub<CouponObject>[] {
  const shard = couponStub(env, code, userId);
  const global = couponStub(env, code);
  return definition && definition.maxRedemptions === null ? [shard, global] : [global, shard];
}

/** The shard a customer had under a key of an older layout (decision 027): only the carry asks it, to move its uses. */
export function formerShard(env: Env, code: string, formerKey: string): DurableObjectStub<CouponObject> {
  return couponStub(env, code, formerKey);
}
