import { recordAudit } from "../audit/audit";
import { applyCredit, recentCredits } from "./credits";
import { forgetSoldOut, gateShard, MAX_GATE_SHARDS } from "./gate";
import { HOLD_FIRST_CHECK_MS, shareOf, type ShardKey, type ShardSnapshot } from "./gate-object";

/**
 * Reconciliation of the stock gate with D1, the book of record (decision 028). For a variant, the
 * invariant is: D1 sellable stock = the gate's units over all shards, once every hold is settled
 * (a hold of an order D1 holds is in D1's number already; a hold of an order D1 closed or never
 * wrote is to be given back) and every credit row is applied.
 *
 * It reads the shards, D1, and the shards again: any shard that changed in between, a hold whose
 * order is not in D1 yet but may still be written (younger than the setup window), or a credit row
 * not applied yet makes the check `busy` (repaired on a later run), so a repair is only ever
 * computed from a moment at which gate and D1 were both still. Holds of closed or never-written
 * orders are given back first (idempotent, exactly once per order and shard). A drift that
 * remains is repaired on one shard and audited as `stock_gate.repaired`.
 */

/** What one check found (and did). */
export interface GateCheck {
  variantId: string;
  d1Stock: number;
  gateUnits: number;
  /** D1 − gate: > 0 the gate would sell too little, < 0 too much (D1's CHECK would refuse the rest). */
  drift: number;
  /** Units given back for holds of orders D1 closed or never wrote. */
  recovered: number;
  busy: boolean;
  repaired: boolean;
}

function keysOf(variantId: string, shards: number): ShardKey[] {
  return Array.from({ length: shards }, (_, shard) => ({ variantId, shard, shards }));
}

async function snapshots(env: Env, keys: ShardKey[]): Promise<ShardSnapshot[]> {
  return Promise.all(keys.map((k) => gateShard(env, k).snapshot(k)));
}

