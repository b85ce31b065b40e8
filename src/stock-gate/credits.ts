import { forgetSoldOut, gateShard, MAX_GATE_SHARDS } from "./gate";

// Stock that moves outside a sale (a staff count, an import, a refund put back on the shelf) moves
// D1 first, which writes an inventory ledger row; the gate then applies that row as a credit, once
// per shard (the row's id is the key), so calling this twice, or the reconciler calling it too,
// moves the gate once (decision 028).

/** Ledger reasons that are not an order's sale or its release (those are the orders' holds). */
export const CREDIT_REASONS = ["opening_balance", "refund_restock", "staff_edit", "import"] as const;
/** Ledger rows older than this are not applied as credits any more: the reconciler repairs what they missed. */
export const CREDIT_WINDOW_SECONDS = 24 * 60 * 60;

/** A ledger row the gate should apply. */
export interface LedgerCredit {
  id: number;
  variantId: string;
  delta: number;
  shards: number;
}

/** The credit rows of the last CREDIT_WINDOW_SECONDS for these variants (at most 100 variants, 500 rows). */
export async function recentCredits(db: D1Database, variantIds: string[]): Promise<LedgerCredit[]> {
  if (variantIds.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT l.id, l.variant_id AS variantId, l.delta, coalesce(v.gate_shards, 1) AS shards
       FROM inventory_ledger l LEFT JOIN product_variants v ON v.id = l.variant_id
       WHERE l.variant_id IN (SELECT value FROM json_each(?1)) AND l.reason IN (${CREDIT_REASONS.map((r) => `'${r}'`).join(", ")})
         AND l.delta <> 0 AND l.at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)
       ORDER BY l.id LIMIT 500`,
    )
    .bind(JSON.stringify(variantIds.slice(0, 100)), `-${CREDIT_WINDOW_SECONDS} seconds`)
    .all<LedgerCredit>();
  return results;
}

/**
 * Applies one ledger row: a rise goes to one shard (by the row's id); a fall is taken from the
 * shards in turn, each giving what it has. A shard seeded after the row counted it already.
 */
export async function applyCredit(env: Env, credit: LedgerCredit): Promise<void> {
  forgetSoldOut(credit.variantId);
  const shards = Math.min(MAX_GATE_SHARDS, Math.max(1, credit.shards));
  let rest = credit.delta;
  for (let i = 0; i < shards && rest !== 0; i++) {
    const key = { variantId: credit.variantId, shard: (credit.id + i) % shards, shards };
    ({ rest } = await gateShard(env, key).credit(key, credit.id, rest));
    if (credit.delta > 0) break;
  }
}

/**
 * Brings the gate up to the ledger for these variants: every recent credit row applied (idempotent).
 * Called after a staff edit, an import and a refund restock; a failure is logged and left to the
 * reconciler (cron), which applies the same rows.
 */
export async function syncGateCredits(env: Env, variantIds: string[]): Promise<void> {
  try {
    for (const credit of await recentCredits(env.DB, [...new Set(variantIds)])) await applyCredit(env, credit);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "stock_gate_credit_failed", variantIds, error: String(error) }));
  }
}

/** `syncGateCredits` for the variants whose stock a ledger `ref` moved (an import's id, a refunded order's id). */
export async function syncGateCreditsOfRef(env: Env, ref: string): Promise<void> {
  try {
    const { results } = await env.DB.prepare(
      `SELECT DISTINCT variant_id AS id FROM inventory_ledger WHERE ref = ? AND reason IN (${CREDIT_REASONS.map((r) => `'${r}'`).join(", ")}) LIMIT 1000`,
    )
      .bind(ref)
      .all<{ id: string }>();
    const ids = results.map((r) => r.id);
    for (let i = 0; i < ids.length; i += 100) await syncGateCredits(env, ids.slice(i, i + 100));
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "stock_gate_credit_failed", ref, error: String(error) }));
  }
}
