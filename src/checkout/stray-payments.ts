import { and, asc, desc, eq } from "drizzle-orm";
import { recordAudit, requireAudit } from "../audit/audit";
import { sqlNowIso, type Database } from "../db/client";
import type { PaymentState } from "../payments/payment-state";
import type { PaymentProvider } from "../payments/provider";
import { ProblemError } from "../platform/problem";
import { stripeTail } from "./payment-checks";
import { strayPayments, type OrderRow, type StrayPaymentRow } from "./schema";

/**
 * Money without a home (issue 29): a payment the shop received but will not fulfil — its order
 * closed first, it failed the shop's checks, or no order matches it. One row per payment (its
 * intent, or its session when it has none), so two events, two staff or two clicks refund it once.
 */

/** Keeps a received payment the shop will not fulfil; audited once, on the first sighting. */
export async function keepStrayPayment(
  env: Env,
  db: Database,
  input: { order: OrderRow | null; state: PaymentState; reason: string; by: string },
): Promise<void> {
  const { session } = input.state;
  const pi = input.state.intent?.id ?? null;
  const id = pi ?? session.id;
  const inserted = await db
    .insert(strayPayments)
    .values({
      id,
      orderId: input.order?.id ?? null,
      sessionId: session.id,
      paymentIntentId: pi,
      amountCents: session.amount_total ?? 0,
      currency: (session.currency ?? input.order?.currency ?? "").toLowerCase(),
      reason: input.reason,
      // Refunded at the provider already (the Dashboard, or before we heard of the payment).
      refundState: input.state.charge && input.state.charge.amountRefunded >= input.state.charge.amount ? "refunded" : "none",
    })
    .onConflictDoNothing();
  if ((inserted.meta.changes ?? 0) === 0) return;
  await recordAudit(env, {
    actor: input.by,
    action: "payment.after_close",
    subject: input.order?.id ?? session.id,
    detail: {
      reason: input.reason,
      amountTotal: session.amount_total,
      currency: session.currency,
      paymentIntent: stripeTail(pi),
      session: stripeTail(session.id),
    },
  });
}

/** Stray payments, newest first; `open`: only those nobody refunded yet. */
export async function listStrayPayments(db: Database, opts: { open?: boolean; orderId?: string } = {}): Promise<StrayPaymentRow[]> {
  const filters = [];
  if (opts.open) filters.push(eq(strayPayments.refundState, "none"));
  if (opts.orderId) filters.push(eq(strayPayments.orderId, opts.orderId));
  return db
    .select()
    .from(strayPayments)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(opts.orderId ? asc(strayPayments.receivedAt) : desc(strayPayments.receivedAt))
    .limit(200);
}

/**
 * Refunds one stray payment, once: a conditional claim (none → requested) first, the request on
 * the audit record before money moves (fail closed), the provider's idempotency key
 * `refund:<stray id>` so a retry is the same refund there too. A refused call gives the claim back.
 */
export async function refundStrayPayment(
  env: Env,
  db: Database,
  provider: PaymentProvider,
  actor: { id: string; ip: string | null },
  stray: StrayPaymentRow,
): Promise<{ refundId: string }> {
  const claimed = await db
    .update(strayPayments)
    .set({ refundState: "requested", refundedBy: actor.id, updatedAt: sqlNowIso })
    .where(and(eq(strayPayments.id, stray.id), eq(strayPayments.refundState, "none")));
  if ((claimed.meta.changes ?? 0) === 0) throw new ProblemError(409, "order_not_refundable", "This payment is already being refunded.");
  const giveBack = () => db.update(strayPayments).set({ refundState: "none", refundedBy: null }).where(eq(strayPayments.id, stray.id));
  const idempotencyKey = `refund:${stray.id}`;
  const subject = stray.orderId ?? stray.sessionId ?? stray.id;
  try {
    await requireAudit(env, {
      actor: actor.id,
      action: "payment.after_close_refund_requested",
      subject,
      detail: { amountCents: stray.amountCents, currency: stray.currency, provider: provider.name, payment: stripeTail(stray.id), request: idempotencyKey },
      ip: actor.ip,
    });
  } catch (error) {
    await giveBack();
    throw error;
  }
  let refundId: string;
  try {
    const reference = stray.paymentIntentId ? { paymentIntentId: stray.paymentIntentId } : { sessionId: stray.sessionId! };
    ({ refundId } = await provider.refund({ ...reference, amountCents: stray.amountCents, currency: stray.currency, idempotencyKey, claimId: stray.id }));
  } catch (error) {
    await giveBack();
    await recordAudit(env, {
      actor: actor.id,
      action: "payment.after_close_refund_failed",
      subject,
      detail: { payment: stripeTail(stray.id), request: idempotencyKey },
      ip: actor.ip,
    });
    console.error(JSON.stringify({ level: "error", msg: "refund_failed", stray: stray.id, error: String(error) }));
    throw new ProblemError(502, "payment_unavailable", "The payment provider did not accept the refund. Try again later.");
  }
  await db.update(strayPayments).set({ refundState: "refunded", refundId }).where(eq(strayPayments.id, stray.id));
  await recordAudit(env, {
    actor: actor.id,
    action: "payment.after_close_refunded",
    subject,
    detail: { refundId, amountCents: stray.amountCents, currency: stray.currency, provider: provider.name, payment: stripeTail(stray.id) },
    ip: actor.ip,
  });
  return { refundId };
}
