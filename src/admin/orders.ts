import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, lt, or, sql, type SQL } from "drizzle-orm";
import { user as userTable } from "../accounts/schema";
import { recordAudit, requireAudit } from "../audit/audit";
import { AFTER_CLOSE_KIND } from "../checkout/fulfilment";
import { claimRefund, completeRefundClaim, refundedSoFar, withdrawRefundClaim } from "../checkout/refunds";
import { orderLines, orders, paymentEvents, type OrderRow } from "../checkout/schema";
import { toOrder, type Order } from "../checkout/orders";
import type { Database } from "../db/client";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import { paymentProvider } from "../payments/provider";
import { deliverSimulatedRefund } from "../payments/simulator";
import type { StaffActor } from "./products";

export const ORDER_STATUSES = ["pending", "paid", "refunded", "expired", "cancelled"] as const;

/** Query of GET /api/admin/orders. `customer` is an email or a user id. */
export const OrderSearchQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  customer: z.string().trim().min(1).max(320).optional(),
  cursor: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});
export type OrderSearchQuery = z.infer<typeof OrderSearchQuery>;

/** One order in the staff list. */
export interface AdminOrderSummary {
  id: string;
  status: OrderRow["status"];
  userId: string;
  customerEmail: string | null;
  totalCents: number;
  currency: string;
  couponCode: string | null;
  createdAt: string;
  paidAt: string | null;
}

/** One row of an order's payment timeline (payment_events). */
export interface TimelineEntry {
  id: string;
  kind: string;
  detail: string | null;
  createdAt: string;
}

/** An order as staff see it: the shopper's view plus who bought it, provider ids and the timeline. */
export interface AdminOrder extends Order {
  userId: string;
  customerEmail: string | null;
  provider: string;
  paymentSessionId: string | null;
  paymentIntentId: string | null;
  updatedAt: string;
  timeline: TimelineEntry[];
  /** A delayed payment is in flight: the order stays pending with its holds until it settles. */
  paymentInFlight: boolean;
  /** Paid with a coupon that had no hold and no room left: resolve with the customer (docs/decisions/013). */
  couponOverRedeemed: boolean;
  /** Money received after the order closed (`payment.after_close`), and whether staff refunded it. */
  paymentsAfterClose: PaymentAfterClose[];
}

/** One payment that arrived for an expired or cancelled order. */
export interface PaymentAfterClose {
  /** The payment_events row that recorded it. */
  id: string;
  amountCents: number;
  currency: string;
  receivedAt: string;
  /** The provider's refund id once staff refunded it, else null. */
  refundId: string | null;
}

/** Kind of the row that claims (then records) the refund of one payment after close: its id makes it once. */
const AFTER_CLOSE_REFUND_KIND = "payment.after_close_refund";

interface AfterCloseDetail {
  paymentIntent: string | null;
  sessionId: string;
  amountCents: number;
  currency: string;
}

/** Payments after close of an order and their refunds, from its timeline rows. */
function paymentsAfterClose(timeline: TimelineEntry[]): (PaymentAfterClose & { detail: AfterCloseDetail })[] {
  const refunds = new Map(
    timeline
      .filter((t) => t.kind === AFTER_CLOSE_REFUND_KIND)
      .map((t) => [t.id.replace(/:refund$/, ""), (JSON.parse(t.detail ?? "{}") as { refundId?: string }).refundId ?? null]),
  );
  return timeline
    .filter((t) => t.kind === AFTER_CLOSE_KIND)
    .map((t) => {
      const detail = JSON.parse(t.detail ?? "{}") as AfterCloseDetail;
      return { id: t.id, amountCents: detail.amountCents, currency: detail.currency, receivedAt: t.createdAt, refundId: refunds.get(t.id) ?? null, detail };
    });
}

// The cursor is the last item's (createdAt, id), so pages are stable while new orders arrive.
function encodeCursor(row: { createdAt: string; id: string }): string {
  return btoa(JSON.stringify([row.createdAt, row.id])).replaceAll("=", "");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(atob(cursor)) as unknown[];
    if (typeof createdAt === "string" && typeof id === "string") return { createdAt, id };
  } catch {
    // fall through
  }
  throw new ProblemError(400, "invalid_cursor", "The cursor is not one this API issued.");
}

/** The user id a `customer` filter names: an email (case-insensitive) or an id; null when no one has that email. */
async function customerId(db: Database, customer: string): Promise<string | null> {
  if (!customer.includes("@")) return customer;
  const [row] = await db.select({ id: userTable.id }).from(userTable).where(eq(userTable.email, customer.toLowerCase())).limit(1);
  return row?.id ?? null;
}

