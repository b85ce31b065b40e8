import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { requireAudit } from "../audit/audit";
import { parseOptionValues } from "../catalog/variants";
import { orderLines, orderRefundLines, type OrderRow } from "../checkout/schema";
import { inList, type Database } from "../db/client";
import { ProblemError } from "../platform/problem";
import { queueReturnMail } from "./return-mail";
import { returnLines, returnRequests, type ReturnRequestRow, type ReturnStatus } from "./schema";
import type { NotReturnable, Returnability, ReturnView } from "./types";

export type { NotReturnable, ReturnableLine, Returnability, ReturnLineView, ReturnView } from "./types";

/**
 * What a shopper may return and asking for it (issue 32, decision 029). A return is for a paid
 * order (in part refunded is still paid) that was DELIVERED, within the shop's `returnWindowDays`
 * of its delivery: goods on their way cannot come back yet, and the window needs a start the
 * shopper and staff both see. A line's returnable units are what was bought less what is refunded
 * already; an order has one open return at a time.
 */

/** Statuses of a return that still holds its units (they cannot be asked for again). */
export const OPEN_RETURN_STATUSES: readonly ReturnStatus[] = ["requested", "approved", "received"];
/** At most this many lines per return: each adds five bound parameters to the request's INSERT (D1: 100). */
export const MAX_RETURN_LINES = 15;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The returns of these orders' ids (or of one order), newest first, with their lines named as sold. */
export async function returnViews(db: Database, where: { orderId: string } | { ids: string[] }): Promise<ReturnView[]> {
  const rows =
    "orderId" in where
      ? await db.select().from(returnRequests).where(eq(returnRequests.orderId, where.orderId)).orderBy(desc(returnRequests.createdAt))
      : where.ids.length
        ? await db.select().from(returnRequests).where(inList(returnRequests.id, where.ids)).orderBy(desc(returnRequests.createdAt))
        : [];
  if (rows.length === 0) return [];
  const lines = await db
    .select({ line: returnLines, name: orderLines.name, options: orderLines.optionValues })
    .from(returnLines)
    .innerJoin(orderLines, and(eq(orderLines.orderId, returnLines.orderId), eq(orderLines.variantId, returnLines.variantId)))
    .where(
      inList(
        returnLines.returnId,
        rows.map((r) => r.id),
      ),
    );
  return rows.map((r) =>
    toView(
      r,
      lines.filter((l) => l.line.returnId === r.id),
    ),
  );
}

function toView(r: ReturnRequestRow, lines: { line: typeof returnLines.$inferSelect; name: string; options: string }[]): ReturnView {
  return {
    id: r.id,
    orderId: r.orderId,
    status: r.status,
    reason: r.reason,
    refusalReason: r.refusalReason,
    lines: lines.map(({ line, name, options }) => ({
      productId: line.productId,
      variantId: line.variantId,
      name,
      options: parseOptionValues(options),
      quantity: line.quantity,
      restock: line.restock,
    })),
    refundCents: r.refundCents,
    createdAt: r.createdAt,
    decidedAt: r.decidedAt,
    receivedAt: r.receivedAt,
    refundedAt: r.refundedAt,
  };
}

/** One return by id, or null. */
export async function findReturn(db: Database, id: string): Promise<ReturnView | null> {
  if (id.length > 100) return null;
  const [found] = await returnViews(db, { ids: [id] });
  return found ?? null;
}

/** What this order's shopper may return now (`windowDays`: the shop's setting; 0 turns returns off). */
export async function returnability(db: Database, order: OrderRow, windowDays: number, now = Date.now()): Promise<Returnability> {
  const [lines, refunded, open] = await Promise.all([
    db.select().from(orderLines).where(eq(orderLines.orderId, order.id)),
    db
      .select({ variantId: orderRefundLines.variantId, units: sql<number>`SUM(${orderRefundLines.quantity})` })
      .from(orderRefundLines)
      .where(eq(orderRefundLines.orderId, order.id))
      .groupBy(orderRefundLines.variantId),
    db
      .select({ id: returnRequests.id })
      .from(returnRequests)
      .where(and(eq(returnRequests.orderId, order.id), inArray(returnRequests.status, [...OPEN_RETURN_STATUSES])))
      .limit(1),
  ]);
  const done = new Map(refunded.map((r) => [r.variantId, Number(r.units)]));
  const returnable = lines.map((l) => ({
    productId: l.productId,
    variantId: l.variantId,
    name: l.name,
    options: parseOptionValues(l.optionValues),
    bought: l.quantity,
    returnable: Math.max(0, l.quantity - (done.get(l.variantId) ?? 0)),
  }));
  const deliveredAt = order.fulfilment === "delivered" && order.deliveredAt ? Date.parse(order.deliveredAt) : null;
  const closes = deliveredAt === null ? null : deliveredAt + windowDays * DAY_MS;
  const refusal: NotReturnable | null =
    order.status !== "paid"
      ? "not_paid"
      : closes === null
        ? "not_delivered"
        : windowDays <= 0
          ? "returns_disabled"
          : now > closes
            ? "window_closed"
            : open.length > 0
              ? "return_open"
              : returnable.every((l) => l.returnable === 0)
                ? "nothing_left"
                : null;
  return { refusal, closesAt: closes === null ? null : new Date(closes).toISOString(), lines: returnable };
}

