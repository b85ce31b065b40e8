import { and, eq, sql } from "drizzle-orm";
import { paymentEvents } from "../checkout/schema";
import type { Database } from "../db/client";
import { isOpenDispute } from "./payment-state";
import { RefundRefused } from "./provider-types";
import { findSimulatorSession, randomStripeSuffix, simulatorOutcome, type SimulatorSession } from "./simulator-store";

/**
 * What "Stripe" (the local simulator) knows about one payment: the Checkout Session, the intent's
 * status, the charge with its refunds, and disputes, in Stripe's own formats. Stripe changes this
 * first and then sends an event; the shop reads it back through `readPayment`, exactly as it reads
 * Stripe's API. Tests and the dev pages change it the same way (`recordEventInWorld`), so events can
 * be delivered late, twice or out of order while the world stays what Stripe would say.
 */
export interface SimulatorWorld {
  session: Record<string, unknown> & { id: string; status: string };
  intentStatus: string | null;
  charge: SimulatorCharge | null;
  disputes: (Record<string, unknown> & { id: string; status: string })[];
  /** Raw bodies of the events delivered about this payment, oldest first (the dev page replays them). */
  events: string[];
}

export interface SimulatorCharge {
  id: string;
  amount: number;
  amount_refunded: number;
  refunds: { id: string; amount: number; status: string; metadata: Record<string, string> }[];
}

const WORLD_KIND = "simulator.world";
/** The dev page's replay keeps the last few events, not a history. */
const EVENTS_KEPT = 12;

/** The Stripe-format session of a simulated session nobody has paid or expired yet. */
function openSession(s: SimulatorSession): SimulatorWorld["session"] {
  return {
    id: s.id,
    object: "checkout.session",
    status: "open",
    payment_status: "unpaid",
    amount_total: s.amountTotal,
    currency: s.currency,
    client_reference_id: s.orderId,
    metadata: { orderId: s.orderId },
    payment_intent: null,
    expires_at: s.expiresAt,
  };
}

async function rowOf(db: Database, sessionId: string): Promise<SimulatorWorld | null> {
  const [row] = await db
    .select()
    .from(paymentEvents)
    .where(and(eq(paymentEvents.id, `${sessionId}:world`), eq(paymentEvents.kind, WORLD_KIND)))
    .limit(1);
  return row?.detail ? (JSON.parse(row.detail) as SimulatorWorld) : null;
}

/** The world of a session: stored, or (a session nothing has happened to yet) open. Null for an unknown session. */
export async function worldOf(db: Database, sessionId: string): Promise<SimulatorWorld | null> {
  const stored = await rowOf(db, sessionId);
  if (stored) return stored;
  const session = await findSimulatorSession(db, sessionId);
  if (!session) return null;
  const world: SimulatorWorld = { session: openSession(session), intentStatus: null, charge: null, disputes: [], events: [] };
  // A session closed before worlds existed (an older dev database): expired stays expired.
  if ((await simulatorOutcome(db, sessionId)) === "expired") world.session.status = "expired";
  return world;
}

/** The session id whose payment intent is `paymentIntentId`, or null. */
export async function sessionOfIntent(db: Database, paymentIntentId: string): Promise<string | null> {
  const [row] = await db
    .select({ id: paymentEvents.id })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.kind, WORLD_KIND), sql`json_extract(${paymentEvents.detail}, '$.session.payment_intent') = ${paymentIntentId}`))
    .limit(1);
  return row ? row.id.replace(/:world$/, "") : null;
}

export async function saveWorld(db: Database, world: SimulatorWorld): Promise<void> {
  const detail = JSON.stringify(world);
  // No order id: "Stripe's" books are not part of any order's timeline.
  await db
    .insert(paymentEvents)
    .values({ id: `${world.session.id}:world`, orderId: "", kind: WORLD_KIND, detail })
    .onConflictDoUpdate({ target: paymentEvents.id, set: { detail } });
}

type EventObject = Record<string, unknown>;

function intentOf(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { id?: unknown }).id === "string") return (value as { id: string }).id;
  return null;
}

