import { and, eq, isNotNull, lte } from "drizzle-orm";
import { orders } from "../checkout/schema";
import { getDb, type Database } from "../db/client";
import type { Config } from "../platform/config";
import { buildCheckoutSessionEvent, type SessionEventInput } from "./events";
import { computeStripeSignature } from "./signature";
import { closeSimulatorSession, findSimulatorSession, randomStripeSuffix, simulatedTax, simulatorOutcome, type SimulatorSession } from "./simulator-store";
import { recordEventInWorld, sessionOfIntent, worldOf } from "./simulator-world";
import { handleStripeWebhook, type WebhookOutcome } from "./webhook";

/**
 * Development: "Stripe" delivers a Checkout Session event about a simulated session, signed with
 * STRIPE_WEBHOOK_SECRET and handed to the same handler as the network route, so it passes the same
 * verification as Stripe's. Null without a secret (nothing can be signed).
 */
export async function deliverSimulatorEvent(
  env: Env,
  config: Config,
  session: SimulatorSession,
  input: Pick<SessionEventInput, "type" | "paymentStatus" | "paymentIntentId" | "shippingDetails">,
): Promise<WebhookOutcome | null> {
  const secret = config.STRIPE_WEBHOOK_SECRET;
  if (!secret) return null;
  // What Stripe reports of a completed session: the breakdown, tax on top, the customer and the address.
  const completed = input.type !== "checkout.session.expired";
  const tax = completed ? simulatedTax(session) : 0;
  const event = buildCheckoutSessionEvent({
    ...input,
    sessionId: session.id,
    orderId: session.orderId,
    amountTotal: session.amountTotal + tax,
    currency: session.currency,
    expiresAt: session.expiresAt,
    amountDiscount: session.amountDiscount ?? 0,
    amountShipping: session.amountShipping ?? 0,
    amountTax: tax,
    ...(session.amountSubtotal !== undefined ? { amountSubtotal: session.amountSubtotal } : {}),
    shippingRateId: session.shippingRate ? `shr_test_${session.shippingRate.id.replace(/[^A-Za-z0-9]/g, "").slice(0, 24)}` : null,
    customerEmail: completed ? (session.customerEmail ?? null) : null,
    shippingDetails: completed ? (input.shippingDetails ?? null) : null,
  });
  return sendAsStripe(env, config, event);
}

/**
 * Development: "Stripe" changes its state as the event reports (the simulator's world,
 * simulator-world.ts), then sends the event, signed with STRIPE_WEBHOOK_SECRET, to the same handler
 * as the network route. `stale`: an old event sent again (Stripe's retries), the world unchanged.
 * Null without a secret (nothing can be signed).
 */
export async function sendAsStripe(env: Env, config: Config, event: Record<string, unknown>, opts: { stale?: boolean } = {}): Promise<WebhookOutcome | null> {
  const secret = config.STRIPE_WEBHOOK_SECRET;
  if (!secret) return null;
  const rawBody = JSON.stringify(event);
  await recordEventInWorld(getDb(env.DB), rawBody, opts);
  const t = Math.floor(Date.now() / 1000);
  return handleStripeWebhook(env, config, {
    rawBody,
    signature: `t=${t},v1=${await computeStripeSignature(secret, t, rawBody)}`,
    ip: null,
    fromNetwork: false,
  });
}

/** A Stripe-format event envelope around `object`. */
export function stripeEvent(type: string, object: Record<string, unknown>): Record<string, unknown> {
  return {
    id: `evt_${randomStripeSuffix()}`,
    object: "event",
    api_version: "2025-11-17.clover",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

/** The charge of a payment intent as Stripe's `charge.*` events carry it, from the simulator's world. */
export async function simulatedCharge(db: Database, paymentIntentId: string): Promise<Record<string, unknown> | null> {
  const sessionId = await sessionOfIntent(db, paymentIntentId);
  const world = sessionId ? await worldOf(db, sessionId) : null;
  if (!world?.charge) return null;
  const c = world.charge;
  return {
    id: c.id,
    object: "charge",
    amount: c.amount,
    amount_refunded: c.amount_refunded,
    currency: String(world.session.currency ?? "usd"),
    refunded: c.amount_refunded >= c.amount,
    disputed: world.disputes.length > 0,
    payment_intent: paymentIntentId,
    livemode: false,
  };
}

/**
 * Development: what Stripe does after a refund: a signed `charge.refunded` event carrying the
 * charge as it is now (everything refunded so far), through the verified path only.
 */
export async function deliverSimulatedRefund(env: Env, config: Config, paymentIntentId: string): Promise<WebhookOutcome | null> {
  const charge = await simulatedCharge(getDb(env.DB), paymentIntentId);
  if (!charge) return null;
  return sendAsStripe(env, config, stripeEvent("charge.refunded", charge), { stale: true });
}

/** The payment intent id of a simulated session, stable per session (Stripe keeps one per session). */
export function simulatorPaymentIntent(session: SimulatorSession): string {
  return `pi_test_${session.id.slice("cs_test_".length, "cs_test_".length + 24)}`;
}

/** Sessions the simulator expires per run. */
const EXPIRE_BATCH = 50;

/**
 * Development: what Stripe does at a session's `expires_at` — the session closes by itself and a
 * `checkout.session.expired` event is delivered. Runs from the Cron Trigger before the shop's
 * own sweeper, for simulator orders whose session time is up and which nothing closed yet.
 * Returns the session ids it expired.
 */
export async function expireDueSimulatorSessions(env: Env, config: Config, nowMs: number): Promise<string[]> {
  if (config.PAYMENTS_PROVIDER !== "simulator" || !config.devRoutes) return [];
  const db = getDb(env.DB);
  const due = await db
    .select({ sessionId: orders.paymentSessionId })
    .from(orders)
    .where(
      and(
        eq(orders.status, "pending"),
        eq(orders.provider, "simulator"),
        eq(orders.paymentInFlight, false),
        isNotNull(orders.paymentSessionId),
        lte(orders.paymentExpiresAt, Math.floor(nowMs / 1000)),
      ),
    )
    .limit(EXPIRE_BATCH);
  const expired: string[] = [];
  for (const { sessionId } of due) {
    const session = await findSimulatorSession(db, sessionId!);
    if (!session || (await simulatorOutcome(db, session.id))) continue;
    if (!(await closeSimulatorSession(db, session, "expired"))) continue;
    await deliverSimulatorEvent(env, config, session, { type: "checkout.session.expired", paymentStatus: "unpaid", paymentIntentId: null });
    expired.push(session.id);
  }
  return expired;
}