/** D1's status of these orders (absent: never written). */
async function orderStatuses(db: D1Database, orderIds: string[]): Promise<Map<string, string>> {
  if (orderIds.length === 0) return new Map();
  const { results } = await db
    .prepare("SELECT id, status FROM orders WHERE id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(orderIds))
    .all<{ id: string; status: string }>();
  return new Map(results.map((r) => [r.id, r.status]));
}

const closedUnpaid = (status: string | undefined): boolean => status === "expired" || status === "cancelled";

/** Gives back, shard by shard, the holds of orders D1 closed unpaid or never wrote (older than the setup window). */
async function recoverHolds(env: Env, keys: ShardKey[], snaps: ShardSnapshot[], now: number): Promise<number> {
  const statuses = await orderStatuses(env.DB, [...new Set(snaps.flatMap((s) => s.holds.map((h) => h.orderId)))]);
  let recovered = 0;
  await Promise.all(
    keys.map(async (key, i) => {
      for (const hold of snaps[i]!.holds) {
        const status = statuses.get(hold.orderId);
        const dead = status === undefined && now - hold.takenAt >= HOLD_FIRST_CHECK_MS;
        if (closedUnpaid(status) || dead) recovered += await gateShard(env, key).giveBack(hold.orderId);
      }
    }),
  );
  return recovered;
}

/**
 * Checks one variant's gate against D1 and, when `repair`, repairs it (audited by `actor`).
 * Null when the variant does not exist.
 */
export async function reconcileVariant(env: Env, variantId: string, input: { actor: string; repair: boolean; now?: number }): Promise<GateCheck | null> {
  const now = input.now ?? Date.now();
  const variant = await env.DB.prepare("SELECT gate_shards AS shards FROM product_variants WHERE id = ?").bind(variantId).first<{ shards: number }>();
  if (!variant) return null;
  const keys = keysOf(variantId, Math.min(MAX_GATE_SHARDS, variant.shards));
  if (input.repair) for (const credit of await recentCredits(env.DB, [variantId])) await applyCredit(env, credit);
  const recovered = input.repair ? await recoverHolds(env, keys, await snapshots(env, keys), now) : 0;

  // The still moment: shards, then D1 (stock, the holds' orders, credit rows), then the shards' versions again.
  const before = await snapshots(env, keys);
  const holds = before.flatMap((s) => s.holds);
  // One batch: D1 runs it as one transaction, so stock, statuses and credit rows are of one moment.
  const [stockRows, statusRows] = await env.DB.batch<{ v: number; id: string; status: string }>([
    env.DB.prepare("SELECT stock AS v FROM product_variants WHERE id = ?").bind(variantId),
    env.DB.prepare("SELECT id, status FROM orders WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(holds.map((h) => h.orderId))),
  ]);
  const credits = await recentCredits(env.DB, [variantId]);
  const after = await snapshots(env, keys);
  const statuses = new Map((statusRows?.results ?? []).map((r) => [r.id, r.status]));
  const d1Stock = stockRows?.results[0]?.v ?? 0;
  const gateUnits = before.reduce((sum, s) => sum + s.units, 0);
  const moved = after.some((s, i) => s.version !== before[i]!.version);
  // A hold of an order D1 closed, or has not (yet) written, is not settled: its units are in neither number.
  const unsettled = holds.some((h) => {
    const status = statuses.get(h.orderId);
    return status === undefined || closedUnpaid(status);
  });
  // A credit row its shard has not applied (nor counted in its seed). Read after the stock: a row
  // written between the two is seen here and makes the check busy, never a drift.
  const creditPending = credits.some((c) => {
    const target = before[c.id % keys.length]!;
    return !target.credits.includes(c.id) && c.id > target.seededAtLedger;
  });
  const busy = moved || unsettled || creditPending;
  const drift = d1Stock - gateUnits;
  const check: GateCheck = { variantId, d1Stock, gateUnits, drift, recovered, busy, repaired: false };
  if (busy || !input.repair) return check;
  if (drift === 0) {
    await rebalance(env, keys, before);
    return check;
  }

  // A rise goes to the emptiest shard, a fall is taken from the fullest (each at the version it was seen at).
  const order = before.map((s, i) => ({ s, i })).sort((a, b) => (drift > 0 ? a.s.units - b.s.units : b.s.units - a.s.units));
  let rest = drift;
  for (const { s, i } of order) {
    if (rest === 0) break;
    const moved = await gateShard(env, keys[i]!).adjust(s.version, rest);
    if (moved === null) break;
    rest -= moved;
  }
  check.repaired = rest !== drift;
  forgetSoldOut(variantId);
  if (check.repaired) {
    await recordAudit(env, {
      actor: input.actor,
      action: "stock_gate.repaired",
      subject: variantId,
      detail: { d1Stock, gateUnits, drift, repaired: drift - rest, recovered },
    });
  }
  return check;
}

/**
 * Moves units between a variant's shards so each holds its even share (a shard added when staff
 * raised the count starts empty; sales drain shards unevenly). Each move takes from one shard at
 * the version it was seen at, then gives to another: a crash between the two is a drift the next
 * check repairs, never a unit sold twice.
 */
async function rebalance(env: Env, keys: ShardKey[], seen: ShardSnapshot[]): Promise<void> {
  const total = seen.reduce((sum, s) => sum + s.units, 0);
  const want = seen.map((_, i) => shareOf(total, i, keys.length));
  const surplus = seen.map((s, i) => ({ i, extra: s.units - want[i]! })).filter((x) => x.extra > 0);
  const short = seen.map((s, i) => ({ i, need: want[i]! - s.units })).filter((x) => x.need > 0);
  for (const from of surplus) {
    if (from.extra <= 1 && short.every((x) => x.need <= 1)) continue;
    const taken = -((await gateShard(env, keys[from.i]!).adjust(seen[from.i]!.version, -from.extra)) ?? 0);
    let left = taken;
    for (const to of short) {
      if (left === 0) break;
      const give = Math.min(left, to.need);
      if (give === 0) continue;
      // Versions moved on with the sale: the give is unconditional (a rise never oversells).
      const current = await gateShard(env, keys[to.i]!).snapshot(keys[to.i]!);
      const moved = (await gateShard(env, keys[to.i]!).adjust(current.version, give)) ?? 0;
      to.need -= moved;
      left -= moved;
    }
    if (left > 0) await gateShard(env, keys[from.i]!).adjust((await gateShard(env, keys[from.i]!).snapshot(keys[from.i]!)).version, left);
  }
}

/**
 * The cron's check: variants whose stock moved in the last `windowSeconds` (at most `limit`),
 * each reconciled and repaired. Returns the checks that found drift or were busy.
 */
export async function reconcileRecentVariants(env: Env, input: { actor: string; windowSeconds: number; limit: number; now?: number }): Promise<GateCheck[]> {
  const { results } = await env.DB.prepare(
    `SELECT DISTINCT variant_id AS id FROM inventory_ledger WHERE at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1) ORDER BY id LIMIT ?2`,
  )
    .bind(`-${input.windowSeconds} seconds`, input.limit)
    .all<{ id: string }>();
  const found: GateCheck[] = [];
  for (const { id } of results) {
    try {
      const check = await reconcileVariant(env, id, { actor: input.actor, repair: true, now: input.now });
      if (check && (check.drift !== 0 || check.busy)) found.push(check);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "stock_gate_reconcile_failed", variantId: id, error: String(error) }));
    }
  }
  return found;
}