/** Orders, newest first, filtered by status and customer (admin and support). */
export async function searchOrders(db: Database, query: OrderSearchQuery): Promise<{ items: AdminOrderSummary[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  const filters: SQL[] = [];
  if (query.status) filters.push(eq(orders.status, query.status));
  if (query.customer) {
    const id = await customerId(db, query.customer);
    // By address: the account's orders, and guest orders paid with that address.
    const byEmail = query.customer.includes("@") ? eq(orders.customerEmail, query.customer.toLowerCase()) : undefined;
    if (!id && !byEmail) return { items: [], nextCursor: null };
    filters.push(id && byEmail ? or(eq(orders.userId, id), byEmail)! : id ? eq(orders.userId, id) : byEmail!);
  }
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    filters.push(or(lt(orders.createdAt, after.createdAt), and(eq(orders.createdAt, after.createdAt), lt(orders.id, after.id)))!);
  }
  const rows = await db
    .select({
      id: orders.id,
      status: orders.status,
      userId: orders.userId,
      customerEmail: sql<string | null>`coalesce(${userTable.email}, ${orders.customerEmail})`,
      totalCents: orders.totalCents,
      currency: orders.currency,
      couponCode: orders.couponCode,
      createdAt: orders.createdAt,
      paidAt: orders.paidAt,
    })
    .from(orders)
    .leftJoin(userTable, eq(userTable.id, orders.userId))
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null };
}

/** One order with its lines, customer email and payment timeline, or null. */
export async function findAdminOrder(db: Database, id: string): Promise<AdminOrder | null> {
  const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1);
  if (!row) return null;
  const [lines, timeline, owner] = await Promise.all([
    db.select().from(orderLines).where(eq(orderLines.orderId, id)).orderBy(sql`rowid`),
    db
      .select({ id: paymentEvents.id, kind: paymentEvents.kind, detail: paymentEvents.detail, createdAt: paymentEvents.createdAt })
      .from(paymentEvents)
      .where(eq(paymentEvents.orderId, id))
      .orderBy(asc(paymentEvents.createdAt), asc(paymentEvents.id)),
    db.select({ email: userTable.email }).from(userTable).where(eq(userTable.id, row.userId)).limit(1),
  ]);
  return {
    ...toOrder(row, lines),
    userId: row.userId,
    customerEmail: owner[0]?.email ?? row.customerEmail,
    provider: row.provider,
    paymentSessionId: row.paymentSessionId,
    paymentIntentId: row.paymentIntentId,
    updatedAt: row.updatedAt,
    timeline,
    paymentInFlight: row.paymentInFlight,
    couponOverRedeemed: row.couponOverRedeemed,
    paymentsAfterClose: paymentsAfterClose(timeline).map(({ detail: _detail, ...p }) => p),
  };
}

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

/**
 * Asks the payment provider to refund a paid order, in full or in part: at most what is not
 * refunded yet, claimed atomically first (src/checkout/refunds.ts), so two staff at once or a
 * replayed request never refund more than was paid, and the same `Idempotency-Key` is one refund.
 * Records `order.refund_requested` before the money moves (fail closed). The order becomes
 * `refunded` when the provider's `charge.refunded` says the whole charge is refunded; with the
 * simulator that event is delivered (signed, through the webhook handler) right away.
 * Refusals: 404 `order_not_found`, 409 `order_not_refundable`, `refund_exceeds_remaining` or
 * `refund_in_progress`, 502 `payment_unavailable`.
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
  if (order.status === "expired" || order.status === "cancelled") return refundPaymentsAfterClose(env, config, db, actor, order);
  if (order.status !== "paid") throw new ProblemError(409, "order_not_refundable", `Only paid orders can be refunded; this one is ${order.status}.`);
  const reference = order.paymentIntentId ? { paymentIntentId: order.paymentIntentId } : order.paymentSessionId ? { sessionId: order.paymentSessionId } : null;
  if (!reference) throw new ProblemError(409, "order_not_refundable", "This order has no payment to refund.");
  const remaining = order.totalCents - (await refundedSoFar(db, order.id));
  const amountCents = input.amountCents ?? remaining;
  const claim = await claimRefund(db, order, {
    amountCents: Math.max(1, amountCents),
    idempotencyKey: input.idempotencyKey ?? crypto.randomUUID(),
    requestedBy: actor.id,
  });
  if (claim.kind === "replayed") {
    if (claim.claim.state !== "done" || !claim.claim.providerRefundId)
      throw new ProblemError(409, "refund_in_progress", "This refund is being made: look at the order again in a moment.");
    return refundAnswer(db, order, claim.claim.providerRefundId, claim.claim.amountCents);
  }
  if (claim.kind === "too_large" || amountCents < 1) {
    const left = claim.kind === "too_large" ? claim.remainingCents : remaining;
    if (left <= 0) throw new ProblemError(409, "order_not_refundable", "This order is refunded in full already.");
    throw new ProblemError(409, "refund_exceeds_remaining", `At most ${left} (minor units of ${order.currency}) is left to refund on this order.`);
  }
  const provider = paymentProvider(config, db);
  const idempotencyKey = `refund:${claim.claim.id}`;
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
    ({ refundId } = await provider.refund({ ...reference, amountCents, idempotencyKey }));
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "refund_failed", orderId: order.id, error: String(error) }));
    await withdrawRefundClaim(db, claim.claim.id);
    await recordAudit(env, {
      actor: actor.id,
      action: "order.refund_failed",
      subject: order.id,
      detail: { request: idempotencyKey, provider: provider.name },
      ip: actor.ip,
    });
    throw new ProblemError(502, "payment_unavailable", "The payment provider did not accept the refund. Try again later.");
  }
  await completeRefundClaim(db, claim.claim.id, refundId);
  if (provider.name === "simulator" && order.paymentIntentId) {
    // Development: "Stripe" confirms the refund the way it would, with a signed charge.refunded
    // event whose amount_refunded is everything refunded on the charge so far.
    const refundedCents = await refundedSoFar(db, order.id);
    await deliverSimulatedRefund(env, config, {
      paymentIntentId: order.paymentIntentId,
      amountCents: order.totalCents,
      refundedCents,
      currency: order.currency,
    });
  }
  return refundAnswer(db, order, refundId, amountCents);
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
 * Refunds money received for an expired or cancelled order (`payment.after_close`), each payment
 * once: a claim row whose id is derived from the payment's row is inserted first, so a double
 * click or two staff at once make one provider call (and the provider's idempotency key
 * `refund:<row id>` makes a retry one refund there too). Each refund has its audit row
 * `payment.after_close_refund_requested` (written before the provider call, fail-closed) and
 * `payment.after_close_refunded` with the refund id. The order keeps its status (it was never paid for the shop).
 * Refusals: 409 `order_not_refundable` (no money received after close, or all of it refunded
 * already), 502 `payment_unavailable` (the claim is withdrawn, so staff can try again).
 */
