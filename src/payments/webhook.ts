import { auditRefusalWithBudget } from "../accounts/login-guard";
import { addressKeyOf } from "../platform/client-address";
import { recordAudit } from "../audit/audit";
import { applyPaymentEvent } from "../checkout/payment-events";
import type { Config } from "../platform/config";
import { StripeEventEnvelope } from "./events";
import { verifyStripeSignature } from "./signature";

/** The webhook's answer, before it is turned into a response. */
export type WebhookOutcome =
  | { status: 200; body: { received: true } }
  | { status: 400 | 403 | 503; code: "signature_invalid" | "livemode_mismatch" | "malformed_event" | "forbidden_source" | "order_not_ready"; detail: string };

/** One delivery as the route (or the simulator) hands it over: raw body, never parsed yet. */
export interface WebhookDelivery {
  rawBody: string;
  signature: string | null | undefined;
  /** CF-Connecting-IP of the caller; null for the simulator's internal delivery. */
  ip: string | null;
  /** False only for the simulator's own in-process delivery (there is no network caller). */
  fromNetwork: boolean;
}

/** The signing secrets accepted now: current and, during rotation, previous (M-007). */
export function webhookSecrets(config: Config): string[] {
  return [config.STRIPE_WEBHOOK_SECRET, config.STRIPE_WEBHOOK_SECRET_PREVIOUS].filter((s): s is string => !!s);
}

/** Events must say livemode true exactly when the shop runs on a live Stripe key. */
export function expectedLivemode(config: Config): boolean {
  return config.PAYMENTS_PROVIDER === "stripe" && /^(sk|rk)_live_/.test(config.STRIPE_SECRET_KEY ?? "");
}

/** The optional allow-list of webhook source addresses (M-010); empty means any. */
export function allowedSources(config: Config): string[] {
  return (config.STRIPE_WEBHOOK_IPS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Handles one Stripe webhook delivery (T05, T06). Order matters: source allow-list, then the
 * signature over the raw bytes, and only then JSON.parse; a verified event is applied at most
 * once per id by `applyPaymentEvent`. The route and the payment simulator both call this, so
 * the simulator's events pass the same verification as Stripe's.
 */
export async function handleStripeWebhook(env: Env, config: Config, delivery: WebhookDelivery): Promise<WebhookOutcome> {
  const sources = allowedSources(config);
  if (delivery.fromNetwork && sources.length > 0 && !sources.includes(delivery.ip ?? "")) {
    await auditRefusalWithBudget(
      env,
      `${addressKeyOf(delivery.ip)}:webhook_source`,
      () => recordAudit(env, { actor: "anonymous", action: "payment.webhook_source_refused", ip: delivery.ip }),
      null,
    );
    return { status: 403, code: "forbidden_source", detail: "This address may not deliver webhooks." };
  }
  const verified = await verifyStripeSignature(delivery.rawBody, delivery.signature, webhookSecrets(config));
  if (!verified) {
    // Audited, but at most 5 times per 15 minutes per source: unsigned junk must not flood the log.
    await auditRefusalWithBudget(
      env,
      `${addressKeyOf(delivery.ip)}:webhook_signature`,
      () =>
        recordAudit(env, {
          actor: "anonymous",
          action: "payment.webhook_signature_invalid",
          detail: { signaturePresent: !!delivery.signature, bytes: delivery.rawBody.length },
          ip: delivery.ip,
        }),
      null,
    );
    return { status: 400, code: "signature_invalid", detail: "The Stripe-Signature header does not verify." };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(delivery.rawBody);
  } catch {
    return { status: 400, code: "malformed_event", detail: "The event is not JSON." };
  }
  const event = StripeEventEnvelope.safeParse(parsed);
  if (!event.success) return { status: 400, code: "malformed_event", detail: "The event is not a Stripe event." };
  if (event.data.livemode !== expectedLivemode(config)) {
    // A correctly signed event from the other mode means a misconfigured endpoint: refuse and say so.
    await recordAudit(env, {
      actor: "stripe",
      action: "payment.livemode_mismatch",
      detail: { eventId: event.data.id, livemode: event.data.livemode },
      ip: delivery.ip,
    });
    return { status: 400, code: "livemode_mismatch", detail: "The event's mode does not match this shop's Stripe key." };
  }
  const result = await applyPaymentEvent(env, config, event.data);
  console.log(JSON.stringify({ level: "info", msg: "stripe_webhook", eventId: event.data.id, type: event.data.type, result: result.kind }));
  if (result.kind === "not_ready") {
    // Non-2xx: Stripe redelivers the same event (with backoff) until the order is ready.
    return { status: 503, code: "order_not_ready", detail: "The order for this session is still being created; retry later." };
  }
  return { status: 200, body: { received: true } };
}
