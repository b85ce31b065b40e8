import { eq } from "drizzle-orm";
import { recordAudit, requireAudit } from "../audit/audit";
import { reconcileOrder } from "../checkout/reconcile";
import { refundIdempotencyKey, refundReference, settleRefundClaim } from "../checkout/refund-settlement";
import { claimRefund, completeRefundClaim, refundedSoFar, withdrawRefundClaim } from "../checkout/refunds";
import { orders, type OrderRow } from "../checkout/schema";
import { listStrayPayments, refundStrayPayment } from "../checkout/stray-payments";
import type { Database } from "../db/client";
import { isOpenDispute } from "../payments/payment-state";
import { paymentProvider, RefundRefused, type PaymentProvider } from "../payments/provider";
import { deliverSimulatedRefund } from "../payments/simulator-events";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import type { StaffActor } from "./products";

/** What a refund request answers: the provider's refund id, what is refunded so far and the order's status now. */
export interface RefundRequested {
  orderId: string;
  refundId: string;
  amountCents: number;
  currency: string;
  status: OrderRow["status"];
  /** Everything refunded on this order so far (this refund included), and what is left. */
  refundedCents?: number;
  remainingCents?: number;
}

/** A refund request: an amount (default: everything not refunded yet) and the client's idempotency key. */
export interface RefundInput {
  amountCents?: number | undefined;
  idempotencyKey?: string | undefined;
}

/** A disputed charge cannot be refunded (Stripe refuses it too): the dispute is answered instead. */
function refuseIfDisputed(order: OrderRow): void {
  if (isOpenDispute(order.disputeStatus) || order.disputeStatus === "lost") {
    throw new ProblemError(
      409,
      "charge_disputed",
      `This payment is disputed (${order.disputeStatus}): answer the dispute in the Stripe Dashboard instead of refunding.`,
    );
  }
}

/**
 * Asks the payment provider to refund a paid order, in full or in part: at most what is not
 * refunded yet (staff and Dashboard refunds alike), claimed atomically first
 * (src/checkout/refunds.ts), so two staff at once or a replayed request never refund more than was
 * paid, and the same `Idempotency-Key` is one refund. Records `order.refund_requested` before the
 * money moves (fail closed). A replay of a claim whose outcome was lost is settled by asking the
 * provider (src/checkout/refund-settlement.ts). The order's refunded total and status follow the
 * provider's books (src/checkout/charge-books.ts); with the simulator its `charge.refunded` event
 * is delivered (signed, through the webhook handler) right away.
 * Refusals: 404 `order_not_found`, 409 `order_not_refundable`, `refund_exceeds_remaining`,
 * `charge_disputed`, 502 `payment_unavailable`.
 */
