import { DurableObject } from "cloudflare:workers";
import { upgradeGateLayout } from "./gate-layout";

/**
 * One shard of a variant's stock gate (decision 028): some of the variant's sellable units, and
 * the holds it gave out, by order. D1's `product_variants.stock` stays the book of record and its
 * CHECK the last guard; the gate only decides, in memory-fast storage, who may go on to write D1,
 * so a shopper who cannot win is answered without queueing a D1 write.
 *
 * Every method reads and writes the object's SQLite storage synchronously (no `await` between the
 * check and the write), so concurrent takes run one after the other and never give out a unit
 * twice. State lives only in storage: an object that is evicted or reset mid-sale wakes with its
 * units and holds as they were. A shard that was never seeded seeds itself from D1 (its share of
 * the variant's stock, at a ledger position, through shard 0) before its first answer.
 *
 * A hold is checked against D1 by the object's alarm (`check_at`): an order that never reached D1
 * (its checkout died between the gate and the write) or that closed unpaid gives its units back;
 * a paid order's hold is settled (dropped); a pending one is looked at again later. So a crash
 * between the gate and D1, or a lost give-back call, loses no unit for good.
 */

/** Which shard: the variant, the shard's index and how many shards the variant has. */
export interface ShardKey {
  variantId: string;
  shard: number;
  shards: number;
}

/** What a shard shows the reconciler. */
export interface ShardSnapshot {
  units: number;
  seededAtLedger: number;
  version: number;
  holds: { orderId: string; quantity: number; takenAt: number }[];
  /** Ledger rows already applied here as credits. */
  credits: number[];
}

/** A hold is first checked against D1 this long after it was taken (the checkout's setup window). */
export const HOLD_FIRST_CHECK_MS = 10 * 60 * 1000;
/** A hold of a pending order is checked again this long after a check (or after its session's end). */
export const HOLD_RECHECK_MS = 15 * 60 * 1000;
/** Holds checked per alarm (one D1 read). */
const CHECK_BATCH = 50;

/** The units shard `shard` of `shards` gets of `stock` (the first shards take the remainder). */
export function shareOf(stock: number, shard: number, shards: number): number {
  return Math.floor(stock / shards) + (shard < stock % shards ? 1 : 0);
}