/** What Stripe's state is after the change an event reports (pure). */
export function applyEventToWorld(world: SimulatorWorld, type: string, object: EventObject): SimulatorWorld {
  const next: SimulatorWorld = structuredClone(world);
  if (type.startsWith("checkout.session.")) {
    const completed = type !== "checkout.session.expired";
    // Stripe expires only open sessions: an `expired` about a completed one changes nothing there.
    if (!completed && world.session.status === "complete") return next;
    next.session = { ...(object as SimulatorWorld["session"]), status: completed ? "complete" : "expired" };
    const paid = object.payment_status === "paid";
    if (type === "checkout.session.async_payment_failed") next.intentStatus = "requires_payment_method";
    else if (paid) next.intentStatus = "succeeded";
    else if (completed && object.payment_status === "unpaid") next.intentStatus = "processing";
    const amount = Number(object.amount_total ?? 0);
    if (paid && amount > 0 && !next.charge) next.charge = { id: `ch_test_${randomStripeSuffix()}`, amount, amount_refunded: 0, refunds: [] };
  } else if (type === "charge.refunded" && next.charge) {
    const refunded = Number(object.amount_refunded ?? 0);
    const known = next.charge.refunds.reduce((sum, r) => sum + r.amount, 0);
    // A refund the world does not know yet (made in the Dashboard, as far as the shop can tell).
    if (refunded > known) next.charge.refunds.push({ id: `re_test_${randomStripeSuffix()}`, amount: refunded - known, status: "succeeded", metadata: {} });
    next.charge.amount_refunded = Math.max(next.charge.amount_refunded, refunded);
  } else if (type.startsWith("charge.dispute.")) {
    const dispute = object as SimulatorWorld["disputes"][number];
    next.disputes = [...next.disputes.filter((d) => d.id !== dispute.id), dispute];
  }
  return next;
}

/** The world an event is about: by its session, or by the payment intent a charge or dispute names. */
async function worldForEvent(db: Database, type: string, object: EventObject): Promise<SimulatorWorld | null> {
  if (type.startsWith("checkout.session.")) {
    // A session "Stripe" made without the simulator's checkout (a test's order) starts from the event.
    const id = String(object.id);
    return (await worldOf(db, id)) ?? { session: { id, status: "open" }, intentStatus: null, charge: null, disputes: [], events: [] };
  }
  const session = await sessionOfIntent(db, intentOf(object.payment_intent) ?? "");
  return session ? worldOf(db, session) : null;
}

/**
 * Stripe changes its state, then notifies: the world takes the change an event reports (unless
 * `stale`: an old event delivered again changes nothing at Stripe) and remembers the event.
 */
export async function recordEventInWorld(db: Database, rawBody: string, opts: { stale?: boolean } = {}): Promise<void> {
  const event = JSON.parse(rawBody) as { type: string; data: { object: EventObject } };
  const world = await worldForEvent(db, event.type, event.data.object);
  if (!world) return;
  const next = opts.stale ? world : applyEventToWorld(world, event.type, event.data.object);
  next.events = [...next.events, rawBody].slice(-EVENTS_KEPT);
  await saveWorld(db, next);
}

/**
 * A refund at "Stripe": refused like Stripe refuses it (a disputed charge, more than is left),
 * the same idempotency key gives the same refund. `claimId` is the shop's (null: the Dashboard).
 */
export async function refundInWorld(
  db: Database,
  sessionId: string,
  input: { amountCents: number; idempotencyKey: string | null; claimId: string | null },
): Promise<{ refundId: string; world: SimulatorWorld }> {
  const world = await worldOf(db, sessionId);
  const charge = world?.charge;
  if (!world || !charge) throw new RefundRefused("charge_missing", "This payment has no charge to refund.");
  const replay = input.idempotencyKey ? charge.refunds.find((r) => r.metadata.idempotencyKey === input.idempotencyKey) : undefined;
  if (replay) return { refundId: replay.id, world };
  if (world.disputes.some((d) => isOpenDispute(d.status))) throw new RefundRefused("charge_disputed", "The charge is disputed.");
  if (input.amountCents > charge.amount - charge.amount_refunded)
    throw new RefundRefused("amount_too_large", "Refund amount is greater than the unrefunded amount on the charge.");
  const refund = {
    id: `re_test_${randomStripeSuffix()}`,
    amount: input.amountCents,
    status: "succeeded",
    metadata: {
      ...(input.claimId ? { claimId: input.claimId } : {}),
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
    },
  };
  charge.refunds.push(refund);
  charge.amount_refunded += input.amountCents;
  await saveWorld(db, world);
  return { refundId: refund.id, world };
}

/** The world as Stripe's API answers a session retrieve with the intent, charge and refunds expanded. */
export function worldAsRetrieved(world: SimulatorWorld): Record<string, unknown> {
  const pi = intentOf(world.session.payment_intent);
  const charge = world.charge;
  return {
    ...world.session,
    payment_intent: pi
      ? {
          id: pi,
          object: "payment_intent",
          status: world.intentStatus ?? "requires_payment_method",
          metadata: (world.session.metadata as Record<string, string> | undefined) ?? {},
          latest_charge: charge
            ? {
                id: charge.id,
                object: "charge",
                amount: charge.amount,
                amount_refunded: charge.amount_refunded,
                disputed: world.disputes.length > 0,
                refunds: { object: "list", data: charge.refunds.map((r) => ({ ...r, object: "refund" })) },
              }
            : null,
        }
      : null,
  };
}
