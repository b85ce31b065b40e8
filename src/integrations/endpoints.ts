// Managing webhook endpoints (admins only, through src/admin): each change audited before it is
// made (fail closed), the signing secret returned once and stored only encrypted.
import { z } from "@hono/zod-openapi";
import { and, desc, eq, lt, or } from "drizzle-orm";
import { requireAudit } from "../audit/audit";
import { getDb, sqlNowIso, type Database } from "../db/client";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import { checkEndpointUrl, REFUSAL_TEXT } from "./address-policy";
import { SHOP_EVENT_TYPES } from "./events";
import { queueDelivery } from "./relay";
import { webhookDeliveries, webhookEndpoints, webhookEvents, type WebhookDeliveryRow, type WebhookEndpointRow } from "./schema";
import { encryptSecret, newSigningSecret } from "./secrets";

export interface EndpointManager {
  id: string;
  ip: string | null;
}

const EventList = z
  .array(z.enum(SHOP_EVENT_TYPES))
  .min(1)
  .max(SHOP_EVENT_TYPES.length)
  .transform((events) => [...new Set(events)]);

export const EndpointInput = z.object({ url: z.string().trim().min(1).max(2000), events: EventList });
export type EndpointInput = z.infer<typeof EndpointInput>;
export const EndpointPatch = z.object({ enabled: z.boolean().optional(), events: EventList.optional() });
export type EndpointPatch = z.infer<typeof EndpointPatch>;
export const RotateInput = z.object({
  /** How long the old secret keeps signing beside the new one (0: it stops at once). */
  overlapHours: z.number().int().min(0).max(168).default(24),
});

/** An endpoint as the API and pages show it: never its secret or ciphertext. */
export interface EndpointView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toEndpointView(row: WebhookEndpointRow): EndpointView {
  const overlap = row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date().toISOString() ? row.previousSecretExpiresAt : null;
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    enabled: row.enabled,
    previousSecretExpiresAt: overlap,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The one URL check of registration (T11): the delivery checks again with the same rule. */
function acceptedUrl(config: Config, raw: string): string {
  const verdict = checkEndpointUrl(raw, { allowLoopbackHttp: config.devRoutes, ownOrigin: config.PUBLIC_ORIGIN });
  if (!verdict.ok) {
    throw new ProblemError(422, "endpoint_url_refused", REFUSAL_TEXT[verdict.reason], { errors: [{ path: "url", message: verdict.reason }] });
  }
  return verdict.url.href;
}

async function endpointOr404(db: Database, id: string): Promise<WebhookEndpointRow> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).limit(1);
  if (!row) throw new ProblemError(404, "webhook_endpoint_not_found", "No webhook endpoint has this id.");
  return row;
}

export async function listEndpoints(db: Database): Promise<EndpointView[]> {
  return (await db.select().from(webhookEndpoints).orderBy(desc(webhookEndpoints.createdAt))).map(toEndpointView);
}

export async function findEndpoint(db: Database, id: string): Promise<EndpointView | null> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).limit(1);
  return row ? toEndpointView(row) : null;
}

