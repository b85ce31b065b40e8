import { env } from "cloudflare:workers";
import { getDb } from "../../src/db/client";
import type { CouponObject } from "../../src/coupons/coupon-object";
import { couponLedgerName } from "../../src/coupons/ledgers";
import { coupons, type CouponRow } from "../../src/db/schema";
import { unique } from "./factories";

/** Inserts a coupon straight into D1 (10 % off, no limits, active, no window unless told). */
export async function makeCoupon(overrides: Partial<typeof coupons.$inferInsert> = {}): Promise<CouponRow> {
  const code =
    overrides.code ??
    unique("CPN")
      .toUpperCase()
      .replaceAll(/[^A-Z0-9_-]/g, "")
      .slice(0, 60);
  const amount = overrides.amountOffCents ?? null;
  const [row] = await getDb(env.DB)
    .insert(coupons)
    .values({
      code,
      percentOff: amount === null ? (overrides.percentOff ?? 10) : null,
      amountOffCents: amount,
      currency: overrides.currency ?? (amount === null ? null : "USD"),
      maxRedemptions: overrides.maxRedemptions ?? null,
      perCustomerLimit: overrides.perCustomerLimit ?? null,
      startsAt: overrides.startsAt ?? null,
      expiresAt: overrides.expiresAt ?? null,
      active: overrides.active ?? true,
    })
    .returning();
  return row!;
}

/** A ledger object by its name (`CODE` or `CODE#user:<id>`), for asserting on its state. */
export function ledger(code: string, shardUserId: string | null = null): DurableObjectStub<CouponObject> {
  return (env.COUPON as unknown as DurableObjectNamespace<CouponObject>).getByName(couponLedgerName(code, shardUserId));
}

/** Rows of coupon_redemptions for a code. */
export async function redemptionRows(code: string): Promise<{ code: string; order_id: string; user_id: string }[]> {
  const { results } = await env.DB.prepare("SELECT code, order_id, user_id FROM coupon_redemptions WHERE code = ? ORDER BY order_id")
    .bind(code)
    .all<{ code: string; order_id: string; user_id: string }>();
  return results;
}
