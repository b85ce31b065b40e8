import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RESERVATION_TTL_MS } from "../../src/coupons/coupon-object";
import { confirmCouponHold, releaseCouponHold, reserveCouponHold } from "../../src/coupons/coupon-hold";
import { checkCoupon, computeDiscountCents, normaliseCouponCode } from "../../src/coupons/coupons";
import { getDb } from "../../src/db/client";
import { unique } from "../support/factories";
import { ledger, makeCoupon, redemptionRows } from "../support/coupons";

const db = () => getDb(env.DB);

describe("coupon ledger (CouponObject)", () => {
  it("P10/T07 race: 50 concurrent reserves from 50 users on a single-use coupon give exactly one ok", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 1 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => reserveCouponHold(env, { code: coupon.code, orderId: unique(`ord${i}`), userId: unique(`usr${i}`) })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(49);
    expect(refused.every((r) => !r.ok && r.code === "coupon_exhausted")).toBe(true);
    const snap = await ledger(coupon.code).snapshot();
    expect(snap).toMatchObject({ reserved: 1, committed: 0 });
  });

  it("P10/T07 race: the same user in two concurrent checkouts with perCustomerLimit 1 gets one reservation", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 100, perCustomerLimit: 1 });
    const userId = unique("usr");
    const [a, b] = await Promise.all([
      reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId }),
      reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId }),
    ]);
    expect([a!.ok, b!.ok].sort()).toEqual([false, true]);
    const refused = a!.ok ? b! : a!;
    expect(refused).toEqual({ ok: false, code: "coupon_already_used" });
    expect((await ledger(coupon.code).snapshot()).reserved).toBe(1);
  });

  it("P10/T07 race: a hot code with only a per-customer limit is sharded per customer and still allows one per customer", async () => {
    const coupon = await makeCoupon({ perCustomerLimit: 1 });
    const userId = unique("usr");
    const [a, b] = await Promise.all([
      reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId }),
      reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId }),
    ]);
    expect([a!.ok, b!.ok].filter(Boolean)).toHaveLength(1);
    // The reservation sits in the customer's shard; the code's own object never saw it.
    expect((await ledger(coupon.code, userId).snapshot()).reserved).toBe(1);
    expect((await ledger(coupon.code).snapshot()).reserved).toBe(0);
    // Many other customers use the same code at once, each in their own shard.
    const others = await Promise.all(
      Array.from({ length: 20 }, () => reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: unique("usr") })),
    );
    expect(others.every((r) => r.ok)).toBe(true);
  });

  it("outstanding reservations count against limits (M-013): a reserved but unpaid redemption blocks the next", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 1 });
    const first = await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: unique("usr") });
    expect(first.ok).toBe(true);
    expect(await checkCoupon(env, db(), { code: coupon.code, userId: unique("usr") })).toEqual({ ok: false, code: "coupon_exhausted" });
    expect(await checkCoupon(env, db(), { code: coupon.code, userId: null })).toEqual({ ok: false, code: "coupon_exhausted" });
  });

  it("reserve is idempotent per order, commit turns it into a redemption (and a D1 row), twice is once", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 2 });
    const orderId = unique("ord");
    const userId = unique("usr");
    expect((await reserveCouponHold(env, { code: coupon.code, orderId, userId })).ok).toBe(true);
    expect((await reserveCouponHold(env, { code: coupon.code, orderId, userId })).ok).toBe(true);
    expect((await ledger(coupon.code).snapshot()).reserved).toBe(1);
    expect(await confirmCouponHold(env, { code: coupon.code, orderId, userId, discountCents: 150 })).toEqual({ ok: true, late: false });
    expect(await confirmCouponHold(env, { code: coupon.code, orderId, userId, discountCents: 150 })).toEqual({ ok: true, late: false });
    expect(await ledger(coupon.code).snapshot()).toMatchObject({ reserved: 0, committed: 1 });
    expect(await redemptionRows(coupon.code)).toEqual([{ code: coupon.code, order_id: orderId, user_id: userId }]);
    // A committed redemption cannot be released by a late release call.
    expect(await releaseCouponHold(env, { code: coupon.code, orderId, userId })).toBe(false);
    expect((await ledger(coupon.code).snapshot()).committed).toBe(1);
  });

  it("release() gives the reservation back: the next customer can reserve", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 1 });
    const orderId = unique("ord");
    const userId = unique("usr");
    expect((await reserveCouponHold(env, { code: coupon.code, orderId, userId })).ok).toBe(true);
    expect((await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: unique("usr") })).ok).toBe(false);
    expect(await releaseCouponHold(env, { code: coupon.code, orderId, userId })).toBe(true);
    expect((await ledger(coupon.code).snapshot()).reserved).toBe(0);
    expect((await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: unique("usr") })).ok).toBe(true);
  });

  it("the alarm releases a stale reservation (older than the TTL)", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 1 });
    const stub = ledger(coupon.code);
    const orderId = unique("ord");
    // Reserved "36 minutes ago": its expiry is already in the past.
    const res = await stub.reserve({
      orderId,
      userId: unique("usr"),
      definition: { maxRedemptions: 1, perCustomerLimit: null },
      now: Date.now() - RESERVATION_TTL_MS - 60_000,
    });
    expect(res.ok).toBe(true);
    await runDurableObjectAlarm(stub);
    const snap = await stub.snapshot();
    expect(snap.reservations.map((r) => r.orderId)).not.toContain(orderId);
    expect(snap.reserved).toBe(0);
    expect((await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: unique("usr") })).ok).toBe(true);
  });

  it("a reservation within its TTL survives the alarm", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 5 });
    const orderId = unique("ord");
    expect((await reserveCouponHold(env, { code: coupon.code, orderId, userId: unique("usr") })).ok).toBe(true);
    await runDurableObjectAlarm(ledger(coupon.code));
    expect((await ledger(coupon.code).snapshot()).reservations.map((r) => r.orderId)).toEqual([orderId]);
  });

  it("a commit after the reservation expired is recorded anyway (late), so the limit is not under-counted", async () => {
    const coupon = await makeCoupon({ maxRedemptions: 1 });
    const orderId = unique("ord");
    const userId = unique("usr");
    await ledger(coupon.code).reserve({ orderId, userId, definition: { maxRedemptions: 1, perCustomerLimit: null }, now: Date.now() - RESERVATION_TTL_MS - 1 });
    await runDurableObjectAlarm(ledger(coupon.code));
    expect(await confirmCouponHold(env, { code: coupon.code, orderId, userId })).toEqual({ ok: true, late: true });
    expect(await ledger(coupon.code).snapshot()).toMatchObject({ committed: 1, reserved: 0 });
    expect((await reserveCouponHold(env, { code: coupon.code, orderId: unique("ord"), userId: unique("usr") })).ok).toBe(false);
  });

  it("T07 expired, not-yet-started, inactive and unknown coupons are refused by the server's clock, and nothing is reserved", async () => {
    const expired = await makeCoupon({ expiresAt: new Date(Date.now() - 1000).toISOString(), maxRedemptions: 5 });
    const future = await makeCoupon({ startsAt: new Date(Date.now() + 3_600_000).toISOString(), maxRedemptions: 5 });
    const inactive = await makeCoupon({ active: false, maxRedemptions: 5 });
    const userId = unique("usr");
    expect(await reserveCouponHold(env, { code: expired.code, orderId: unique("ord"), userId })).toEqual({ ok: false, code: "coupon_expired" });
    expect(await reserveCouponHold(env, { code: future.code, orderId: unique("ord"), userId })).toEqual({ ok: false, code: "coupon_invalid" });
    expect(await reserveCouponHold(env, { code: inactive.code, orderId: unique("ord"), userId })).toEqual({ ok: false, code: "coupon_invalid" });
    expect(await reserveCouponHold(env, { code: "NO-SUCH-CODE", orderId: unique("ord"), userId })).toEqual({ ok: false, code: "coupon_invalid" });
    for (const c of [expired, future, inactive]) expect((await ledger(c.code).snapshot()).reserved).toBe(0);
  });

  it("codes are normalised: lower case and spaces find the same coupon; junk is no code", async () => {
    const coupon = await makeCoupon({
      code: unique("SAVE")
        .toUpperCase()
        .replaceAll(/[^A-Z0-9-]/g, ""),
    });
    expect(normaliseCouponCode(`  ${coupon.code.toLowerCase()} `)).toBe(coupon.code);
    expect(normaliseCouponCode("a b")).toBeNull();
    expect(normaliseCouponCode("'; DROP TABLE coupons;--")).toBeNull();
    expect((await checkCoupon(env, db(), { code: coupon.code.toLowerCase(), userId: null })).ok).toBe(true);
  });

  it("discounts are integer cents: percentages round down, amounts never exceed the subtotal", async () => {
    const pct = await makeCoupon({ percentOff: 15 });
    const amount = await makeCoupon({ amountOffCents: 5000 });
    expect(computeDiscountCents(pct, 999)).toBe(149); // 149.85 → 149
    expect(computeDiscountCents(pct, 0)).toBe(0);
    expect(computeDiscountCents(amount, 1999)).toBe(1999);
    expect(computeDiscountCents(amount, 9999)).toBe(5000);
  });

  it("a percentage rounds down to the currency's chargeable step: 15 % of 5.120 KWD is 0.760, not 0.768 (Stripe wants three-decimal amounts to end in 0)", async () => {
    const pct = await makeCoupon({ percentOff: 15 });
    expect(computeDiscountCents(pct, 5120, "KWD")).toBe(760);
    expect(computeDiscountCents(pct, 5120, "BHD")).toBe(760);
    expect(computeDiscountCents(pct, 999, "USD")).toBe(149);
    expect(computeDiscountCents(pct, 999, "JPY")).toBe(149);
    expect(computeDiscountCents(pct, 999, "ISK")).toBe(149);
  });
});
