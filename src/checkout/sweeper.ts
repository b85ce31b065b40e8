import { and, asc, eq, isNotNull, isNull, lt, lte, or } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { paymentProvider } from "../payments/provider";
import type { Config } from "../platform/config";
import { afterOrderClosed } from "./effects";
import { closePendingOrder, SETUP_WINDOW_MS, SWEEP_GRACE_SECONDS } from "./lifecycle";
import { reconcileOrder } from "./reconcile";
import { settleStaleRefundClaims } from "./refund-settlement";
import { orders } from "./schema";

/** Orders looked at per run: a run stays well inside a Cron Trigger's limits; the next run takes the rest. */
export const SWEEP_BATCH = 50;
/** An in-flight payment is read again at the provider at most this often (delayed methods take days). */
export const IN_FLIGHT_RECHECK_SECONDS = 60 * 60;

/** What one sweep did, by order id. */
export interface SweepReport {
  /** Closed `expired`, stock and holds given back once. */
  expired: string[];
  /** The provider says the session completed: kept pending, holds pinned, the webhook will settle it. */
  inFlight: string[];
  /** Paid after all: the provider says the money came (its event was late or lost). */
  paid: string[];
  /** The provider could not be asked: left as they are for the next run. */
  failed: string[];
  /** Refund claims whose outcome was unknown, settled by asking the provider. */
  refundsSettled: number;
}

/**
 * Stale orders are pending orders nobody will pay any more: their session's `expires_at` (which we
 * set) passed more than SWEEP_GRACE_SECONDS ago, or they never got a session and their checkout
 * died (older than the setup window). Orders whose payment is in flight are not stale.
 *
 * The sweeper (Cron Trigger, wrangler.toml): for each stale pending order, expires its session at
 * the provider, then reads the payment there and brings the order to it with the webhook's own
 * reconciliation (src/checkout/reconcile.ts): closed with stock, coupon and cart back exactly once,
 * or paid, or kept in flight with its holds pinned. Nothing depends on one webhook arriving, and
 * nothing is released under a payment. In-flight orders are read again every hour, and refund
 * claims whose outcome was lost are settled. `nowMs` is the trigger's scheduled time.
 */
export async function sweepStaleOrders(env: Env, config: Config, nowMs: number): Promise<SweepReport> {
  const db = getDb(env.DB);
  const nowSeconds = Math.floor(nowMs / 1000);
  const setupCutoff = new Date(nowMs - SETUP_WINDOW_MS).toISOString();
  const recheckBefore = new Date(nowMs - IN_FLIGHT_RECHECK_SECONDS * 1000).toISOString();
  const stale = await db
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.status, "pending"),
        or(
          and(eq(orders.paymentInFlight, false), isNotNull(orders.paymentExpiresAt), lte(orders.paymentExpiresAt, nowSeconds - SWEEP_GRACE_SECONDS)),
          and(eq(orders.paymentInFlight, false), isNull(orders.paymentSessionId), lt(orders.createdAt, setupCutoff)),
          // A payment in flight is read again now and then: its settlement event may never come.
          and(eq(orders.paymentInFlight, true), lt(orders.updatedAt, recheckBefore)),
        ),
      ),
    )
    .orderBy(asc(orders.paymentExpiresAt))
    .limit(SWEEP_BATCH);
  const report: SweepReport = { expired: [], inFlight: [], paid: [], failed: [], refundsSettled: 0 };
  const provider = paymentProvider(config, db);
  for (const order of stale) {
    try {
      if (!order.paymentSessionId) {
        // A checkout that died before it made a session: nothing at the provider to ask.
        const closed = await closePendingOrder(db, { orderId: order.id, status: "expired", session: null });
        if (!closed) continue;
        await afterOrderClosed(env, closed);
        await recordAudit(env, { actor: "sweeper", action: "order.expired", subject: order.id, detail: { by: "sweeper", hadSession: false } });
        report.expired.push(order.id);
        continue;
      }
      // An open session is ended at the provider first, so nobody can pay it while we close it;
      // then the provider's answer decides: expired, paid, in flight or failed.
      if (!order.paymentInFlight) await provider.expireSession(order.paymentSessionId);
      const result = await reconcileOrder(env, provider, order, "sweeper");
      const now = result?.order ?? order;
      if (now.status === "expired" || now.status === "cancelled") report.expired.push(order.id);
      else if (now.status === "paid") report.paid.push(order.id);
      else if (now.paymentInFlight) report.inFlight.push(order.id);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "sweep_failed", orderId: order.id, error: String(error) }));
      report.failed.push(order.id);
    }
  }
  report.refundsSettled = await settleStaleRefundClaims(env, config, db, nowMs);
  return report;
}