/** Registers an endpoint; the secret in the answer is the only time anyone sees it. */
export async function createEndpointAudited(
  env: Env,
  config: Config,
  actor: EndpointManager,
  input: EndpointInput,
): Promise<{ endpoint: EndpointView; secret: string }> {
  const url = acceptedUrl(config, input.url);
  const id = `whe_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  const secret = newSigningSecret();
  const secretCiphertext = await encryptSecret(env, id, secret);
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: "webhook_endpoint.created", subject: id, detail: { url, events: input.events } });
  const [row] = await getDb(env.DB)
    .insert(webhookEndpoints)
    .values({ id, url, events: JSON.stringify(input.events), secretCiphertext, createdBy: actor.id })
    .returning();
  return { endpoint: toEndpointView(row!), secret };
}

/** Enables, disables or changes the events of an endpoint. */
export async function updateEndpointAudited(env: Env, actor: EndpointManager, id: string, patch: EndpointPatch): Promise<EndpointView> {
  const db = getDb(env.DB);
  const before = await endpointOr404(db, id);
  const action =
    patch.enabled === false ? "webhook_endpoint.disabled" : patch.enabled === true && !before.enabled ? "webhook_endpoint.enabled" : "webhook_endpoint.updated";
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action, subject: id, detail: { ...patch } });
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
      ...(patch.events ? { events: JSON.stringify(patch.events) } : {}),
      updatedAt: sqlNowIso,
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  if (!row) throw new ProblemError(404, "webhook_endpoint_not_found", "No webhook endpoint has this id.");
  return toEndpointView(row);
}

/** Deletes an endpoint and its delivery history; messages still on the queue find nothing and stop. */
export async function deleteEndpointAudited(env: Env, actor: EndpointManager, id: string): Promise<void> {
  const db = getDb(env.DB);
  const before = await endpointOr404(db, id);
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: "webhook_endpoint.deleted", subject: id, detail: { url: before.url } });
  await db.batch([db.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id)), db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id))]);
}

/**
 * A new secret; the old one keeps signing beside it for `overlapHours` (deliveries carry both
 * signatures meanwhile), so the receiver can switch without losing a delivery.
 */
export async function rotateSecretAudited(
  env: Env,
  actor: EndpointManager,
  id: string,
  overlapHours: number,
): Promise<{ endpoint: EndpointView; secret: string }> {
  const db = getDb(env.DB);
  const before = await endpointOr404(db, id);
  const secret = newSigningSecret();
  const secretCiphertext = await encryptSecret(env, id, secret);
  const expiresAt = overlapHours > 0 ? new Date(Date.now() + overlapHours * 3_600_000).toISOString() : null;
  await requireAudit(env, { actor: actor.id, ip: actor.ip, action: "webhook_endpoint.secret_rotated", subject: id, detail: { overlapHours } });
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      secretCiphertext,
      previousSecretCiphertext: expiresAt ? before.secretCiphertext : null,
      previousSecretExpiresAt: expiresAt,
      updatedAt: sqlNowIso,
    })
    // Two rotations at once: the second one's "previous" must be the first one's new secret.
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.secretCiphertext, before.secretCiphertext)))
    .returning();
  if (!row) throw new ProblemError(409, "webhook_endpoint_changed", "The secret was rotated a moment ago; rotate again if you need to.");
  return { endpoint: toEndpointView(row), secret };
}

/** A delivery as staff see it: what was sent, how it went, when the queue tries again. */
export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: WebhookDeliveryRow["status"];
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  responseExcerpt: string | null;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  createdAt: string;
}

function toDeliveryView(d: WebhookDeliveryRow, eventType: string): DeliveryView {
  const { id, eventId, status, attempts, lastStatusCode, lastError, responseExcerpt, nextAttemptAt, lastAttemptAt, createdAt } = d;
  return { id, eventId, eventType, status, attempts, lastStatusCode, lastError, responseExcerpt, nextAttemptAt, lastAttemptAt, createdAt };
}

/** A page of an endpoint's deliveries, newest first; the cursor is the last one's `createdAt|id`. */
export async function listDeliveries(
  db: Database,
  endpointId: string,
  cursor: string | null,
  limit: number,
): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  await endpointOr404(db, endpointId);
  const [at, id] = cursor ? cursor.split("|") : [null, null];
  const rows = await db
    .select({ d: webhookDeliveries, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpointId),
        at && id ? or(lt(webhookDeliveries.createdAt, at), and(eq(webhookDeliveries.createdAt, at), lt(webhookDeliveries.id, id))) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(({ d, type }) => toDeliveryView(d, type));
  const last = rows[limit - 1]?.d;
  return { items, nextCursor: rows.length > limit && last ? `${last.createdAt}|${last.id}` : null };
}

/**
 * Sends a delivery again, with the same `webhook-id` (receivers deduplicate on it): it becomes
 * pending with a fresh run of queue retries. A delivery already waiting for the queue is left alone.
 */
export async function redeliverAudited(env: Env, actor: EndpointManager, endpointId: string, deliveryId: string): Promise<DeliveryView> {
  const db = getDb(env.DB);
  await endpointOr404(db, endpointId);
  const [before] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)))
    .limit(1);
  if (!before) throw new ProblemError(404, "webhook_delivery_not_found", "This endpoint has no delivery with this id.");
  if (before.status === "pending") throw new ProblemError(409, "delivery_pending", "This delivery is waiting for its first attempt already.");
  await requireAudit(env, {
    actor: actor.id,
    ip: actor.ip,
    action: "webhook_delivery.redelivered",
    subject: deliveryId,
    detail: { endpoint: endpointId, from: before.status },
  });
  const [claimed] = await db
    .update(webhookDeliveries)
    .set({ status: "pending", queuedAt: sqlNowIso, nextAttemptAt: null, updatedAt: sqlNowIso })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, before.status), eq(webhookDeliveries.updatedAt, before.updatedAt)))
    .returning();
  if (!claimed) throw new ProblemError(409, "delivery_pending", "This delivery changed a moment ago; look again.");
  try {
    await queueDelivery(env, deliveryId);
  } catch (error) {
    // The relay's cron picks up a pending delivery with no message.
    await db.update(webhookDeliveries).set({ queuedAt: null }).where(eq(webhookDeliveries.id, deliveryId));
    throw error;
  }
  const [event] = await db.select({ type: webhookEvents.type }).from(webhookEvents).where(eq(webhookEvents.id, claimed.eventId));
  return toDeliveryView(claimed, event?.type ?? "");
}
