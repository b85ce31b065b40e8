import { DurableObject } from "cloudflare:workers";
import { storedLayoutVersion, upgradeLedgerLayout } from "./ledger-layout";

/**
 * How long a reservation holds a redemption when the caller names no end. Checkout always names
 * one: its payment session's `expires_at` plus the sweeper's grace (docs/decisions/013), and a
 * payment in flight pins it (`hold`) until the order closes. The clock is only the last resort for
 * a reservation whose checkout died before writing its order.
 */
export const RESERVATION_TTL_MS = 35 * 60 * 1000;

/** `expires_at` of a pinned reservation: it ends only by commit or release, never by the clock. */
export const PINNED = Number.MAX_SAFE_INTEGER;

/** The limits a ledger enforces, copied from the D1 definition by the caller (D1 is the source). */
export interface CouponLimits {
  /** Redemptions over everyone (committed + reserved); null = no total limit. */
  maxRedemptions: number | null;
  /** Redemptions per account (committed + reserved); null = no per-customer limit. */
  perCustomerLimit: number | null;
}

/** Why a ledger refuses: the total is used up, or this customer has had their share. */
export type CouponLimitRefusal = "coupon_exhausted" | "coupon_already_used";

/** Result of `check`. */
export type CouponCheckResult = { ok: true } | { ok: false; code: CouponLimitRefusal };

/** Result of `reserve`: `expiresAt` is epoch milliseconds. */
export type CouponReserveResult = { ok: true; expiresAt: number } | { ok: false; code: CouponLimitRefusal };

/**
 * Result of `commit`: `late` when the reservation had already expired (recorded anyway: the order
 * was paid with it); `overLimit` when, without a reservation, the limits had no room left — the
 * redemption is recorded (the money is real) and the caller flags the order for staff.
 */
export type CouponCommitResult = { ok: true; late: boolean; overLimit?: true } | { ok: false; code: "reservation_not_found" };

/** Input of `reserve`. `now` is epoch milliseconds (the caller's clock only matters in tests). */
export interface CouponReserveInput {
  orderId: string;
  userId: string;
  definition: CouponLimits;
  now?: number;
  ttlMs?: number;
}

/** One use moved between ledgers: `at` is `committed_at` of a redemption or `expires_at` of a reservation; `formerKey` the key it was counted under before. */
export interface CarriedUse {
  kind: "redemption" | "reservation";
  orderId: string;
  userId: string;
  at: number;
  formerKey: string | null;
}

/** What the ledger holds, for staff views and tests. */
export interface CouponLedgerSnapshot {
  committed: number;
  reserved: number;
  reservations: { orderId: string; userId: string; expiresAt: number }[];
  redemptions: { orderId: string; userId: string; committedAt: number }[];
}

/**
 * Redemption ledger of one coupon, or of one (coupon, customer) shard when the coupon has no
 * total limit (docs/decisions/004-coupon-sharding.md). T07/P10: every method reads and writes
 * the object's SQLite storage synchronously, with no `await` between the limit check and the
 * insert, so two concurrent `reserve` calls run one after the other and cannot both take the
 * last redemption (M-013, M-016). Outstanding reservations count against every limit.
 */