export class StockGate extends DurableObject<Env> {
  private upgradeFailure: string | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      try {
        upgradeGateLayout(ctx.storage.sql);
      } catch (error) {
        this.upgradeFailure = String(error);
        console.error(JSON.stringify({ level: "error", msg: "stock_gate_upgrade_failed", error: this.upgradeFailure }));
      }
    });
  }

  /**
   * Takes up to `want` units for `orderId` (fewer when the shard has fewer; 0 when empty).
   * Idempotent per order: a retried take answers what the order already holds here.
   */
  async take(key: ShardKey, orderId: string, want: number, now: number = Date.now()): Promise<{ took: number; left: number }> {
    await this.seeded(key);
    const result = this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      const held = sql.exec<{ quantity: number }>("SELECT quantity FROM holds WHERE order_id = ?", orderId).toArray()[0];
      const units = this.units();
      if (held) return { took: held.quantity, left: units };
      const took = Math.max(0, Math.min(units, Math.floor(want)));
      if (took > 0) {
        sql.exec("INSERT INTO holds (order_id, quantity, taken_at, check_at) VALUES (?, ?, ?, ?)", orderId, took, now, now + HOLD_FIRST_CHECK_MS);
        sql.exec("UPDATE shard SET units = units - ?, version = version + 1 WHERE id = 1", took);
      }
      return { took, left: units - took };
    });
    if (result.took > 0) await this.scheduleAlarm();
    return result;
  }

  /** Gives an order's units back, once: a second call finds no hold and gives nothing. Returns the units given back. */
  giveBack(orderId: string): number {
    this.usable();
    return this.ctx.storage.transactionSync(() => this.release(orderId));
  }

  /** Drops a paid order's hold: its units left the shelf for good. */
  settle(orderId: string): boolean {
    this.usable();
    return this.ctx.storage.sql.exec("DELETE FROM holds WHERE order_id = ?", orderId).rowsWritten > 0;
  }

  /**
   * Applies a ledger row that moved stock outside a sale (staff edit, import, refund restock), once
   * per row; a row the shard's seed already counted is skipped. A negative delta takes at most the
   * units the shard has: the rest is returned for another shard to take.
   */
  async credit(key: ShardKey, ledgerId: number, delta: number, now: number = Date.now()): Promise<{ applied: number; rest: number }> {
    await this.seeded(key);
    return this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      const seededAt = sql.exec<{ s: number }>("SELECT seeded_at_ledger AS s FROM shard WHERE id = 1").one().s;
      const done = sql.exec("SELECT 1 FROM credits WHERE ledger_id = ?", ledgerId).toArray().length > 0;
      if (done || ledgerId <= seededAt) return { applied: 0, rest: 0 };
      const applied = delta >= 0 ? delta : -Math.min(this.units(), -delta);
      sql.exec("INSERT INTO credits (ledger_id, delta, applied_at) VALUES (?, ?, ?)", ledgerId, applied, now);
      sql.exec("UPDATE shard SET units = units + ?, version = version + 1 WHERE id = 1", applied);
      return { applied, rest: delta - applied };
    });
  }

  /** The shard as it is (seeding it first), for the reconciler. */
  async snapshot(key: ShardKey): Promise<ShardSnapshot> {
    await this.seeded(key);
    const sql = this.ctx.storage.sql;
    const row = sql.exec<{ units: number; s: number; version: number }>("SELECT units, seeded_at_ledger AS s, version FROM shard WHERE id = 1").one();
    const holds = sql
      .exec<{ order_id: string; quantity: number; taken_at: number }>("SELECT order_id, quantity, taken_at FROM holds ORDER BY taken_at")
      .toArray()
      .map((h) => ({ orderId: h.order_id, quantity: h.quantity, takenAt: h.taken_at }));
    const credits = sql
      .exec<{ ledger_id: number }>("SELECT ledger_id FROM credits")
      .toArray()
      .map((c) => c.ledger_id);
    return { units: row.units, seededAtLedger: row.s, version: row.version, holds, credits };
  }

  /**
   * The reconciler's repair: moves the units by `delta` (never below 0), only while the shard is
   * still at `version` (nothing took or gave since the snapshot the repair was computed from).
   * Returns the units moved, or null when the shard changed meanwhile.
   */
  adjust(version: number, delta: number): number | null {
    this.usable();
    return this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      const row = sql.exec<{ version: number }>("SELECT version FROM shard WHERE id = 1").toArray()[0];
      if (!row || row.version !== version) return null;
      const moved = delta >= 0 ? delta : -Math.min(this.units(), -delta);
      sql.exec("UPDATE shard SET units = units + ?, version = version + 1 WHERE id = 1", moved);
      return moved;
    });
  }

  /** Checks due holds against D1: never written or closed unpaid → given back; paid → settled; pending → later. */
  override async alarm(): Promise<void> {
    this.usable();
    const now = Date.now();
    const due = this.ctx.storage.sql
      .exec<{ order_id: string }>("SELECT order_id FROM holds WHERE check_at <= ? ORDER BY check_at LIMIT ?", now, CHECK_BATCH)
      .toArray()
      .map((h) => h.order_id);
    if (due.length > 0) {
      const { results } = await this.env.DB.prepare(
        "SELECT id, status, payment_expires_at AS expires FROM orders WHERE id IN (SELECT value FROM json_each(?1))",
      )
        .bind(JSON.stringify(due))
        .all<{ id: string; status: string; expires: number | null }>();
      const byId = new Map(results.map((r) => [r.id, r]));
      this.ctx.storage.transactionSync(() => {
        for (const orderId of due) {
          const order = byId.get(orderId);
          if (!order || order.status === "expired" || order.status === "cancelled") this.release(orderId);
          else if (order.status !== "pending") this.ctx.storage.sql.exec("DELETE FROM holds WHERE order_id = ?", orderId);
          else {
            const sessionEnd = (order.expires ?? 0) * 1000;
            this.ctx.storage.sql.exec("UPDATE holds SET check_at = ? WHERE order_id = ?", Math.max(now, sessionEnd) + HOLD_RECHECK_MS, orderId);
          }
        }
      });
    }
    await this.scheduleAlarm();
  }

  private release(orderId: string): number {
    const sql = this.ctx.storage.sql;
    const held = sql.exec<{ quantity: number }>("SELECT quantity FROM holds WHERE order_id = ?", orderId).toArray()[0];
    if (!held) return 0;
    sql.exec("DELETE FROM holds WHERE order_id = ?", orderId);
    sql.exec("UPDATE shard SET units = units + ?, version = version + 1 WHERE id = 1", held.quantity);
    return held.quantity;
  }

  private units(): number {
    return this.ctx.storage.sql.exec<{ units: number }>("SELECT units FROM shard WHERE id = 1").one().units;
  }

  /**
   * Seeds a shard that has no state. Shard 0 reads D1: the variant's sellable stock and the ledger
   * position it stands at (credits up to it are counted already), and keeps that total. Every other
   * shard asks shard 0 for its share of that same total, so shards seeded at different moments of
   * a sale split one number and never count a unit twice or lose one. Runs once per shard: other
   * calls wait for it (blockConcurrencyWhile).
   */
  private async seeded(key: ShardKey): Promise<void> {
    this.usable();
    if (this.hasShard()) return;
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.hasShard()) return;
      let seed: { units: number; total: number; ledger: number };
      if (key.shard === 0) {
        const [stock, ledger] = await this.env.DB.batch<{ v: number | null }>([
          this.env.DB.prepare("SELECT stock AS v FROM product_variants WHERE id = ?").bind(key.variantId),
          this.env.DB.prepare("SELECT max(id) AS v FROM inventory_ledger WHERE variant_id = ?").bind(key.variantId),
        ]);
        const total = stock?.results[0]?.v ?? 0;
        seed = { units: shareOf(total, 0, key.shards), total, ledger: ledger?.results[0]?.v ?? 0 };
      } else {
        const first = this.env.STOCK_GATE.get(this.env.STOCK_GATE.idFromName(`${key.variantId}#0`));
        seed = await first.seedFor(key);
      }
      this.ctx.storage.sql.exec(
        "INSERT INTO shard (id, variant_id, shard, units, seeded_at_ledger, seed_total, seed_shards, version) VALUES (1, ?, ?, ?, ?, ?, ?, 1)",
        key.variantId,
        key.shard,
        seed.units,
        seed.ledger,
        seed.total,
        key.shards,
      );
    });
  }

  /**
   * Shard 0's answer to another shard seeding: its share of the total shard 0 was seeded with. A
   * shard added after the variant's shard count changed starts empty (the reconciler moves units to it).
   */
  async seedFor(key: ShardKey): Promise<{ units: number; total: number; ledger: number }> {
    await this.seeded({ variantId: key.variantId, shard: 0, shards: key.shards });
    const row = this.ctx.storage.sql
      .exec<{ total: number; shards: number; ledger: number }>(
        "SELECT seed_total AS total, seed_shards AS shards, seeded_at_ledger AS ledger FROM shard WHERE id = 1",
      )
      .one();
    const units = row.shards === key.shards ? shareOf(row.total, key.shard, key.shards) : 0;
    return { units, total: row.total, ledger: row.ledger };
  }

  private hasShard(): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM shard WHERE id = 1").toArray().length > 0;
  }

  private usable(): void {
    if (this.upgradeFailure) throw new Error(`stock gate unusable: ${this.upgradeFailure}`);
  }

  /** One alarm at the earliest due check; none when nothing is held. */
  private async scheduleAlarm(): Promise<void> {
    const next = this.ctx.storage.sql.exec<{ t: number | null }>("SELECT min(check_at) AS t FROM holds").one().t;
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current !== next) await this.ctx.storage.setAlarm(next);
  }
}
