import { and, eq } from "drizzle-orm";
import { recordAudit, requireAudit } from "../audit/audit";
import { reconcileOrder } from "../checkout/reconcile";
import { refundIdempotencyKey, refundReference, settleRefundClaim } from "../checkout/refund-settlement";
import { claimLineRefund, planLineRefund, type LineRefundRequest, type PlannedLine } from "../checkout/refund-lines";
import { claimRefund, completeRefundClaim, refundedSoFar, withdrawRefundClaim, type RefundClaim } from "../checkout/refunds";
import { orderRefunds, orders, type OrderRow } from "../checkout/schema";
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
  /** The lines this refund gave money back for (a line refund), with restocked units. */
  lines?: { productId: string; variantId: string; quantity: number; amountCents: number; restock: boolean }[];
}

/**
 * A refund request: an amount (default: everything not refunded yet), or order lines (issue 32:
 * units of lines, their paid part, restocked or not), and the client's idempotency key.
 * `expectedCents`: the amount the staff member confirmed; when the refund would now be another
 * amount (a line refunded meanwhile), 409 `refund_amount_changed` and nothing moves.
 */
export interface RefundInput {
  amountCents?: number | undefined;
  lines?: LineRefundRequest[] | undefined;
  expectedCents?: number | undefined;
  idempotencyKey?: string | undefined;
}

/** What a refund of `input` would give back now, without claiming anything (the confirmation step shows it). */
export async function previewRefund(db: Database, order: OrderRow, input: RefundInput): Promise<{ amountCents: number; lines: PlannedLine[] }> {
  if (input.lines?.length) return planLineRefund(db, order, input.lines);
  const remaining = order.totalCents - (await refundedSoFar(db, order.id));
  return { amountCents: input.amountCents ?? remaining, lines: [] };
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
  const clientKey = input.idempotencyKey ?? crypto.randomUUID();
  let amountCents = input.amountCents ?? remaining;
  let claim: RefundClaim;
  let lines: PlannedLine[] = [];
  // A replayed request (a double click, a resubmitted page) answers its refund before anything is weighed again.
  const [earlier] = input.idempotencyKey
    ? await db
        .select()
        .from(orderRefunds)
        .where(and(eq(orderRefunds.orderId, order.id), eq(orderRefunds.idempotencyKey, clientKey)))
        .limit(1)
    : [];
  if (earlier) {
    claim = { kind: "replayed", claim: earlier };
  } else if (input.lines?.length) {
    const found = await claimedLines(db, order, input, clientKey, actor);
    claim = found.claim;
    lines = found.lines;
    amountCents = found.amountCents;
  } else {
    if (input.expectedCents !== undefined && input.expectedCents !== amountCents) throw amountChanged(amountCents, order.currency);
    claim = await claimRefund(db, order, { amountCents: Math.max(1, amountCents), idempotencyKey: clientKey, requestedBy: actor.id });
  }
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
      detail: {
        amountCents,
        currency: order.currency,
        provider: provider.name,
        request: idempotencyKey,
        partial: amountCents < order.totalCents,
        ...(lines.length
          ? {
              lines: lines.map((l) => ({
                productId: l.productId,
                variantId: l.variantId,
                quantity: l.quantity,
                amountCents: l.amountCents,
                restock: l.restock,
              })),
            }
          : {}),
      },
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
  await completeRefundClaim(env, db, claim.claim.id, refundId);
  if (provider.name === "simulator" && order.paymentIntentId) {
    // Development: "Stripe" confirms the refund the way it would, with a signed charge.refunded event.
    await deliverSimulatedRefund(env, config, order.paymentIntentId);
  }
  const answer = await refundAnswer(db, order, refundId, amountCents);
  return lines.length
    ? {
        ...answer,
        lines: lines.map((l) => ({ productId: l.productId, variantId: l.variantId, quantity: l.quantity, amountCents: l.amountCents, restock: l.restock })),
      }
    : answer;
}

function amountChanged(amountCents: number, currency: string): ProblemError {
  return new ProblemError(
    409,
    "refund_amount_changed",
    `This refund would now be ${amountCents} (minor units of ${currency}), not the amount confirmed: check the order again.`,
  );
}

/**
 * A line refund's claim: planned from the lines as they are now (409 when the planned amount is not
 * the one confirmed), claimed conditionally on those lines; a line another refund changed between
 * the two is planned again, at most three times.
 */
async function claimedLines(
  db: Database,
  order: OrderRow,
  input: RefundInput,
  idempotencyKey: string,
  actor: StaffActor,
): Promise<{ claim: RefundClaim; lines: PlannedLine[]; amountCents: number }> {
  for (let round = 0; round < 3; round++) {
    const [replay] = await db
      .select()
      .from(orderRefunds)
      .where(and(eq(orderRefunds.orderId, order.id), eq(orderRefunds.idempotencyKey, idempotencyKey)))
      .limit(1);
    if (replay) return { claim: { kind: "replayed", claim: replay }, lines: [], amountCents: replay.amountCents };
    const plan = await planLineRefund(db, order, input.lines ?? []);
    if (input.expectedCents !== undefined && input.expectedCents !== plan.amountCents) throw amountChanged(plan.amountCents, order.currency);
    if (plan.amountCents < 1)
      throw new ProblemError(409, "order_not_refundable", "These lines were paid nothing (a full discount): there is no money to give back.");
    const claim = await claimLineRefund(db, order, plan, { idempotencyKey, requestedBy: actor.id });
    if (claim.kind !== "lines_changed") return { claim, lines: plan.lines, amountCents: plan.amountCents };
  }
  throw new ProblemError(409, "line_already_refunded", "Another refund of these lines is under way: check the order again.");
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
