import { and, eq, inArray, sql } from "drizzle-orm";
import { requireAudit } from "../audit/audit";
import { orderReturnedEvent } from "../checkout/order-events";
import { orders, type OrderRow } from "../checkout/schema";
import { sqlNowIso, type Database } from "../db/client";
import { afterShopEvents, shopEventStatements } from "../integrations/events";
import { ProblemError } from "../platform/problem";
import { queueReturnMail } from "./return-mail";
import { findReturn, type ReturnView } from "./returns";
import { returnLines, returnRequests, type ReturnStatus } from "./schema";

/**
 * Staff's steps of a return (issue 32, decision 029), forward only: requested → approved | refused,
 * approved → refused | received, received → refunded. Each step is one conditional UPDATE on the
 * status it starts from, so two staff at once (or a double click) make one step; the audit event
 * is on the record before it (fail closed) and the shopper is mailed after it.
 */

export interface StaffActor {
  id: string;
  ip: string | null;
}

/** A return and its order, or 404 `return_not_found`. */
export async function returnAndOrder(db: Database, returnId: string): Promise<{ ret: ReturnView; order: OrderRow }> {
  const ret = await findReturn(db, returnId);
  const [order] = ret ? await db.select().from(orders).where(eq(orders.id, ret.orderId)).limit(1) : [];
  if (!ret || !order) throw new ProblemError(404, "return_not_found", "No return has this id.");
  return { ret, order };
}

function wrongStatus(ret: ReturnView, step: string, from: readonly ReturnStatus[]): ProblemError {
  return new ProblemError(409, "return_wrong_status", `Only a return that is ${from.join(" or ")} can be ${step}; this one is ${ret.status}.`);
}

/** Moves a return from one of `from` to `to` with `set`, audited first; 409 when it is (or meanwhile became) another status. */
async function step(
  env: Env,
  db: Database,
  actor: StaffActor,
  returnId: string,
  move: { from: readonly ReturnStatus[]; to: ReturnStatus; verb: string; set: Partial<typeof returnRequests.$inferInsert>; detail?: Record<string, unknown> },
  extra: (order: OrderRow, ret: ReturnView) => { statements: unknown[]; before?: unknown[] } = () => ({ statements: [] }),
): Promise<ReturnView> {
  const { ret, order } = await returnAndOrder(db, returnId);
  if (!move.from.includes(ret.status)) throw wrongStatus(ret, move.verb, move.from);
  const more = extra(order, ret);
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: `return.${move.to}`, subject: order.id, detail: { returnId, ...move.detail } });
  const update = db
    .update(returnRequests)
    .set({ ...move.set, status: move.to, updatedAt: sql`${sqlNowIso}` })
    .where(and(eq(returnRequests.id, returnId), inArray(returnRequests.status, [...move.from])))
    .returning({ id: returnRequests.id });
  const answers = await db.batch([...((more.before ?? []) as []), update, ...(more.statements as [])] as unknown as Parameters<typeof db.batch>[0]);
  const moved = answers[(more.before ?? []).length] as { id: string }[];
  if (moved.length === 0) throw new ProblemError(409, "return_wrong_status", "This return was changed a moment ago: look at it again.");
  if (more.statements.length) await afterShopEvents(env, answers);
  const after = (await findReturn(db, returnId))!;
  await queueReturnMail(env, db, order, after);
  return after;
}

const nowIso = (): string => new Date().toISOString();

export function approveReturn(env: Env, db: Database, actor: StaffActor, returnId: string): Promise<ReturnView> {
  return step(env, db, actor, returnId, { from: ["requested"], to: "approved", verb: "approved", set: { decidedBy: actor.id, decidedAt: nowIso() } });
}

/** Refuses a return that is not received yet, with the reason the shopper reads. */
export function refuseReturn(env: Env, db: Database, actor: StaffActor, returnId: string, reason: string): Promise<ReturnView> {
  const words = reason.trim();
  if (!words) throw new ProblemError(422, "refusal_reason_required", "Say why the return is refused: the shopper reads it.");
  return step(env, db, actor, returnId, {
    from: ["requested", "approved"],
    to: "refused",
    verb: "refused",
    set: { decidedBy: actor.id, decidedAt: nowIso(), refusalReason: words },
    detail: { reason: words },
  });
}

/**
 * Marks an approved return's goods received, with whether each line goes back on the shelf
 * (`restock`: by variant; a line not named is restocked). Records `order.returned` for
 * integrations in the same batch, only if the return moved (decision 023), once per return.
 */
export function receiveReturn(env: Env, db: Database, actor: StaffActor, returnId: string, restock: Record<string, boolean> = {}): Promise<ReturnView> {
  return step(
    env,
    db,
    actor,
    returnId,
    { from: ["approved"], to: "received", verb: "received", set: { receivedBy: actor.id, receivedAt: nowIso() }, detail: { restock } },
    (order, ret) => {
      const unknown = Object.keys(restock).filter((v) => !ret.lines.some((l) => l.variantId === v));
      if (unknown.length) throw new ProblemError(422, "return_line_not_found", "This return has no such line.");
      const lines = ret.lines.map((l) => ({ ...l, restock: restock[l.variantId] ?? true }));
      // The restock choices are written before the status moves, only while the return is still approved.
      const before = lines.map((l) =>
        db
          .update(returnLines)
          .set({ restock: l.restock })
          .where(
            and(
              eq(returnLines.returnId, returnId),
              eq(returnLines.variantId, l.variantId),
              sql`EXISTS (SELECT 1 FROM ${returnRequests} WHERE ${returnRequests.id} = ${returnId} AND ${returnRequests.status} = 'approved')`,
            ),
          ),
      );
      const event = orderReturnedEvent(order.id, {
        returnId,
        lines: lines.map((l) => ({ productId: l.productId, quantity: l.quantity, restocked: l.restock })),
        onlyIf: sql`EXISTS (SELECT 1 FROM return_requests r WHERE r.id = ${returnId} AND r.status = 'received')`,
      });
      return { before, statements: [...shopEventStatements(db, event)] };
    },
  );
}

/**
 * Records that a received return's refund was made (the caller made it through requestRefund with
 * the return's lines). A return refunded already answers as it is: a replayed refund is one refund.
 */
export async function markReturnRefunded(
  env: Env,
  db: Database,
  actor: StaffActor,
  returnId: string,
  refund: { refundId: string; amountCents: number },
): Promise<ReturnView> {
  const current = await findReturn(db, returnId);
  if (current?.status === "refunded") return current;
  return step(env, db, actor, returnId, {
    from: ["received"],
    to: "refunded",
    verb: "refunded",
    set: { refundedBy: actor.id, refundedAt: nowIso(), refundId: refund.refundId, refundCents: refund.amountCents },
    detail: { refundId: refund.refundId, amountCents: refund.amountCents },
  });
}
