import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import worker from "../../src/index";
import { appRequest } from "./admin";
import { ORIGIN } from "./http";

/** JSON from the shop's origin with a staff member's cookie. */
export function staffSend(headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<Response> {
  return appRequest(path, {
    method,
    headers: { ...headers, origin: ORIGIN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export interface Registered {
  id: string;
  secret: string;
}

/** Registers an endpoint through the API as `admin` headers; fails the test unless 201. */
export async function registerEndpoint(admin: Record<string, string>, url: string, events: string[]): Promise<Registered> {
  const res = await staffSend(admin, "POST", "/api/admin/webhook-endpoints", { url, events });
  if (res.status !== 201) throw new Error(`register ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Registered;
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  response_excerpt: string | null;
  next_attempt_at: string | null;
  queued_at: string | null;
}

export async function deliveriesOf(endpointId: string): Promise<DeliveryRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY created_at, id")
    .bind(endpointId)
    .all<DeliveryRow>();
  return results;
}

export async function eventsWithKey(prefix: string): Promise<{ id: string; type: string; key: string; data: string }[]> {
  const { results } = await env.DB.prepare("SELECT id, type, key, data FROM webhook_events WHERE substr(key, 1, length(?1)) = ?1 ORDER BY created_at")
    .bind(prefix)
    .all<{
      id: string;
      type: string;
      key: string;
      data: string;
    }>();
  return results;
}

/** Runs the webhook queue's consumer on one message for a delivery, as the queue's `attempts`-th try. */
export async function consumeDelivery(deliveryId: string, attempts: number, queue = "bastion-webhooks") {
  const batch = createMessageBatch(queue, [{ id: crypto.randomUUID(), timestamp: new Date(), attempts, body: { deliveryId } }]);
  // The queue result names retried messages but not their delay: the consumer's own call says it.
  const retryDelays: (number | undefined)[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      retryDelays.push(options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return { batch, result: await getQueueResult(batch, ctx), retryDelays };
}

/**
 * Endpoints this file registered stop receiving (deleted rows): other files share the database,
 * and their paid orders must not start deliveries to a test's receivers.
 */
export async function forgetEndpoints(): Promise<void> {
  await env.DB.batch([env.DB.prepare("DELETE FROM webhook_deliveries"), env.DB.prepare("DELETE FROM webhook_endpoints")]);
}

/** Counts rows of a webhook table. */
export async function countOf(table: "webhook_endpoints" | "webhook_events" | "webhook_deliveries"): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
}
