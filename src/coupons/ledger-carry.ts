import { eq } from "drizzle-orm";
import { getDb } from "../db/client";
import { ProblemError } from "../platform/problem";
import type { CarriedUse } from "./coupon-object";
import { CUSTOMER_KEY_PREFIX, customerKeysOfAccounts } from "./ledger-layout";
import { formerShard, ledgerFor } from "./ledgers";
import { coupons } from "./schema";

// Carrying uses to the ledger that counts them now (docs/decisions/027-object-storage-migrations.md).
// The per-customer key changed from the account id to the mailbox key. Inside one object the
// layout step rewrites the rows (ledger-layout.ts); but a code without a total limit keeps each
// customer in a shard NAMED by the key (`CODE#user:<key>`), so the rows of an old shard
// `CODE#user:<accountId>` sit in an object nobody asks any more. D1's `coupon_redemptions` is the
// index of every paid use: a row whose `user_id` is not a mailbox key is a use not carried yet. This
// module carries them: the old shard's rows and the D1 row go to the ledger of the mailbox key, then
// the D1 row is rekeyed, which marks the use as carried. Idempotent per order at every step.

/** A D1 row whose account is gone: nothing can carry it (there is no address), so it is set aside once. */
const GONE_PREFIX = "gone_";

const isLegacy = `substr(user_id, 1, 5) NOT IN ('${CUSTOMER_KEY_PREFIX}', '${GONE_PREFIX}')`;

/** Codes whose legacy uses were all carried, per isolate: their check skips the D1 look. */
const carriedCodes = new Set<string>();

/** Whether some use of `code` (or of any code) still waits to be carried. */
export async function hasUncarriedUses(db: D1Database, code: string | null): Promise<boolean> {
  if (code !== null && carriedCodes.has(code)) return false;
  const row = await db
    .prepare(`SELECT 1 AS x FROM coupon_redemptions WHERE ${isLegacy}${code === null ? "" : " AND code = ?"} LIMIT 1`)
    .bind(...(code === null ? [] : [code]))
    .first();
  if (row === null && code !== null) carriedCodes.add(code);
  return row !== null;
}

/**
 * Carries up to `limit` legacy uses (of `code`, or of any code), returns how many D1 rows it
 * carried. Run by the scheduled sweep, and before any per-customer check of a code that still has
 * some (`carryUsesOfCode`), so no check ever counts without them.
 */
export async function carryLegacyUses(env: Env, code: string | null, limit = 50): Promise<number> {
  const { results } = await env.DB.prepare(
    `SELECT code, order_id, user_id, redeemed_at FROM coupon_redemptions WHERE ${isLegacy}${code === null ? "" : " AND code = ?"} ORDER BY code, user_id LIMIT ?`,
  )
    .bind(...(code === null ? [limit] : [code, limit]))
    .all<{ code: string; order_id: string; user_id: string; redeemed_at: string }>();
  if (results.length === 0) return 0;
  const keys = await customerKeysOfAccounts(env.DB, [...new Set(results.map((r) => r.user_id))]);
  const groups = new Map<string, typeof results>();
  for (const row of results) {
    const group = `${row.code}\u0000${row.user_id}`;
    groups.set(group, [...(groups.get(group) ?? []), row]);
  }
  const db = getDb(env.DB);
  const rekeys: D1PreparedStatement[] = [];
  for (const rows of groups.values()) {
    const { code: rowCode, user_id: accountId } = rows[0]!;
    const key = keys.get(accountId);
    if (key) {
      const [definition] = await db.select().from(coupons).where(eq(coupons.code, rowCode)).limit(1);
      if (definition) {
        const oldShard = formerShard(env, rowCode, accountId);
        const fromShard = (await oldShard.exportUses()).map((u): CarriedUse => ({ ...u, userId: key, formerKey: accountId }));
        const fromD1 = rows.map(
          (r): CarriedUse => ({ kind: "redemption", orderId: r.order_id, userId: key, at: Date.parse(`${r.redeemed_at}`) || Date.now(), formerKey: accountId }),
        );
        await ledgerFor(env, definition, key)!.importUses([...fromD1, ...fromShard]);
      }
    }
    rekeys.push(
      env.DB.prepare("UPDATE coupon_redemptions SET user_id = ? WHERE code = ? AND user_id = ?").bind(key ?? `${GONE_PREFIX}${accountId}`, rowCode, accountId),
    );
  }
  await env.DB.batch(rekeys);
  return results.length;
}

/**
 * Before a per-customer check of `code`: its legacy uses are carried first, so the ledger that
 * answers holds them. False when more remain than one request carries (the caller refuses for now).
 */
export async function carryUsesOfCode(env: Env, code: string): Promise<boolean> {
  if (!(await hasUncarriedUses(env.DB, code))) return true;
  for (let round = 0; round < 4; round++) {
    if ((await carryLegacyUses(env, code, 50)) === 0) break;
  }
  return !(await hasUncarriedUses(env.DB, code));
}

/**
 * Uses counted under an older key are carried to today's ledger before a per-customer count
 * (decision 027). More than one request can carry: refused for now (503), never counted without them.
 */
export async function carryBeforeCounting(env: Env, code: string): Promise<void> {
  if (await carryUsesOfCode(env, code)) return;
  throw new ProblemError(503, "promotion_unavailable", "This promotion is being updated. Try again in a minute.", { headers: { "retry-after": "60" } });
}
