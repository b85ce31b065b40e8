import { recordAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { ProblemError } from "../platform/problem";
import { markShipped } from "../shipping/fulfilment";
import type { StaffActor } from "./products";

/** One order to ship: its carrier and tracking number. */
export interface BulkShipment {
  orderId: string;
  carrier: string;
  trackingNumber: string;
}

export type BulkShipResult = { orderId: string; shipped: true } | { orderId: string; shipped: false; code: string };

/** At most this many orders per bulk action. */
export const MAX_BULK_SHIPMENTS = 50;

/**
 * Marks several orders shipped, one by one, each through src/shipping/fulfilment.ts (its audit,
 * its conditional write, its dispute block: a disputed order is refused here, never overridden in
 * bulk). Each order's result is reported; one refusal does not stop the others. The page
 * (order-list-pages.tsx) and the API (bulk-ship-routes.ts) both come here; the bulk action itself
 * is audited once more with its counts (each order's `order.shipped` names the order).
 */
export async function shipMany(env: Env, db: Database, actor: StaffActor, shipments: BulkShipment[]): Promise<BulkShipResult[]> {
  const results: BulkShipResult[] = [];
  for (const s of shipments.slice(0, MAX_BULK_SHIPMENTS)) {
    try {
      await markShipped(env, db, actor, s.orderId, { carrier: s.carrier, trackingNumber: s.trackingNumber });
      results.push({ orderId: s.orderId, shipped: true });
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      results.push({ orderId: s.orderId, shipped: false, code: error.code });
    }
  }
  const shipped = results.filter((r) => r.shipped).length;
  await recordAudit(env, {
    actor: actor.id,
    ip: actor.ip,
    action: "order.bulk_shipped",
    detail: { requested: results.length, shipped, refused: results.length - shipped },
  });
  return results;
}
