import type { ShardKey, StockGate } from "./gate-object";

// The worker's side of the stock gate (decision 028): take a line's units from a variant's shards
// before the order's D1 batch, give them back on every path that gives stock back in D1.

/** A line the gate is asked for: the variant, its shard count (product_variants.gate_shards), the units. */
export interface GateLine {
  variantId: string;
  shards: number;
  quantity: number;
}

/** What one order holds at the gate: per variant, the shards it took from. */
export interface GateTaken {
  variantId: string;
  shard: number;
  shards: number;
  quantity: number;
}

/** The most shards a variant may have (the column's CHECK says the same). */
export const MAX_GATE_SHARDS = 8;

export function gateShard(env: Env, key: ShardKey): DurableObjectStub<StockGate> {
  return env.STOCK_GATE.get(env.STOCK_GATE.idFromName(`${key.variantId}#${key.shard}`));
}

function shardsOf(line: { shards: number }): number {
  return Math.min(MAX_GATE_SHARDS, Math.max(1, Math.floor(line.shards)));
}

// Variants this isolate saw sold out at the gate, and when: add-to-cart refuses them at once.
const soldOutSeen = new Map<string, number>();
/** How long an isolate trusts a sold-out it saw (a unit given back is sellable again after this). */
export const SOLD_OUT_MEMORY_MS = 2_000;

/** Whether this isolate saw the variant sold out at the gate in the last SOLD_OUT_MEMORY_MS. */
export function seenSoldOut(variantId: string, now: number = Date.now()): boolean {
  const at = soldOutSeen.get(variantId);
  if (at === undefined) return false;
  if (now - at < SOLD_OUT_MEMORY_MS) return true;
  soldOutSeen.delete(variantId);
  return false;
}

/** Forgets what this isolate saw sold out (a restock in this isolate; tests). */
export function forgetSoldOut(variantId?: string): void {
  if (variantId === undefined) soldOutSeen.clear();
  else soldOutSeen.delete(variantId);
}

/**
 * Takes one line's units: shards in turn from a random start, each giving what it has, until the
 * line is covered. Returns the takes, or null when the variant's shards together have too few
 * (whatever was taken is given back by the caller's `giveBackOrder`).
 */
async function takeLine(env: Env, orderId: string, line: GateLine, taken: GateTaken[]): Promise<boolean> {
  const shards = shardsOf(line);
  const start = Math.floor(Math.random() * shards);
  let missing = line.quantity;
  for (let i = 0; i < shards && missing > 0; i++) {
    const key = { variantId: line.variantId, shard: (start + i) % shards, shards };
    const { took } = await gateShard(env, key).take(key, orderId, missing);
    if (took > 0) taken.push({ ...key, quantity: took });
    missing -= took;
  }
  if (missing > 0) {
    // Every shard was asked: a line of one unit found none anywhere.
    if (line.quantity - missing === 0) soldOutSeen.set(line.variantId, Date.now());
    return false;
  }
  return true;
}

/**
 * Takes every line's units for `orderId` (lines in parallel). All or nothing: when a line cannot
 * be covered, what the others took is given back and the answer is false.
 */
export async function takeOrderUnits(env: Env, orderId: string, lines: GateLine[]): Promise<{ ok: boolean; taken: GateTaken[] }> {
  // A variant this isolate just saw sold out is refused without asking its shards again.
  if (lines.some((l) => seenSoldOut(l.variantId))) return { ok: false, taken: [] };
  const taken: GateTaken[] = [];
  const covered = await Promise.all(lines.map((l) => takeLine(env, orderId, l, taken)));
  if (covered.every(Boolean)) return { ok: true, taken };
  await giveBackTaken(env, orderId, taken);
  return { ok: false, taken: [] };
}

/** Gives back what `takeOrderUnits` took (the checkout's undo). Idempotent per shard and order. */
export async function giveBackTaken(env: Env, orderId: string, taken: GateTaken[]): Promise<void> {
  await Promise.all(taken.map((t) => gateShard(env, t).giveBack(orderId)));
  for (const t of taken) soldOutSeen.delete(t.variantId);
}

/**
 * Gives an order's units back at every shard of its variants (the order closed unpaid, its D1
 * stock came back in the same batch as the close). Each shard gives back once; a shard that holds
 * nothing of the order answers 0. A failed call is left to the shard's own alarm, which finds the
 * order closed in D1 and gives the units back then.
 */
export async function giveBackOrder(env: Env, orderId: string, lines: { variantId: string; shards: number }[]): Promise<void> {
  const keys = lines.flatMap((l) => Array.from({ length: shardsOf(l) }, (_, shard) => ({ variantId: l.variantId, shard, shards: shardsOf(l) })));
  const results = await Promise.allSettled(keys.map((k) => gateShard(env, k).giveBack(orderId)));
  for (const r of results) {
    if (r.status === "rejected") console.error(JSON.stringify({ level: "error", msg: "stock_gate_give_back_failed", orderId, error: String(r.reason) }));
  }
  for (const l of lines) soldOutSeen.delete(l.variantId);
}

/** Drops a paid order's holds (its units left for good). Best effort: the shards' alarms settle what this misses. */
export async function settleOrder(env: Env, orderId: string, lines: { variantId: string; shards: number }[]): Promise<void> {
  const keys = lines.flatMap((l) => Array.from({ length: shardsOf(l) }, (_, shard) => ({ variantId: l.variantId, shard, shards: shardsOf(l) })));
  await Promise.allSettled(keys.map((k) => gateShard(env, k).settle(orderId)));
}

/** The variants of an order's lines with their shard counts (raw SQL: order lines belong to checkout, above this). */
async function orderVariants(db: D1Database, orderId: string): Promise<{ variantId: string; shards: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT l.variant_id AS variantId, coalesce(v.gate_shards, 1) AS shards
       FROM order_lines l LEFT JOIN product_variants v ON v.id = l.variant_id WHERE l.order_id = ?`,
    )
    .bind(orderId)
    .all<{ variantId: string; shards: number }>();
  return results;
}

/** After an order closed unpaid in D1 (its stock back there): its units back at the gate, once. */
export async function giveBackClosedOrder(env: Env, orderId: string): Promise<void> {
  try {
    await giveBackOrder(env, orderId, await orderVariants(env.DB, orderId));
  } catch (error) {
    // The shards' alarms find the order closed and give its units back then.
    console.error(JSON.stringify({ level: "error", msg: "stock_gate_give_back_failed", orderId, error: String(error) }));
  }
}
