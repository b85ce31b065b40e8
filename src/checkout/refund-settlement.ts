import { and, eq, lt } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { paymentProvider, RefundRefused, type PaymentProvider } from "../payments/provider";
import type { Config } from "../platform/config";
import { reconcileOrder } from "./reconcile";
import { completeRefundClaim, withdrawRefundClaim } from "./refunds";
import { orderRefunds, orders, type OrderRefundRow, type OrderRow } from "./schema";

/**
 * Crash-safe refunds (issue 29): a refund claim is written before the provider is called and made
 * final after it answers. When the answer is lost (the request died between the two), the claim is
 * settled by asking the provider, never left "in progress": a refund carrying the claim's id in its
 * metadata means it happened; otherwise, while the provider still remembers the idempotency key
 * (Stripe: 24 hours), the same request is sent again with the same key (the provider answers with
 * the refund it made, or makes the one that was asked for and audited); after that, it is withdrawn.
 */

/** A claim this old with no outcome is settled by the sweeper (a live request finishes well before). */
export const CLAIM_SETTLE_AFTER_MS = 10 * 60 * 1000;
/** Stripe keeps idempotency keys for at least 24 hours; we re-send within 23. */
const KEY_REMEMBERED_MS = 23 * 60 * 60 * 1000;

export function refundIdempotencyKey(claimId: string): string {
  return `refund:${claimId}`;
}

/** The provider reference a refund of this order uses. */
export function refundReference(order: OrderRow): { paymentIntentId: string } | { sessionId: string } | null {
  if (order.paymentIntentId) return { paymentIntentId: order.paymentIntentId };
  if (order.paymentSessionId) return { sessionId: order.paymentSessionId };
  return null;
}

/** Settles one claim with an unknown outcome. The claim as it ends (done), or null when it was withdrawn. */
export async function settleRefundClaim(
  env: Env,
  db: Database,
  provider: PaymentProvider,
  order: OrderRow,
  claim: OrderRefundRow,
  nowMs: number = Date.now(),
): Promise<OrderRefundRow | null> {
  if (claim.state === "done") return claim;
  const state = order.paymentSessionId ? await provider.readPayment(order.paymentSessionId) : null;
  const found = state?.charge?.refunds.find((r) => r.claimId === claim.id);
  let refundId = found?.id ?? null;
  const reference = refundReference(order);
  if (!refundId && reference && nowMs - Date.parse(claim.createdAt) < KEY_REMEMBERED_MS) {
    try {
      ({ refundId } = await provider.refund({
        ...reference,
        amountCents: claim.amountCents,
        currency: order.currency,
        idempotencyKey: refundIdempotencyKey(claim.id),
        claimId: claim.id,
      }));
    } catch (error) {
      if (!(error instanceof RefundRefused)) throw error; // unreachable provider: settle on the next try
    }
  }
  if (!refundId) {
    await withdrawRefundClaim(db, claim.id);
    await recordAudit(env, {
      actor: "system",
      action: "order.refund_withdrawn",
      subject: order.id,
      detail: { claim: claim.id, amountCents: claim.amountCents },
    });
    return null;
  }
  await completeRefundClaim(env, db, claim.id, refundId);
  await recordAudit(env, { actor: "system", action: "order.refund_settled", subject: order.id, detail: { claim: claim.id, amountCents: claim.amountCents } });
  // The provider's totals (refunded amount, full refund) follow from its books.
  await reconcileOrder(env, provider, order, "staff");
  const [now] = await db.select().from(orderRefunds).where(eq(orderRefunds.id, claim.id)).limit(1);
  return now ?? null;
}

/** The sweeper's part: every claim left "requested" for longer than CLAIM_SETTLE_AFTER_MS. Returns how many it settled or withdrew. */
export async function settleStaleRefundClaims(env: Env, config: Config, db: Database, nowMs: number): Promise<number> {
  const cutoff = new Date(nowMs - CLAIM_SETTLE_AFTER_MS).toISOString();
  const stale = await db
    .select({ claim: orderRefunds, order: orders })
    .from(orderRefunds)
    .innerJoin(orders, eq(orders.id, orderRefunds.orderId))
    .where(and(eq(orderRefunds.state, "requested"), lt(orderRefunds.createdAt, cutoff)))
    .limit(20);
  if (stale.length === 0) return 0;
  const provider = paymentProvider(config, db);
  let settled = 0;
  for (const { claim, order } of stale) {
    try {
      await settleRefundClaim(env, db, provider, order, claim, nowMs);
      settled++;
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "refund_settle_failed", claim: claim.id, error: String(error) }));
    }
  }
  return settled;
}
