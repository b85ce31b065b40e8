import { sweepStaleOrders, type SweepReport } from "../checkout/sweeper";
import { carryLegacyUses } from "../coupons/ledger-carry";
import { loadConfig } from "../platform/config";
import { reconcileRecentVariants } from "../stock-gate/reconcile";
import { expireDueSimulatorSessions } from "./simulator-events";

/** The stock gates the cron checks: variants whose stock moved this recently (three runs' worth). */
const GATE_CHECK_WINDOW_SECONDS = 15 * 60;

/**
 * The Cron Trigger (wrangler.toml `[triggers]`, every 5 minutes): in development the simulator
 * first expires its sessions whose time is up, as Stripe would (delivering `checkout.session.expired`);
 * then the sweeper closes every pending order whose session expired without any event arriving
 * (docs/decisions/013-order-lifecycle.md); and coupon uses counted under an older ledger key are
 * carried (decision 027); and the stock gate of every variant whose stock moved in the last
 * 15 minutes is checked against D1 and repaired (decision 028). `scheduledTime` is "now", so a
 * test can run it later.
 */
export async function runScheduledSweep(controller: Pick<ScheduledController, "scheduledTime">, env: Env): Promise<SweepReport | null> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    console.error(JSON.stringify({ level: "error", msg: "misconfigured", problems: loaded.problems }));
    return null;
  }
  const simulatorExpired = await expireDueSimulatorSessions(env, loaded.config, controller.scheduledTime);
  const report = await sweepStaleOrders(env, loaded.config, controller.scheduledTime);
  // Coupon uses counted under an older key go to the ledger that counts them now (decision 027).
  const carried = await carryLegacyUses(env, null, 200).catch((error: unknown) => {
    console.error(JSON.stringify({ level: "error", msg: "coupon_carry_failed", error: String(error) }));
    return 0;
  });
  const gateChecks = await reconcileRecentVariants(env, {
    actor: "stock-gate",
    windowSeconds: GATE_CHECK_WINDOW_SECONDS,
    limit: 50,
    now: controller.scheduledTime,
  });
  console.log(
    JSON.stringify({
      level: "info",
      msg: "sweep",
      gateRepaired: gateChecks.filter((c) => c.repaired).length,
      gateBusy: gateChecks.filter((c) => c.busy).length,
      simulatorExpired: simulatorExpired.length,
      expired: report.expired.length,
      inFlight: report.inFlight.length,
      failed: report.failed.length,
      couponUsesCarried: carried,
    }),
  );
  return report;
}
