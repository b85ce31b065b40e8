// The webhook queue's consumer: one signed POST per delivery, retried by the queue with backoff,
// and after the queue's last retry the dead-letter queue's consumer marks the delivery dead.
import { and, eq, notInArray, sql } from "drizzle-orm";
import { getDb, sqlNowIso } from "../db/client";
import { loadConfig } from "../platform/config";
import { checkEndpointUrl } from "./address-policy";
import { webhookDeliveries, webhookEndpoints, webhookEvents, type WebhookEndpointRow } from "./schema";
import { decryptSecret, signatureHeader } from "./secrets";

/** The queues this consumer serves (wrangler.toml): deliveries and their dead letters. */
export const WEBHOOK_QUEUE = "bastion-webhooks";
export const WEBHOOK_DEAD_LETTER_QUEUE = "bastion-webhooks-dlq";

/** How long a receiver has to answer; a slow receiver is a failed attempt, retried later. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** How much of an answer is kept for staff to read: a short excerpt, never the whole body. */
export const RESPONSE_EXCERPT_BYTES = 256;

/** Seconds before the next attempt: 30 s, 1 min, 2 min … capped at an hour (the queue gives up after max_retries). */
export function deliveryRetryDelaySeconds(attempts: number): number {
  return Math.min(3600, 30 * 2 ** Math.max(0, attempts - 1));
}

/** Whether a batch is the webhook queue's (or its dead letters'). */
export function isWebhookQueue(queue: string): boolean {
  return queue === WEBHOOK_QUEUE || queue === WEBHOOK_DEAD_LETTER_QUEUE;
}

/** The first bytes of an answer as text; the rest is never read. */
async function excerptOf(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(bytes.slice(0, RESPONSE_EXCERPT_BYTES)) || null;
}

/** The secrets that sign now: the current one, and the previous one while its overlap lasts. */
async function signingSecrets(env: Env, endpoint: WebhookEndpointRow, now: Date): Promise<string[]> {
  const secrets = [await decryptSecret(env, endpoint.id, endpoint.secretCiphertext)];
  if (endpoint.previousSecretCiphertext && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now.toISOString()) {
    secrets.push(await decryptSecret(env, endpoint.id, endpoint.previousSecretCiphertext));
  }
  return secrets;
}

type Outcome = { kind: "done" } | { kind: "retry"; delaySeconds: number };

/** One delivery attempt: loads the row, checks the address again, signs, posts, records. */
async function attemptDelivery(env: Env, deliveryId: string, attempt: number): Promise<Outcome> {
  const db = getDb(env.DB);
  const [row] = await db
    .select({ delivery: webhookDeliveries, event: webhookEvents, endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, deliveryId))
    .limit(1);
  // Deleted endpoint, or a message repeated after the delivery finished (queues deliver at least once).
  if (!row || !["pending", "retrying"].includes(row.delivery.status)) return { kind: "done" };
  const { delivery, event, endpoint } = row;
  const settle = (status: "skipped" | "refused", lastError: string) =>
    db.update(webhookDeliveries).set({ status, lastError, nextAttemptAt: null, updatedAt: sqlNowIso }).where(eq(webhookDeliveries.id, delivery.id));
  if (!endpoint.enabled) {
    await settle("skipped", "endpoint disabled");
    return { kind: "done" };
  }
  const loaded = loadConfig(env);
  if (!loaded.ok) return { kind: "retry", delaySeconds: 300 };
  // T11: the stored URL is checked again before every request (rules may have tightened, or the
  // row was written by something other than the API).
  const verdict = checkEndpointUrl(endpoint.url, { allowLoopbackHttp: loaded.config.devRoutes, ownOrigin: loaded.config.PUBLIC_ORIGIN });
  if (!verdict.ok) {
    await settle("refused", `address refused: ${verdict.reason}`);
    console.error(JSON.stringify({ level: "warn", msg: "webhook_address_refused", delivery: delivery.id, endpoint: endpoint.id, reason: verdict.reason }));
    return { kind: "done" };
  }
  const now = new Date();
  const timestamp = Math.floor(now.getTime() / 1000);
  const body = JSON.stringify({ type: event.type, timestamp: event.createdAt, data: JSON.parse(event.data) });
  let status: number | null = null;
  let excerpt: string | null = null;
  let error: string | null = null;
  try {
    const res = await fetch(verdict.url.href, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Bastion-Webhooks/1",
        "webhook-id": event.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signatureHeader(await signingSecrets(env, endpoint, now), event.id, timestamp, body),
      },
      body,
      // A redirect is an answer, never followed: it could point anywhere, private addresses included.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    status = res.status;
    excerpt = await excerptOf(res);
    if (status >= 300) error = status < 400 ? "redirect not followed" : `answered ${status}`;
  } catch (thrown) {
    error = thrown instanceof Error && thrown.name === "TimeoutError" ? "timed out" : "request failed";
  }
  const delivered = error === null;
  const delaySeconds = deliveryRetryDelaySeconds(attempt);
  await db
    .update(webhookDeliveries)
    .set({
      status: delivered ? "delivered" : "retrying",
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      lastStatusCode: status,
      lastError: error,
      responseExcerpt: excerpt,
      lastAttemptAt: now.toISOString(),
      nextAttemptAt: delivered ? null : new Date(now.getTime() + delaySeconds * 1000).toISOString(),
      updatedAt: sqlNowIso,
    })
    .where(and(eq(webhookDeliveries.id, delivery.id), notInArray(webhookDeliveries.status, ["delivered", "dead"])));
  // Ids and codes only: never the secret, the signature or the body.
  console.log(
    JSON.stringify({
      level: delivered ? "info" : "warn",
      msg: delivered ? "webhook_delivered" : "webhook_delivery_failed",
      delivery: delivery.id,
      endpoint: endpoint.id,
      type: event.type,
      attempt,
      status,
      error,
    }),
  );
  return delivered ? { kind: "done" } : { kind: "retry", delaySeconds };
}

/** The dead-letter queue's consumer: the queue gave up on these deliveries after its last retry. */
async function markDead(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = getDb(env.DB);
  for (const message of batch.messages) {
    const id = (message.body as { deliveryId?: unknown } | null)?.deliveryId;
    if (typeof id === "string") {
      await db
        .update(webhookDeliveries)
        .set({ status: "dead", nextAttemptAt: null, updatedAt: sqlNowIso })
        .where(and(eq(webhookDeliveries.id, id), notInArray(webhookDeliveries.status, ["delivered", "skipped", "refused"])));
    }
    console.error(JSON.stringify({ level: "error", msg: "webhook_dead_lettered", delivery: typeof id === "string" ? id : null, attempts: message.attempts }));
    message.ack();
  }
}

/** The webhook queues' consumer (src/index.ts routes batches here by queue name). */
export async function handleWebhookBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  if (batch.queue === WEBHOOK_DEAD_LETTER_QUEUE) return markDead(batch, env);
  for (const message of batch.messages) {
    const id = (message.body as { deliveryId?: unknown } | null)?.deliveryId;
    if (typeof id !== "string") {
      console.error(JSON.stringify({ level: "error", msg: "webhook_message_invalid", id: message.id }));
      message.ack();
      continue;
    }
    try {
      const outcome = await attemptDelivery(env, id, message.attempts);
      if (outcome.kind === "done") message.ack();
      else message.retry({ delaySeconds: outcome.delaySeconds });
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "webhook_consumer_failed", delivery: id, error: String(error) }));
      message.retry({ delaySeconds: deliveryRetryDelaySeconds(message.attempts) });
    }
  }
}
