import type { Database } from "../db/client";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import type { ReturnView } from "../returns/returns";
import { markReturnRefunded, returnAndOrder } from "../returns/steps";
import { previewRefund, requestRefund, type RefundInput } from "./order-refunds";
import type { StaffActor } from "./products";

/**
 * A return's refund goes through the one money path (decision 029): requestRefund with the
 * return's lines and each line's restock choice, so "never more than paid, never a line twice"
 * holds by construction (src/checkout/refund-lines.ts), and the restock happens once, when the
 * provider made the refund. The idempotency key is the return's own: the return is one refund
 * however often it is asked for (a double click, two staff, a retry after a lost answer).
 */
export function returnRefundInput(ret: ReturnView, expectedCents?: number): RefundInput {
  return {
    lines: ret.lines.map((l) => ({ variantId: l.variantId, quantity: l.quantity, restock: l.restock })),
    idempotencyKey: `return-${ret.id}`,
    ...(expectedCents === undefined ? {} : { expectedCents }),
  };
}

/** What the return's refund gives back now (the confirmation shows it), without claiming anything. */
export async function previewReturnRefund(db: Database, returnId: string): Promise<{ ret: ReturnView; amountCents: number; currency: string }> {
  const { ret, order } = await returnAndOrder(db, returnId);
  const plan = await previewRefund(db, order, returnRefundInput(ret));
  return { ret, amountCents: plan.amountCents, currency: order.currency };
}

/**
 * Refunds a received return: 409 `return_wrong_status` unless received (a refunded one answers as
 * it is), and requestRefund's refusals (`line_already_refunded`, `line_refund_exceeds_quantity`,
 * `refund_amount_changed`, `order_not_refundable`, `charge_disputed`, 502 `payment_unavailable`).
 */
export async function refundReturn(env: Env, config: Config, db: Database, actor: StaffActor, returnId: string, expectedCents?: number): Promise<ReturnView> {
  const { ret, order } = await returnAndOrder(db, returnId);
  if (ret.status === "refunded") return ret;
  if (ret.status !== "received") throw new ProblemError(409, "return_wrong_status", `Only a received return can be refunded; this one is ${ret.status}.`);
  const refund = await requestRefund(env, config, db, actor, order.id, returnRefundInput(ret, expectedCents));
  return markReturnRefunded(env, db, actor, ret.id, { refundId: refund.refundId, amountCents: refund.amountCents });
}