async function refundPaymentsAfterClose(env: Env, config: Config, db: Database, actor: StaffActor, order: OrderRow): Promise<RefundRequested> {
  const timeline = await db
    .select({ id: paymentEvents.id, kind: paymentEvents.kind, detail: paymentEvents.detail, createdAt: paymentEvents.createdAt })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.orderId, order.id), or(eq(paymentEvents.kind, AFTER_CLOSE_KIND), eq(paymentEvents.kind, AFTER_CLOSE_REFUND_KIND))))
    .orderBy(asc(paymentEvents.createdAt), asc(paymentEvents.id));
  const open = paymentsAfterClose(timeline).filter((p) => p.refundId === null);
  if (open.length === 0) throw new ProblemError(409, "order_not_refundable", `This order is ${order.status} and holds no payment to refund.`);
  const provider = paymentProvider(config, db);
  let last: { refundId: string; amountCents: number; currency: string } | null = null;
  for (const payment of open) {
    const claimId = `${payment.id}:refund`;
    const claim = await db
      .insert(paymentEvents)
      .values({ id: claimId, orderId: order.id, kind: AFTER_CLOSE_REFUND_KIND, detail: JSON.stringify({ state: "requested" }) })
      .onConflictDoNothing();
    if ((claim.meta.changes ?? 0) === 0) continue; // someone else is refunding (or refunded) this one
    const reference = payment.detail.paymentIntent ? { paymentIntentId: payment.detail.paymentIntent } : { sessionId: payment.detail.sessionId };
    const idempotencyKey = `refund:${payment.id}`;
    // Fail closed (issue 19): the request is on the record before money moves; a refused audit
    // write withdraws the claim, so staff can try again once the log takes writes.
    try {
      await requireAudit(env, {
        actor: actor.id,
        action: "payment.after_close_refund_requested",
        subject: order.id,
        detail: { amountCents: payment.amountCents, currency: payment.currency, provider: provider.name, payment: payment.id, request: idempotencyKey },
        ip: actor.ip,
      });
    } catch (error) {
      await db.delete(paymentEvents).where(eq(paymentEvents.id, claimId));
      throw error;
    }
    let refundId: string;
    try {
      ({ refundId } = await provider.refund({ ...reference, amountCents: payment.amountCents, idempotencyKey }));
    } catch (error) {
      await recordAudit(env, {
        actor: actor.id,
        action: "payment.after_close_refund_failed",
        subject: order.id,
        detail: { payment: payment.id, request: idempotencyKey },
        ip: actor.ip,
      });
      await db.delete(paymentEvents).where(eq(paymentEvents.id, claimId));
      console.error(JSON.stringify({ level: "error", msg: "refund_failed", orderId: order.id, error: String(error) }));
      throw new ProblemError(502, "payment_unavailable", "The payment provider did not accept the refund. Try again later.");
    }
    await db
      .update(paymentEvents)
      .set({ detail: JSON.stringify({ state: "requested", refundId, amountCents: payment.amountCents, currency: payment.currency }) })
      .where(eq(paymentEvents.id, claimId));
    await recordAudit(env, {
      actor: actor.id,
      action: "payment.after_close_refunded",
      subject: order.id,
      detail: { refundId, amountCents: payment.amountCents, currency: payment.currency, provider: provider.name, payment: payment.id },
      ip: actor.ip,
    });
    last = { refundId, amountCents: payment.amountCents, currency: payment.currency };
  }
  if (!last) throw new ProblemError(409, "order_not_refundable", "This payment is already being refunded.");
  return { orderId: order.id, refundId: last.refundId, amountCents: last.amountCents, currency: last.currency, status: order.status };
}