export async function requestRefund(
  env: Env,
  config: Config,
  db: Database,
  actor: StaffActor,
  orderId: string,
  input: RefundInput = {},
): Promise<RefundRequested> {
  const [order] = await db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
  if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
  const provider = paymentProvider(config, db);
  if (order.status === "expired" || order.status === "cancelled") return refundStrays(env, db, provider, actor, order);
  if (order.status !== "paid") throw new ProblemError(409, "order_not_refundable", `Only paid orders can be refunded; this one is ${order.status}.`);
  refuseIfDisputed(order);
  const reference = refundReference(order);
  if (!reference) throw new ProblemError(409, "order_not_refundable", "This order has no payment to refund.");
  const remaining = order.totalCents - (await refundedSoFar(db, order.id));
  const amountCents = input.amountCents ?? remaining;
  const claim = await claimRefund(db, order, {
    amountCents: Math.max(1, amountCents),
    idempotencyKey: input.idempotencyKey ?? crypto.randomUUID(),
    requestedBy: actor.id,
  });
  if (claim.kind === "replayed") {
    const settled = claim.claim.state === "done" ? claim.claim : await settleRefundClaim(env, db, provider, order, claim.claim);
    if (!settled?.providerRefundId) throw new ProblemError(409, "refund_withdrawn", "This refund could not be made; ask for it again.");
    return refundAnswer(db, order, settled.providerRefundId, settled.amountCents);
  }
  if (claim.kind === "too_large" || amountCents < 1) {
    const left = claim.kind === "too_large" ? claim.remainingCents : remaining;
    if (left <= 0) throw new ProblemError(409, "order_not_refundable", "This order is refunded in full already.");
    throw new ProblemError(409, "refund_exceeds_remaining", `At most ${left} (minor units of ${order.currency}) is left to refund on this order.`);
  }
  const idempotencyKey = refundIdempotencyKey(claim.claim.id);
  // Fail closed (issue 19, decision 006): the request is on the record before money moves, or no
  // money moves (503 audit_unavailable) and the claim is withdrawn.
  try {
    await requireAudit(env, {
      actor: actor.id,
      action: "order.refund_requested",
      subject: order.id,
      detail: { amountCents, currency: order.currency, provider: provider.name, request: idempotencyKey, partial: amountCents < order.totalCents },
      ip: actor.ip,
    });
  } catch (error) {
    await withdrawRefundClaim(db, claim.claim.id);
    throw error;
  }
  let refundId: string;
  try {
    ({ refundId } = await provider.refund({ ...reference, amountCents, currency: order.currency, idempotencyKey, claimId: claim.claim.id }));
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "refund_failed", orderId: order.id, error: String(error) }));
    await withdrawRefundClaim(db, claim.claim.id);
    await recordAudit(env, {
      actor: actor.id,
      action: "order.refund_failed",
      subject: order.id,
      detail: { request: idempotencyKey, provider: provider.name, code: error instanceof RefundRefused ? error.code : null },
      ip: actor.ip,
    });
    if (error instanceof RefundRefused) throw await refusalProblem(env, provider, order, error);
    throw new ProblemError(502, "payment_unavailable", "The payment provider did not accept the refund. Try again later.");
  }
  await completeRefundClaim(db, claim.claim.id, refundId);
  if (provider.name === "simulator" && order.paymentIntentId) {
    // Development: "Stripe" confirms the refund the way it would, with a signed charge.refunded event.
    await deliverSimulatedRefund(env, config, order.paymentIntentId);
  }
  return refundAnswer(db, order, refundId, amountCents);
}

/**
 * The provider refused for a reason of its books (the charge is disputed, less is left than the
 * shop thought because of a Dashboard refund): the order is brought to those books, and the answer names it.
 */
async function refusalProblem(env: Env, provider: PaymentProvider, order: OrderRow, error: RefundRefused): Promise<ProblemError> {
  await reconcileOrder(env, provider, order, "staff").catch(() => null);
  if (error.code === "charge_disputed") return new ProblemError(409, "charge_disputed", "This payment is disputed: answer the dispute instead of refunding.");
  if (error.code === "amount_too_large" || error.code === "charge_already_refunded")
    return new ProblemError(409, "refund_exceeds_remaining", "Less is left to refund than asked: the payment was refunded elsewhere meanwhile.");
  return new ProblemError(409, "refund_refused", `The payment provider refused the refund (${error.code}).`);
}

async function refundAnswer(db: Database, order: OrderRow, refundId: string, amountCents: number): Promise<RefundRequested> {
  const [now] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, order.id)).limit(1);
  const refundedCents = await refundedSoFar(db, order.id);
  return {
    orderId: order.id,
    refundId,
    amountCents,
    currency: order.currency,
    status: now?.status ?? order.status,
    refundedCents,
    remainingCents: order.totalCents - refundedCents,
  };
}

/**
 * Refunds the money a closed order received (its stray payments), each payment once
 * (src/checkout/stray-payments.ts). The order keeps its status: it was never paid for the shop.
 * 409 `order_not_refundable` when it holds no payment left to refund.
 */
async function refundStrays(env: Env, db: Database, provider: PaymentProvider, actor: StaffActor, order: OrderRow): Promise<RefundRequested> {
  const open = (await listStrayPayments(db, { orderId: order.id })).filter((p) => p.refundState === "none");
  if (open.length === 0) throw new ProblemError(409, "order_not_refundable", `This order is ${order.status} and holds no payment to refund.`);
  let last: { refundId: string; amountCents: number; currency: string } | null = null;
  for (const stray of open) {
    const { refundId } = await refundStrayPayment(env, db, provider, actor, stray);
    last = { refundId, amountCents: stray.amountCents, currency: stray.currency };
  }
  return { orderId: order.id, refundId: last!.refundId, amountCents: last!.amountCents, currency: last!.currency, status: order.status };
}
