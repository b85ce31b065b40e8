import { and, eq, isNull, type SQL } from "drizzle-orm";
import { sqlNowIso, type Database } from "../db/client";
import { orderLines, orders, type OrderRow } from "./schema";
import { restockPendingOrder } from "./stock";

// The clocks of an order's life (docs/decisions/013-order-lifecycle.md). Holds (stock, coupon
// reservation, the cart's lock) follow the order, not a clock of their own: they end when the order
// closes (paid, expired, cancelled), and the sweeper closes what the provider let expire.

/** The `expires_at` we give a Checkout Session: Stripe accepts 30 min to 24 h; a minute of margin for skew. */
export const SESSION_LIFETIME_SECONDS = 31 * 60;
/** The sweeper closes a pending order this long after its session expired (Stripe's own `expired` event usually came first). */
export const SWEEP_GRACE_SECONDS = 10 * 60;
/**
 * The coupon ledger's own clock gives a reservation back only this long after the session expired:
 * by then the sweeper (every 5 minutes) has closed the order or pinned its hold. It only matters for
 * a checkout that died before writing its order, or a sweeper that cannot reach the provider for an
 * hour (then a late payment is recorded as an over-redemption for staff, never silently).
 */
export const COUPON_HOLD_MARGIN_SECONDS = 60 * 60;
/** An order still without a session this long after it was written belongs to a checkout that died. */
export const SETUP_WINDOW_MS = 10 * 60 * 1000;
/** Order lines have 8 columns (variant, SKU and option values since decision 025); D1 binds at most 100 parameters per statement. */
export const ORDER_LINES_PER_INSERT = Math.floor(100 / 8);

/** Order lines as inserts of at most ORDER_LINES_PER_INSERT rows each, for one db.batch. */
export function insertOrderLines(db: Database, rows: (typeof orderLines.$inferInsert)[]) {
  const inserts = [];
  for (let i = 0; i < rows.length; i += ORDER_LINES_PER_INSERT) inserts.push(db.insert(orderLines).values(rows.slice(i, i + ORDER_LINES_PER_INSERT)));
  return inserts;
}

/**
 * Closes a pending order unpaid and gives its stock back in ONE batch, only while it is still
 * pending on `session` (a session id, or null: "no session stored yet" — the fence against a
 * checkout storing one meanwhile). An order whose payment is in flight stays unless `inFlight`.
 * Returns the closed row, or null when nothing changed (someone else closed it, or the session moved).
 */
export async function closePendingOrder(
  db: Database,
  input: { orderId: string; status: "expired" | "cancelled"; session: string | null; inFlight?: boolean },
): Promise<OrderRow | null> {
  const [restock, close] = closeStatements(db, input);
  const [, closed] = await db.batch([restock, close]);
  return closed[0] ?? null;
}

/** The two statements of `closePendingOrder`, for a caller that adds them to its own batch (the webhook's dedup row). */
export function closeStatements(db: Database, input: { orderId: string; status: "expired" | "cancelled"; session: string | null; inFlight?: boolean }) {
  const conditions: SQL[] = [eq(orders.id, input.orderId), eq(orders.status, "pending")];
  conditions.push(input.session === null ? isNull(orders.paymentSessionId) : eq(orders.paymentSessionId, input.session));
  if (!input.inFlight) conditions.push(eq(orders.paymentInFlight, false));
  return [
    restockPendingOrder(db, input.orderId, { session: input.session, inFlight: input.inFlight ?? false }),
    db
      .update(orders)
      .set({ status: input.status, paymentInFlight: false, updatedAt: sqlNowIso })
      .where(and(...conditions))
      .returning(),
  ] as const;
}
