import { and, asc, eq, isNotNull, isNull, lt, lte, or } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { paymentProvider } from "../payments/provider";
import type { Config } from "../platform/config";
import { afterOrderClosed, pinCouponHold } from "./effects";
import { closePendingOrder, markPaymentInFlight, SETUP_WINDOW_MS, SWEEP_GRACE_SECONDS } from "./lifecycle";
import { orders } from "./schema";

/** Orders looked at per run: a run stays well inside a Cron Trigger's limits; the next run takes the rest. */
export const SWEEP_BATCH = 50;

/** What one sweep did, by order id. */
export interface SweepReport {
  /** Closed `expired`, stock and holds given back once. */
  expired: string[];
  /** The provider says the session completed: kept pending, holds pinned, the webhook will settle it. */
  inFlight: string[];
  /** The provider could not be asked: left as they are for the next run. */
  failed: string[];
}

/**
 * Stale orders are pending orders nobody will pay any more: their session's `expires_at` (which we
 * set) passed more than SWEEP_GRACE_SECONDS ago, or they never got a session and their checkout
 * died (older than the setup window). Orders whose payment is in flight are not stale.
 *
 * The sweeper (Cron Trigger, wrangler.toml): for each stale pending order, expires its session at
 * the provider and closes the order, giving stock, coupon and cart back exactly once (the close is
 * conditional on the order still being pending on that session, like the webhook's). When the
 * provider says the session completed meanwhile (a payment whose webhook is late or lost), the
 * order is kept and its holds pinned instead: nothing depends on one webhook arriving, and nothing
 * is released under a payment. `nowMs` is the trigger's scheduled time.
 */
export async function sweepStaleOrders(env: Env, config: Config, nowMs: number): Promise<SweepReport> {
  const db = getDb(env.DB);
  const nowSeconds = Math.floor(nowMs / 1000);
  const setupCutoff = new Date(nowMs - SETUP_WINDOW_MS).toISOString();
  const stale = await db
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.status, "pending"),
        eq(orders.paymentInFlight, false),
        or(
          and(isNotNull(orders.paymentExpiresAt), lte(orders.paymentExpiresAt, nowSeconds - SWEEP_GRACE_SECONDS)),
          and(isNull(orders.paymentSessionId), lt(orders.createdAt, setupCutoff)),
        ),
      ),
    )
    .orderBy(asc(orders.paymentExpiresAt))
    .limit(SWEEP_BATCH);
  const report: SweepReport = { expired: [], inFlight: [], failed: [] };
  const provider = paymentProvider(config, db);
  for (const order of stale) {
    try {
      if (order.paymentSessionId) {
        const expired = await provider.expireSession(order.paymentSessionId);
        if (!expired) {
          if (await markPaymentInFlight(db, order.id, order.paymentSessionId)) {
            await pinCouponHold(env, order);
            await recordAudit(env, {
              actor: "sweeper",
              action: "order.payment_in_flight",
              subject: order.id,
              detail: { reason: "session_completed_without_webhook" },
            });
          }
          report.inFlight.push(order.id);
          continue;
        }
      }
      const closed = await closePendingOrder(db, { orderId: order.id, status: "expired", session: order.paymentSessionId });
      if (!closed) continue; // a webhook, a cancel or another sweep got there first
      await afterOrderClosed(env, closed);
      await recordAudit(env, {
        actor: "sweeper",
        action: "order.expired",
        subject: order.id,
        detail: { by: "sweeper", hadSession: order.paymentSessionId !== null },
      });
      report.expired.push(order.id);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "sweep_failed", orderId: order.id, error: String(error) }));
      report.failed.push(order.id);
    }
  }
  return report;
}
