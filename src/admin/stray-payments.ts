import { eq } from "drizzle-orm";
import { strayPayments, type StrayPaymentRow } from "../checkout/schema";
import { listStrayPayments, refundStrayPayment } from "../checkout/stray-payments";
import type { Database } from "../db/client";
import { paymentProvider } from "../payments/provider";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import type { StaffActor } from "./products";

/**
 * The staff desk for money without a home (issue 29): every payment the shop received but will not
 * fulfil, whether or not an order matches it, and its refund (once; src/checkout/stray-payments.ts).
 */

/** One stray payment as staff see it. */
export interface StrayPayment {
  id: string;
  orderId: string | null;
  sessionId: string | null;
  paymentIntentId: string | null;
  amountCents: number;
  currency: string;
  reason: string;
  refundState: StrayPaymentRow["refundState"];
  refundId: string | null;
  receivedAt: string;
}

function strayPaymentOf(row: StrayPaymentRow): StrayPayment {
  return {
    id: row.id,
    orderId: row.orderId,
    sessionId: row.sessionId,
    paymentIntentId: row.paymentIntentId,
    amountCents: row.amountCents,
    currency: row.currency.toUpperCase(),
    reason: row.reason,
    refundState: row.refundState,
    refundId: row.refundId,
    receivedAt: row.receivedAt,
  };
}

/** Stray payments, newest first (at most 200); `open`: only those not refunded yet. */
export async function strayPaymentDesk(db: Database, opts: { open: boolean }): Promise<StrayPayment[]> {
  return (await listStrayPayments(db, { open: opts.open })).map(strayPaymentOf);
}

/** Refunds one stray payment by id. 404 `payment_not_found`; 409 `order_not_refundable` once it is refunded or being refunded. */
export async function refundStrayPaymentById(env: Env, config: Config, db: Database, actor: StaffActor, id: string): Promise<StrayPayment> {
  const [row] = await db.select().from(strayPayments).where(eq(strayPayments.id, id)).limit(1);
  if (!row) throw new ProblemError(404, "payment_not_found", "No stray payment has this id.");
  // refundStrayPayment's conditional claim answers 409 for one refunded or being refunded.
  await refundStrayPayment(env, db, paymentProvider(config, db), actor, row);
  const [now] = await db.select().from(strayPayments).where(eq(strayPayments.id, id)).limit(1);
  return strayPaymentOf(now ?? row);
}
