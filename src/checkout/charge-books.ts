import { and, eq, inArray, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { sqlNowIso, type Database } from "../db/client";
import { isOpenDispute, type DisputeState, type PaymentState } from "../payments/payment-state";
import { afterShopEvents, shopEventStatements } from "../integrations/events";
import { orderRefundedEvent } from "./order-events";
import { queueDisputeNotice, queueRefundNotice } from "./order-mail";
import { stripeTail } from "./payment-checks";
import { completeRefundClaim } from "./refunds";
import { orderDisputes, orderRefunds, orders, type OrderRow } from "./schema";

/** Who is reconciling an order with its payment: the audit log says so. */
export type Reconciler = "stripe" | "sweeper" | "staff";

/**
 * The books of a paid order's charge, as the provider keeps them: every refund (the shop's and the
 * Dashboard's), the refunded total, and every dispute. The provider's figures are authoritative;
 * each write is conditional, so each change is recorded and audited once however often it is read.
 */
export async function reconcileCharge(env: Env, db: Database, order: OrderRow, state: PaymentState, by: Reconciler): Promise<OrderRow> {
  const charge = state.charge;
  if (!charge || (state.intent && order.paymentIntentId && state.intent.id !== order.paymentIntentId)) return order;
  await recordRefunds(env, db, order, state);
  let now = await recordRefundedTotal(env, db, order, charge.amountRefunded, by);
  now = await recordDisputes(env, db, now, state.disputes, by);
  return now;
}

/** Each provider refund once: the shop's claims become final, refunds made elsewhere are added. */
async function recordRefunds(env: Env, db: Database, order: OrderRow, state: PaymentState): Promise<void> {
  const refunds = (state.charge?.refunds ?? []).filter((r) => r.status !== "failed" && r.status !== "canceled");
  if (refunds.length === 0) return;
  const known = await db.select().from(orderRefunds).where(eq(orderRefunds.orderId, order.id));
  for (const refund of refunds) {
    if (known.some((k) => k.providerRefundId === refund.id)) continue;
    const claim = refund.claimId ? known.find((k) => k.id === refund.claimId) : undefined;
    if (claim) {
      // The shop's own claim whose answer was lost (or is still on its way): final now (restocked lines too).
      await completeRefundClaim(env, db, claim.id, refund.id);
      continue;
    }
    const inserted = await db
      .insert(orderRefunds)
      .values({
        id: `rf_${crypto.randomUUID().replaceAll("-", "")}`,
        orderId: order.id,
        amountCents: refund.amount,
        idempotencyKey: `provider:${refund.id}`,
        state: "done",
        providerRefundId: refund.id,
        source: "provider",
        requestedBy: "stripe",
      })
      .onConflictDoNothing();
    if ((inserted.meta.changes ?? 0) > 0) {
      await recordAudit(env, {
        actor: "stripe",
        action: "order.refunded_elsewhere",
        subject: order.id,
        detail: { refund: stripeTail(refund.id), amountCents: refund.amount, currency: order.currency },
      });
    }
  }
}

/** The provider's refunded total on the order; in full, the order is `refunded`. */
async function recordRefundedTotal(env: Env, db: Database, order: OrderRow, refundedCents: number, by: Reconciler): Promise<OrderRow> {
  if (refundedCents === order.refundedCents) return order;
  const full = refundedCents >= order.totalCents;
  // `order.refunded` for integrations in the same batch, only when this write raised the total (decision 023).
  const answers = await db.batch([
    db
      .update(orders)
      .set({
        refundedCents,
        updatedAt: sqlNowIso,
        ...(full ? { status: "refunded" as const } : {}),
      })
      .where(and(eq(orders.id, order.id), eq(orders.refundedCents, order.refundedCents), inArray(orders.status, ["paid", "refunded"])))
      .returning(),
    ...shopEventStatements(db, orderRefundedEvent(order.id, refundedCents > order.refundedCents ? refundedCents : 0)),
  ]);
  const [now] = answers[0];
  if (!now) return (await db.select().from(orders).where(eq(orders.id, order.id)).limit(1))[0] ?? order;
  await afterShopEvents(env, answers);
  if (refundedCents > order.refundedCents) {
    await queueRefundNotice(env, now, { amountRefundedCents: refundedCents, full, eventId: `${order.id}:${refundedCents}` });
  }
  await recordAudit(env, {
    actor: by === "staff" ? "stripe" : by,
    action: full && order.status !== "refunded" ? "order.refunded" : "order.refund_recorded",
    subject: order.id,
    detail: { refundedCents, previousCents: order.refundedCents, totalCents: order.totalCents, currency: order.currency },
  });
  return now;
}

/** The dispute the order shows: an open one first, else the newest. */
function headlineDispute(disputes: DisputeState[]): DisputeState | null {
  return disputes.find((d) => isOpenDispute(d.status)) ?? disputes[disputes.length - 1] ?? null;
}

async function recordDisputes(env: Env, db: Database, order: OrderRow, disputes: DisputeState[], by: Reconciler): Promise<OrderRow> {
  if (disputes.length === 0) return order;
  const known = await db.select().from(orderDisputes).where(eq(orderDisputes.orderId, order.id));
  for (const d of disputes) {
    const before = known.find((k) => k.id === d.id);
    if (!before) {
      const inserted = await db
        .insert(orderDisputes)
        .values({
          id: d.id,
          orderId: order.id,
          amountCents: d.amount,
          currency: d.currency,
          reason: d.reason,
          status: d.status,
          evidenceDueBy: d.evidenceDueBy,
        })
        .onConflictDoNothing();
      if ((inserted.meta.changes ?? 0) === 0) continue;
      await recordAudit(env, {
        actor: by === "staff" ? "stripe" : by,
        action: "order.dispute_opened",
        subject: order.id,
        detail: { dispute: stripeTail(d.id), amountCents: d.amount, reason: d.reason, status: d.status, evidenceDueBy: d.evidenceDueBy },
      });
      await queueDisputeNotice(env, db, order, d);
      // First read after it closed (its events came late or out of order): the books still say it
      // opened and how it ended, as they would had every event been read in turn.
      if (!isOpenDispute(d.status)) await recordDisputeClosed(env, order, d, null, by);
      continue;
    }
    if (before.status === d.status && before.evidenceDueBy === d.evidenceDueBy && before.amountCents === d.amount) continue;
    const changed = await db
      .update(orderDisputes)
      .set({
        status: d.status,
        amountCents: d.amount,
        evidenceDueBy: d.evidenceDueBy,
        reason: d.reason,
        updatedAt: sqlNowIso,
      })
      .where(and(eq(orderDisputes.id, d.id), eq(orderDisputes.status, before.status)));
    if ((changed.meta.changes ?? 0) === 0 || before.status === d.status) continue;
    if (isOpenDispute(d.status)) {
      await recordAudit(env, {
        actor: by === "staff" ? "stripe" : by,
        action: "order.dispute_updated",
        subject: order.id,
        detail: { dispute: stripeTail(d.id), from: before.status, to: d.status, amountCents: d.amount },
      });
    } else if (isOpenDispute(before.status)) await recordDisputeClosed(env, order, d, before.status, by);
  }
  const headline = headlineDispute(disputes);
  if (!headline || headline.status === order.disputeStatus) return order;
  const [now] = await db
    .update(orders)
    .set({ disputeStatus: headline.status, updatedAt: sqlNowIso })
    .where(and(eq(orders.id, order.id), sql`${orders.disputeStatus} IS NOT ${headline.status}`))
    .returning();
  return now ?? order;
}

/** A dispute's end (won, lost, a warning closed): audited once, whenever the shop first reads it. */
async function recordDisputeClosed(env: Env, order: OrderRow, d: DisputeState, from: string | null, by: Reconciler): Promise<void> {
  await recordAudit(env, {
    actor: by === "staff" ? "stripe" : by,
    action: d.status === "lost" ? "order.dispute_lost" : "order.dispute_closed",
    subject: order.id,
    detail: { dispute: stripeTail(d.id), from, to: d.status, amountCents: d.amount },
  });
}