const REFUSALS: Record<NotReturnable, [409, string, string]> = {
  not_paid: [409, "order_not_returnable", "Only a paid order can be returned (this one is not paid, or refunded in full)."],
  not_delivered: [409, "order_not_delivered", "Items can be returned once the order is delivered."],
  returns_disabled: [409, "returns_disabled", "This shop takes no returns."],
  window_closed: [409, "return_window_closed", "The time to return items of this order is over."],
  return_open: [409, "return_already_open", "This order has a return under way: wait until it is settled."],
  nothing_left: [409, "return_exceeds_quantity", "Every item of this order is refunded or returned already."],
};

export function notReturnableProblem(refusal: NotReturnable): ProblemError {
  const [status, code, detail] = REFUSALS[refusal];
  return new ProblemError(status, code, detail);
}

export interface ReturnRequestInput {
  lines: { variantId: string; quantity: number }[];
  reason: string;
}

/**
 * Asks to return units of an order's lines (the caller proved the order is the shopper's). The
 * request row is written only if, in the same statement, the order is still paid and delivered,
 * no other return of it is open and every line still has the units (bought less refunded); its
 * lines follow in the batch, only with it. Audited (fail closed) and mailed.
 * Refusals: 409 as `returnability` says, 422 `return_line_not_found`, 409 `return_exceeds_quantity`.
 */
export async function requestReturn(
  env: Env,
  db: Database,
  order: OrderRow,
  actor: { id: string; ip: string | null },
  input: ReturnRequestInput,
  windowDays: number,
): Promise<ReturnView> {
  const found = await returnability(db, order, windowDays);
  if (found.refusal) throw notReturnableProblem(found.refusal);
  const wanted = input.lines.filter((l) => l.quantity > 0);
  if (wanted.length === 0) throw new ProblemError(422, "return_lines_required", "Choose at least one item to return.");
  const seen = new Set<string>();
  const planned = wanted.map((want) => {
    const line = found.lines.find((l) => l.variantId === want.variantId);
    if (!line || seen.has(line.variantId))
      throw new ProblemError(422, "return_line_not_found", "This order has no such line to return (or it is named twice).");
    seen.add(line.variantId);
    if (want.quantity > line.returnable)
      throw new ProblemError(409, "return_exceeds_quantity", `At most ${line.returnable} of "${line.name}" can be returned.`);
    return { ...line, quantity: want.quantity };
  });
  const id = `ret_${crypto.randomUUID().replaceAll("-", "")}`;
  await requireAudit(env, {
    actor: actor.id,
    ip: actor.ip,
    action: "return.requested",
    subject: order.id,
    detail: { returnId: id, lines: planned.map((l) => ({ variantId: l.variantId, quantity: l.quantity })) },
  });
  const d1 = db.$client;
  const enough = planned
    .map(
      () =>
        " AND (SELECT quantity FROM order_lines WHERE order_id = ? AND variant_id = ?) - (SELECT COALESCE(SUM(quantity), 0) FROM order_refund_lines WHERE order_id = ? AND variant_id = ?) >= ?",
    )
    .join("");
  const header = d1
    .prepare(
      `INSERT INTO return_requests (id, order_id, status, reason, requested_by)
       SELECT ?, ?, 'requested', ?, ?
       WHERE EXISTS (SELECT 1 FROM orders WHERE id = ? AND status = 'paid' AND fulfilment = 'delivered')
         AND NOT EXISTS (SELECT 1 FROM return_requests WHERE order_id = ? AND status IN ('requested', 'approved', 'received'))${enough}`,
    )
    .bind(id, order.id, input.reason, order.userId, order.id, order.id, ...planned.flatMap((l) => [order.id, l.variantId, order.id, l.variantId, l.quantity]));
  const rows = planned.map((l) =>
    d1
      .prepare(
        `INSERT INTO return_lines (return_id, order_id, product_id, variant_id, quantity, restock)
         SELECT ?, ?, ?, ?, ?, 1 WHERE EXISTS (SELECT 1 FROM return_requests WHERE id = ?)`,
      )
      .bind(id, order.id, l.productId, l.variantId, l.quantity, id),
  );
  const [inserted] = await d1.batch([header, ...rows]);
  if ((inserted?.meta.changes ?? 0) === 0) {
    // Something changed between the read and the write (another return, a refund): say what.
    const now = await returnability(db, order, windowDays);
    throw notReturnableProblem(now.refusal ?? "nothing_left");
  }
  const view = (await findReturn(db, id))!;
  await queueReturnMail(env, db, order, view);
  return view;
}
