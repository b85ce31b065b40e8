import { and, asc, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { paymentEvents } from "../checkout/schema";
import type { ShippingDetails } from "./events";
import { randomStripeSuffix } from "./stripe-ids";

export { randomStripeSuffix } from "./stripe-ids";

/** Kind of the payment_events row that holds a simulated Checkout Session (id = session id). */
export const SIMULATOR_SESSION_KIND = "simulator.session";
/** Kind of the row that records the one outcome a simulated session may have. */
export const SIMULATOR_OUTCOME_KIND = "simulator.outcome";

/** A simulated Checkout Session, as "Stripe" (the simulator) remembers it. */
export interface SimulatorSession {
  id: string;
  orderId: string;
  amountTotal: number;
  /** Lower-case ISO 4217, as Stripe sends it. */
  currency: string;
  successUrl: string;
  cancelUrl: string;
  expiresAt: number;
  createdAt: number;
  /** The breakdown Stripe would show (absent on sessions made before shipping and tax existed). */
  amountSubtotal?: number;
  amountDiscount?: number;
  amountShipping?: number;
  shippingRate?: { id: string; name: string } | null;
  customerEmail?: string | null;
  taxMode?: "off" | "automatic";
  shipToCountries?: string[];
}

/**
 * Stores a simulated session. One session per order: a retry with the same order returns the
 * session already made, as Stripe does for a repeated idempotency key. One D1 round trip: the
 * insert (only when the order has no session yet) and the read of the order's session, batched.
 */
export async function createSimulatorSession(db: Database, input: Omit<SimulatorSession, "id" | "createdAt"> & { idempotencyKey: string }): Promise<string> {
  const id = `cs_test_${randomStripeSuffix()}`;
  const { idempotencyKey: _key, ...fields } = input;
  const session: SimulatorSession = { id, ...fields, createdAt: Math.floor(Date.now() / 1000) };
  const [, existing] = await db.batch([
    // INSERT … SELECT of the values, only while the order has no simulated session.
    db.insert(paymentEvents).select(
      sql`SELECT ${id}, ${input.orderId}, ${SIMULATOR_SESSION_KIND}, ${JSON.stringify(session)}, strftime('%Y-%m-%dT%H:%M:%fZ','now')
            WHERE NOT EXISTS (SELECT 1 FROM ${paymentEvents} WHERE ${paymentEvents.orderId} = ${input.orderId} AND ${paymentEvents.kind} = ${SIMULATOR_SESSION_KIND})`,
    ),
    db
      .select({ id: paymentEvents.id })
      .from(paymentEvents)
      .where(and(eq(paymentEvents.orderId, input.orderId), eq(paymentEvents.kind, SIMULATOR_SESSION_KIND)))
      .orderBy(asc(paymentEvents.createdAt))
      .limit(1),
  ]);
  // The batch is atomic: the row this order's session is in exists now, ours or an earlier one.
  if (!existing[0]) throw new Error(`simulator session for ${input.orderId} was not stored`);
  return existing[0].id;
}

/** A simulated session by id, or null (unknown id, or a row that is not a simulator session). */
export async function findSimulatorSession(db: Database, sessionId: string): Promise<SimulatorSession | null> {
  if (!/^cs_test_[a-z0-9]{1,64}$/.test(sessionId)) return null;
  const [row] = await db
    .select()
    .from(paymentEvents)
    .where(and(eq(paymentEvents.id, sessionId), eq(paymentEvents.kind, SIMULATOR_SESSION_KIND)))
    .limit(1);
  if (!row?.detail) return null;
  return JSON.parse(row.detail) as SimulatorSession;
}

/**
 * How a simulated session closed: `paid` (card, or nothing to pay), `processing` (completed with a
 * delayed method: Stripe's `unpaid` completion, settled later) or `expired`.
 */
export type SimulatorOutcome = "paid" | "processing" | "expired";
/** How a delayed payment settled (Stripe's async_payment_succeeded / _failed). */
export type SimulatorSettlement = "succeeded" | "failed";

/** The outcome a session already had, or null while it is open. */
export async function simulatorOutcome(db: Database, sessionId: string): Promise<SimulatorOutcome | null> {
  const [row] = await db
    .select()
    .from(paymentEvents)
    .where(eq(paymentEvents.id, `${sessionId}:outcome`))
    .limit(1);
  return row?.detail === "paid" || row?.detail === "expired" || row?.detail === "processing" ? row.detail : null;
}

/** How a delayed payment of this session settled, or null while it has not. */
export async function simulatorSettlement(db: Database, sessionId: string): Promise<SimulatorSettlement | null> {
  const [row] = await db
    .select()
    .from(paymentEvents)
    .where(eq(paymentEvents.id, `${sessionId}:settled`))
    .limit(1);
  return row?.detail === "succeeded" || row?.detail === "failed" ? row.detail : null;
}

/**
 * Records one step of a session once: the row's primary key (`<session>:<step>`) refuses a second
 * one, so whether this call was the first is whether it inserted.
 */
async function recordSimulatorStepOnce(db: Database, session: SimulatorSession, step: "settled" | "outcome", detail: string): Promise<boolean> {
  const result = await db
    .insert(paymentEvents)
    .values({ id: `${session.id}:${step}`, orderId: session.orderId, kind: SIMULATOR_OUTCOME_KIND, detail })
    .onConflictDoNothing();
  return (result.meta.changes ?? 0) > 0;
}

/** Settles a delayed payment, once (the row's primary key refuses a second settlement). */
export function settleSimulatorSession(db: Database, session: SimulatorSession, settlement: SimulatorSettlement): Promise<boolean> {
  return recordSimulatorStepOnce(db, session, "settled", settlement);
}

/**
 * Closes a session with an outcome, once: the outcome row's primary key makes a second
 * submission (double click, replayed form) fail, so a session is paid or expired at most once.
 */
export function closeSimulatorSession(db: Database, session: SimulatorSession, outcome: SimulatorOutcome): Promise<boolean> {
  return recordSimulatorStepOnce(db, session, "outcome", outcome);
}

/** Kind of the row that keeps the address a simulated session was completed with (`<session>:address`). */
const SIMULATOR_ADDRESS_KIND = "simulator.address";

/** Remembers the shipping address given on the simulator page, so a later settlement event carries it too. */
export async function saveSimulatorAddress(db: Database, session: SimulatorSession, details: ShippingDetails): Promise<void> {
  await db
    .insert(paymentEvents)
    .values({ id: `${session.id}:address`, orderId: session.orderId, kind: SIMULATOR_ADDRESS_KIND, detail: JSON.stringify(details) })
    .onConflictDoNothing();
}

/** The address a simulated session was completed with, or null. */
export async function simulatorAddress(db: Database, sessionId: string): Promise<ShippingDetails | null> {
  const [row] = await db
    .select()
    .from(paymentEvents)
    .where(and(eq(paymentEvents.id, `${sessionId}:address`), eq(paymentEvents.kind, SIMULATOR_ADDRESS_KIND)))
    .limit(1);
  return row?.detail ? (JSON.parse(row.detail) as ShippingDetails) : null;
}

/**
 * The simulator's stand-in for Stripe Tax: 8 % of goods after discount plus shipping, rounded.
 * Only on sessions made with automatic tax; real rates come from Stripe.
 */
export function simulatedTax(session: SimulatorSession): number {
  if (session.taxMode !== "automatic") return 0;
  return Math.round((session.amountTotal * 8) / 100);
}
