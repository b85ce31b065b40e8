import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CouponObject } from "../../src/coupons/coupon-object";
import { couponCustomerKey } from "../../src/coupons/customer";
import { LEDGER_LAYOUT_VERSION } from "../../src/coupons/ledger-layout";
import { runScheduledSweep } from "../../src/payments/scheduled";
import { markEmailVerified, signUpAndSignIn, type SignedIn } from "../support/accounts";
import { cartJson } from "../support/cart";
import { ledger, makeCoupon, redemptionRows } from "../support/coupons";
import { makeProduct, unique } from "../support/factories";

// Layout 1 of a CouponObject, exactly as the code before versioning created it: rows keyed by the
// account id, no `layout` table, no `former_key`.
const LAYOUT_1 = [
  "CREATE TABLE reservations (order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at INTEGER NOT NULL)",
  "CREATE TABLE redemptions (order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, committed_at INTEGER NOT NULL)",
  "CREATE INDEX reservations_expires_idx ON reservations (expires_at)",
  "CREATE INDEX reservations_user_idx ON reservations (user_id)",
  "CREATE INDEX redemptions_user_idx ON redemptions (user_id)",
];

/**
 * Replaces the object's storage with layout 1 holding one paid use by `accountId`, then resets the
 * object, so the next call runs the new code's constructor over the old storage.
 */
async function writeLayout1(stub: DurableObjectStub<CouponObject>, orderId: string, accountId: string): Promise<void> {
  await runInDurableObject(stub, (_: CouponObject, state) => {
    const sql = state.storage.sql;
    for (const table of ["layout", "reservations", "redemptions"]) sql.exec(`DROP TABLE IF EXISTS ${table}`);
    for (const statement of LAYOUT_1) sql.exec(statement);
    sql.exec("INSERT INTO redemptions (order_id, user_id, committed_at) VALUES (?, ?, ?)", orderId, accountId, Date.now() - 86_400_000);
  });
  await runInDurableObject(stub, (_: CouponObject, state) => {
    try {
      state.abort("test: restart over the old layout");
    } catch {
      // abort() throws in the caller by design.
    }
  }).catch(() => undefined);
}

/** The D1 row staff saw for that paid use, keyed by the account id as it was then. */
async function writeOldRedemptionRow(code: string, orderId: string, accountId: string): Promise<void> {
  await env.DB.prepare("INSERT INTO coupon_redemptions (code, order_id, user_id, discount_cents) VALUES (?, ?, ?, 200)").bind(code, orderId, accountId).run();
}

async function verifiedShopperWithCart(): Promise<SignedIn> {
  const who = await signUpAndSignIn();
  await markEmailVerified(who.user.id);
  const product = await makeProduct({ priceCents: 2000 });
  expect((await cartJson(who.cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 1 })).status).toBe(200);
  return who;
}

const apply = async (cookie: string, code: string) => {
  const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code });
  return { status: res.status, code: res.status === 200 ? null : ((await res.json()) as { code: string }).code };
};

describe("coupon ledger storage across upgrades (decision 027)", () => {
  it("P10 upgrade reset: a customer who used a once-per-customer code before the key moved to the mailbox cannot use it after (old shard and old global ledger)", async () => {
    const who = await verifiedShopperWithCart();
    const key = await couponCustomerKey(who.email);
    // A code without a total limit: the old ledger was the shard named by the account id.
    const sharded = await makeCoupon({ perCustomerLimit: 1 });
    const shardOrder = unique("ord");
    await writeLayout1(ledger(sharded.code, who.user.id), shardOrder, who.user.id);
    await writeOldRedemptionRow(sharded.code, shardOrder, who.user.id);
    // A code with a total limit: one ledger, whose rows were keyed by the account id.
    const global = await makeCoupon({ perCustomerLimit: 1, maxRedemptions: 100 });
    const globalOrder = unique("ord");
    await writeLayout1(ledger(global.code), globalOrder, who.user.id);
    await writeOldRedemptionRow(global.code, globalOrder, who.user.id);

    expect(await apply(who.cookie, sharded.code)).toEqual({ status: 422, code: "coupon_already_used" });
    expect(await apply(who.cookie, global.code)).toEqual({ status: 422, code: "coupon_already_used" });
    expect(await cartJson(who.cookie, "POST", "/api/checkout", {}).then((r) => r.status)).toBe(201); // without the coupon

    // The uses now sit under the mailbox key, the old key kept beside them; staff's rows say so too.
    const shard = await ledger(sharded.code, key).snapshot();
    expect(shard.redemptions).toEqual([expect.objectContaining({ orderId: shardOrder, userId: key })]);
    const globalSnap = await ledger(global.code).snapshot();
    expect(globalSnap.redemptions).toEqual([expect.objectContaining({ orderId: globalOrder, userId: key })]);
    expect(await ledger(global.code).layoutVersion()).toBe(LEDGER_LAYOUT_VERSION);
    expect(await redemptionRows(sharded.code)).toEqual([{ code: sharded.code, order_id: shardOrder, user_id: key }]);
    expect(await redemptionRows(global.code)).toEqual([{ code: global.code, order_id: globalOrder, user_id: key }]);

    // Everyone else still may use both codes once.
    const other = await verifiedShopperWithCart();
    expect(await apply(other.cookie, sharded.code)).toEqual({ status: 200, code: null });
    expect(await apply(other.cookie, global.code)).toEqual({ status: 200, code: null });
  });

  it("the scheduled sweep carries old uses without waiting for a shopper; a row whose account is gone is set aside once", async () => {
    const who = await verifiedShopperWithCart();
    const key = await couponCustomerKey(who.email);
    const coupon = await makeCoupon({ perCustomerLimit: 1 });
    const orderId = unique("ord");
    await writeLayout1(ledger(coupon.code, who.user.id), orderId, who.user.id);
    await writeOldRedemptionRow(coupon.code, orderId, who.user.id);
    await writeOldRedemptionRow(coupon.code, unique("ord"), "usr_deleted_long_ago");
    await runScheduledSweep({ scheduledTime: Date.now() }, env);
    expect((await redemptionRows(coupon.code)).map((r) => r.user_id).sort()).toEqual([key, "gone_usr_deleted_long_ago"].sort());
    expect((await ledger(coupon.code, key).snapshot()).committed).toBe(1);
    expect(await apply(who.cookie, coupon.code)).toEqual({ status: 422, code: "coupon_already_used" });
  });
});