export class CouponObject extends DurableObject<Env> {
  /** Why the storage could not be brought to this code's layout; every call then fails (decision 027). */
  private upgradeFailure: string | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // The storage is brought to the layout this code knows before any call runs (decision 027).
    // A failed upgrade leaves the object refusing every call (`usable`), never counting on a layout it does not know.
    void ctx.blockConcurrencyWhile(async () => {
      try {
        await upgradeLedgerLayout(ctx.storage, env.DB);
      } catch (error) {
        this.upgradeFailure = String(error);
        console.error(JSON.stringify({ level: "error", msg: "coupon_ledger_upgrade_failed", error: this.upgradeFailure }));
      }
    });
  }

  /** Would the limits let `userId` (null: a guest, only the total is checked) redeem now? */
  check(input: { userId: string | null; definition: CouponLimits; now?: number }): CouponCheckResult {
    this.usable();
    this.dropExpired(input.now ?? Date.now());
    return this.limitRefusal(input.userId, input.definition);
  }

  /**
   * Holds one redemption for `orderId`. Idempotent: the same order reserving again (a retried
   * checkout) keeps its one reservation; an order already committed stays committed.
   */
  async reserve(input: CouponReserveInput): Promise<CouponReserveResult> {
    this.usable();
    const now = input.now ?? Date.now();
    const result = this.ctx.storage.transactionSync((): CouponReserveResult => {
      this.dropExpired(now);
      const sql = this.ctx.storage.sql;
      const held = sql.exec<{ expires_at: number }>("SELECT expires_at FROM reservations WHERE order_id = ?", input.orderId).toArray()[0];
      if (held) return { ok: true, expiresAt: held.expires_at };
      const done = sql.exec("SELECT 1 FROM redemptions WHERE order_id = ?", input.orderId).toArray()[0];
      if (done) return { ok: true, expiresAt: now };
      const refusal = this.limitRefusal(input.userId, input.definition);
      if (!refusal.ok) return refusal;
      const expiresAt = now + (input.ttlMs ?? RESERVATION_TTL_MS);
      sql.exec("INSERT INTO reservations (order_id, user_id, expires_at) VALUES (?, ?, ?)", input.orderId, input.userId, expiresAt);
      return { ok: true, expiresAt };
    });
    if (result.ok) await this.scheduleAlarm();
    return result;
  }

  /**
   * Moves the end of the order's reservation (`until` epoch ms, or null to pin it until commit or
   * release): a payment in flight keeps its coupon. False when the order holds no reservation.
   */
  async hold(orderId: string, until: number | null): Promise<boolean> {
    this.usable();
    const cursor = this.ctx.storage.sql.exec("UPDATE reservations SET expires_at = ? WHERE order_id = ?", until ?? PINNED, orderId);
    const held = cursor.rowsWritten > 0;
    await this.scheduleAlarm();
    return held;
  }

  /**
   * Turns the order's reservation into a redemption (payment succeeded). Idempotent. When the
   * reservation already expired, `userId` lets the ledger record the redemption anyway (`late`):
   * the shopper paid the discounted price, so not counting it would under-count the limit. With
   * `definition`, such a late commit that finds no room left says so (`overLimit`) instead of
   * over-redeeming silently.
   */
  async commit(orderId: string, userId?: string, definition?: CouponLimits): Promise<CouponCommitResult> {
    this.usable();
    const now = Date.now();
    const result = this.ctx.storage.transactionSync((): CouponCommitResult => {
      const sql = this.ctx.storage.sql;
      if (sql.exec("SELECT 1 FROM redemptions WHERE order_id = ?", orderId).toArray()[0]) return { ok: true, late: false };
      const held = sql.exec<{ user_id: string; expires_at: number }>("SELECT user_id, expires_at FROM reservations WHERE order_id = ?", orderId).toArray()[0];
      if (held) {
        sql.exec("DELETE FROM reservations WHERE order_id = ?", orderId);
        sql.exec("INSERT INTO redemptions (order_id, user_id, committed_at) VALUES (?, ?, ?)", orderId, held.user_id, now);
        return { ok: true, late: held.expires_at <= now };
      }
      if (userId === undefined) return { ok: false, code: "reservation_not_found" };
      const room = definition ? this.limitRefusal(userId, definition) : { ok: true as const };
      sql.exec("INSERT INTO redemptions (order_id, user_id, committed_at) VALUES (?, ?, ?)", orderId, userId, now);
      return room.ok ? { ok: true, late: true } : { ok: true, late: true, overLimit: true };
    });
    await this.scheduleAlarm();
    return result;
  }

  /** Gives the order's reservation back (checkout failed, order closed unpaid). Committed redemptions stay. */
  async release(orderId: string): Promise<boolean> {
    this.usable();
    const cursor = this.ctx.storage.sql.exec("DELETE FROM reservations WHERE order_id = ?", orderId);
    const released = cursor.rowsWritten > 0;
    await this.scheduleAlarm();
    return released;
  }

  /**
   * Takes uses that were counted under another key or in another object (a layout change that
   * renamed ledgers, decision 027). Idempotent per order: an order this ledger already holds keeps
   * its row. Returns how many rows were new.
   */
  async importUses(uses: CarriedUse[]): Promise<number> {
    this.usable();
    let added = 0;
    this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      for (const use of uses) {
        const known = sql.exec("SELECT 1 FROM redemptions WHERE order_id = ?1 UNION SELECT 1 FROM reservations WHERE order_id = ?1", use.orderId).toArray();
        if (known.length > 0) continue;
        if (use.kind === "redemption") {
          sql.exec("INSERT INTO redemptions (order_id, user_id, committed_at, former_key) VALUES (?, ?, ?, ?)", use.orderId, use.userId, use.at, use.formerKey);
        } else {
          sql.exec("INSERT INTO reservations (order_id, user_id, expires_at, former_key) VALUES (?, ?, ?, ?)", use.orderId, use.userId, use.at, use.formerKey);
        }
        added++;
      }
    });
    await this.scheduleAlarm();
    return added;
  }

  /** Every use this ledger holds, to be carried to the ledger that counts them now (decision 027). */
  exportUses(): CarriedUse[] {
    this.usable();
    const sql = this.ctx.storage.sql;
    const held = sql
      .exec<{ order_id: string; user_id: string; expires_at: number; former_key: string | null }>(
        "SELECT order_id, user_id, expires_at, former_key FROM reservations",
      )
      .toArray()
      .map((r): CarriedUse => ({ kind: "reservation", orderId: r.order_id, userId: r.user_id, at: r.expires_at, formerKey: r.former_key }));
    const done = sql
      .exec<{ order_id: string; user_id: string; committed_at: number; former_key: string | null }>(
        "SELECT order_id, user_id, committed_at, former_key FROM redemptions",
      )
      .toArray()
      .map((r): CarriedUse => ({ kind: "redemption", orderId: r.order_id, userId: r.user_id, at: r.committed_at, formerKey: r.former_key }));
    return [...done, ...held];
  }

  /** The layout version of this object's storage (decision 027). */
  layoutVersion(): number {
    return storedLayoutVersion(this.ctx.storage.sql);
  }

  /** Counts and rows of this ledger. */
  snapshot(): CouponLedgerSnapshot {
    this.usable();
    const sql = this.ctx.storage.sql;
    const reservations = sql
      .exec<{ order_id: string; user_id: string; expires_at: number }>("SELECT order_id, user_id, expires_at FROM reservations ORDER BY expires_at")
      .toArray()
      .map((r) => ({ orderId: r.order_id, userId: r.user_id, expiresAt: r.expires_at }));
    const redemptions = sql
      .exec<{ order_id: string; user_id: string; committed_at: number }>("SELECT order_id, user_id, committed_at FROM redemptions ORDER BY committed_at")
      .toArray()
      .map((r) => ({ orderId: r.order_id, userId: r.user_id, committedAt: r.committed_at }));
    return { committed: redemptions.length, reserved: reservations.length, reservations, redemptions };
  }

  /** Releases every reservation whose time is up, then waits for the next one. */
  override async alarm(): Promise<void> {
    this.usable();
    this.dropExpired(Date.now());
    await this.scheduleAlarm();
  }

  private usable(): void {
    if (this.upgradeFailure !== null) throw new Error(this.upgradeFailure);
  }

  private dropExpired(now: number): void {
    this.ctx.storage.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now);
  }

  private limitRefusal(userId: string | null, limits: CouponLimits): CouponCheckResult {
    const sql = this.ctx.storage.sql;
    if (limits.maxRedemptions !== null) {
      const total = sql.exec<{ n: number }>("SELECT (SELECT count(*) FROM reservations) + (SELECT count(*) FROM redemptions) AS n").one().n;
      if (total >= limits.maxRedemptions) return { ok: false, code: "coupon_exhausted" };
    }
    if (limits.perCustomerLimit !== null && userId !== null) {
      const mine = sql
        .exec<{ n: number }>(
          "SELECT (SELECT count(*) FROM reservations WHERE user_id = ?1) + (SELECT count(*) FROM redemptions WHERE user_id = ?1) AS n",
          userId,
        )
        .one().n;
      if (mine >= limits.perCustomerLimit) return { ok: false, code: "coupon_already_used" };
    }
    return { ok: true };
  }

  /** One alarm at the earliest reservation expiry; none when nothing is held. */
  private async scheduleAlarm(): Promise<void> {
    const next = this.ctx.storage.sql.exec<{ t: number | null }>("SELECT min(expires_at) AS t FROM reservations WHERE expires_at < ?", PINNED).one().t;
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current !== next) await this.ctx.storage.setAlarm(next);
  }
}
