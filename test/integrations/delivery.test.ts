import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { deliveryRetryDelaySeconds } from "../../src/integrations/delivery";
import { emitShopEvent } from "../../src/integrations/events";
import { getDb } from "../../src/db/client";
import { as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { makeProduct } from "../support/factories";
import { makePaidOrder } from "../support/orders";
import { chargeRefundedEvent, deliverEvent } from "../support/stripe";
import { consumeDelivery, deliveriesOf, eventsWithKey, forgetEndpoints, registerEndpoint, staffSend } from "../support/webhooks";

afterEach(() => vi.restoreAllMocks());
afterAll(forgetEndpoints);

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
  redirect: string | undefined;
}

/** Intercepts the shop's outbound fetch to `host`; `answer` decides each response in turn. */
function receiver(host: string, answer: (n: number) => Response | Promise<Response>): Sent[] {
  const sent: Sent[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    if (new URL(req.url).hostname !== host) return real(input as RequestInfo, init);
    sent.push({ url: req.url, headers: Object.fromEntries(req.headers), body: await req.text(), redirect: init?.redirect });
    return answer(sent.length);
  });
  return sent;
}

/** A delivery row made directly (no queue message), so only the batches a test builds run it. */
async function makeDelivery(
  endpointId: string,
  type = "order.paid",
  data: unknown = { order: { id: "ord_test" } },
): Promise<{ deliveryId: string; eventId: string }> {
  const eventId = `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 26)}`;
  const deliveryId = `whd_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  await env.DB.batch([
    env.DB.prepare("INSERT INTO webhook_events (id, type, key, data, relayed_at) VALUES (?, ?, ?, ?, 'now')").bind(
      eventId,
      type,
      `test:${eventId}`,
      JSON.stringify(data),
    ),
    env.DB.prepare("INSERT INTO webhook_deliveries (id, event_id, endpoint_id, queued_at) VALUES (?, ?, ?, 'now')").bind(deliveryId, eventId, endpointId),
  ]);
  return { deliveryId, eventId };
}

async function deliveryRow(id: string) {
  return env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?").bind(id).first<{
    status: string;
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
    response_excerpt: string | null;
    next_attempt_at: string | null;
    last_attempt_at: string | null;
  }>();
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("outbound webhook deliveries", () => {
  it("T05 outbound: a paid order's order.paid delivery reaches the receiver through the queue, signed so the Standard Webhooks library verifies it", async () => {
    const admin = await as("admin");
    const endpoint = await registerEndpoint(admin, "https://paid.receiver.example/hooks", ["order.paid"]);
    const sent = receiver("paid.receiver.example", () => new Response("ok", { status: 200 }));
    const { orderId } = await makePaidOrder();
    const [event] = await eventsWithKey(`order.paid:${orderId}`);
    expect(event).toMatchObject({ type: "order.paid" });
    const delivered = await until(
      () => deliveriesOf(endpoint.id),
      (rows) => rows.some((r) => r.event_id === event!.id && r.status === "delivered"),
    );
    expect(delivered.find((r) => r.event_id === event!.id)).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 200 });
    const request = sent.find((s) => s.headers["webhook-id"] === event!.id)!;
    expect(request.redirect).toBe("manual");
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const payload = new Webhook(endpoint.secret).verify(request.body, request.headers) as {
      type: string;
      data: { order: { id: string; status: string; totalCents: number } };
    };
    expect(payload.type).toBe("order.paid");
    expect(payload.data.order).toMatchObject({ id: orderId, status: "paid", totalCents: 2250 });
    // A forged body, or another secret, does not verify.
    expect(() => new Webhook(endpoint.secret).verify(request.body.replace("paid", "PAID"), request.headers)).toThrow();
    expect(() => new Webhook(`whsec_${btoa("x".repeat(32))}`).verify(request.body, request.headers)).toThrow();
  });

  it("a receiver failing twice gets the delivery on the third try: the queue retries with exponential backoff, with the same webhook-id each time", async () => {
    const admin = await as("admin");
    const endpoint = await registerEndpoint(admin, "https://flaky.receiver.example/in", ["order.shipped"]);
    const { deliveryId, eventId } = await makeDelivery(endpoint.id, "order.shipped");
    const sent = receiver("flaky.receiver.example", (n) => (n <= 2 ? new Response("busy", { status: 503 }) : new Response(null, { status: 204 })));
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }

    const first = await consumeDelivery(deliveryId, 1);
    expect(first.result.retryMessages).toEqual([{ msgId: first.batch.messages[0]!.id }]);
    expect(first.retryDelays).toEqual([30]);
    const afterFirst = await deliveryRow(deliveryId);
    expect(afterFirst).toMatchObject({ status: "retrying", attempts: 1, last_status_code: 503, response_excerpt: "busy" });
    expect(Date.parse(afterFirst!.next_attempt_at!) - Date.parse(afterFirst!.last_attempt_at!)).toBe(30_000);
    const second = await consumeDelivery(deliveryId, 2);
    expect(second.result.retryMessages).toEqual([{ msgId: second.batch.messages[0]!.id }]);
    expect(second.retryDelays).toEqual([60]);
    const third = await consumeDelivery(deliveryId, 3);
    expect(third.result.explicitAcks).toEqual([third.batch.messages[0]!.id]);
    expect(third.result.retryMessages).toEqual([]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: "delivered", attempts: 3, last_status_code: 204, next_attempt_at: null, last_error: null });
    expect(sent.map((s) => s.headers["webhook-id"])).toEqual([eventId, eventId, eventId]);
    for (const s of sent) expect(() => new Webhook(endpoint.secret).verify(s.body, s.headers)).not.toThrow();
    // The queue delivers at least once: the same message again sends nothing.
    await consumeDelivery(deliveryId, 1);
    expect(sent).toHaveLength(3);
    expect([1, 2, 3, 8, 20].map(deliveryRetryDelaySeconds)).toEqual([30, 60, 120, 3600, 3600]);
    // Each attempt is logged by ids and codes: never the secret, a signature or the body.
    expect(logged.filter((l) => l.includes("webhook_delivery_failed"))).toHaveLength(2);
    const text = logged.join("\n");
    expect(text).not.toContain(endpoint.secret.slice("whsec_".length));
    for (const s of sent) expect(text).not.toContain(s.headers["webhook-signature"]!.slice(3));
  });

  it("dead letter: after the queue's last retry the delivery is marked dead; an admin's redeliver sends it again (audited) with the same webhook-id", async () => {
    const admin = await as("admin");
    const endpoint = await registerEndpoint(admin, "https://down.receiver.example/in", ["order.refunded"]);
    const { deliveryId, eventId } = await makeDelivery(endpoint.id, "order.refunded");
    let up = false;
    const sent = receiver("down.receiver.example", () => (up ? new Response("thanks") : new Response("x".repeat(10_000), { status: 500 })));
    // max_retries = 8 in wrangler.toml: nine tries, each retried, then the queue moves it to the dead-letter queue.
    for (let attempt = 1; attempt <= 9; attempt++) {
      const { result } = await consumeDelivery(deliveryId, attempt);
      expect(result.retryMessages).toHaveLength(1);
    }
    const failing = await deliveryRow(deliveryId);
    expect(failing).toMatchObject({ status: "retrying", attempts: 9, last_status_code: 500 });
    // Only a short excerpt of an answer is kept.
    expect(failing!.response_excerpt!.length).toBeLessThanOrEqual(256);
    const dead = await consumeDelivery(deliveryId, 9, "bastion-webhooks-dlq");
    expect(dead.result.explicitAcks).toEqual([dead.batch.messages[0]!.id]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: "dead", next_attempt_at: null });

    const listed = await staffSend(admin, "GET", `/api/admin/webhook-endpoints/${endpoint.id}/deliveries`);
    expect(listed.status).toBe(200);
    const page = (await listed.json()) as { items: { id: string; status: string; attempts: number; lastStatusCode: number }[] };
    expect(page.items).toEqual([expect.objectContaining({ id: deliveryId, status: "dead", attempts: 9, lastStatusCode: 500 })]);

    up = true;
    const auditBefore = await lastAuditId();
    const again = await staffSend(admin, "POST", `/api/admin/webhook-endpoints/${endpoint.id}/deliveries/${deliveryId}/redeliver`);
    expect(again.status).toBe(202);
    expect((await auditRowsAfter(auditBefore)).map((r) => [r.action, r.subject])).toEqual([["webhook_delivery.redelivered", deliveryId]]);
    // Redelivering a delivery already waiting is refused.
    expect((await staffSend(admin, "POST", `/api/admin/webhook-endpoints/${endpoint.id}/deliveries/${deliveryId}/redeliver`)).status).toBe(409);
    const done = await until(
      () => deliveryRow(deliveryId),
      (r) => r?.status === "delivered",
    );
    expect(done).toMatchObject({ status: "delivered", attempts: 10 });
    expect(sent.at(-1)!.headers["webhook-id"]).toBe(eventId);
  });

  it("P16 SSRF at delivery: an endpoint whose stored address is private is never fetched, and a redirect is never followed", async () => {
    const admin = await as("admin");
    const endpoint = await registerEndpoint(admin, "https://moved.receiver.example/in", ["order.paid"]);
    const sent = receiver(
      "moved.receiver.example",
      () => new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }),
    );
    const calls = vi.mocked(globalThis.fetch);
    const redirected = await makeDelivery(endpoint.id);
    const { result } = await consumeDelivery(redirected.deliveryId, 1);
    expect(result.retryMessages).toHaveLength(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.redirect).toBe("manual");
    expect(calls.mock.calls.map(([u]) => new Request(u as RequestInfo).url)).toEqual(["https://moved.receiver.example/in"]);
    expect(await deliveryRow(redirected.deliveryId)).toMatchObject({ status: "retrying", last_status_code: 302, last_error: "redirect not followed" });

    // The row changed behind the API's back (a restore, a hand edit): the delivery checks again.
    for (const url of ["https://169.254.169.254/latest/meta-data/", "https://[::ffff:10.0.0.1]/", "http://hooks.example.com/"]) {
      await env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?").bind(url, endpoint.id).run();
      const { deliveryId } = await makeDelivery(endpoint.id);
      const before = calls.mock.calls.length;
      const run = await consumeDelivery(deliveryId, 1);
      expect(run.result.explicitAcks).toHaveLength(1);
      expect(calls.mock.calls.length).toBe(before);
      expect(await deliveryRow(deliveryId)).toMatchObject({ status: "refused", attempts: 0 });
    }
  });

  it("rotation: during the overlap every delivery carries both signatures, each verifying with its own secret; afterwards only the new one", async () => {
    const admin = await as("admin");
    const endpoint = await registerEndpoint(admin, "https://rotating.receiver.example/in", ["product.updated"]);
    const sent = receiver("rotating.receiver.example", () => new Response("ok"));
    const rotated = (await (await staffSend(admin, "POST", `/api/admin/webhook-endpoints/${endpoint.id}/rotate-secret`, { overlapHours: 2 })).json()) as {
      secret: string;
    };
    const during = await makeDelivery(endpoint.id, "product.updated");
    await consumeDelivery(during.deliveryId, 1);
    expect(sent[0]!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(() => new Webhook(endpoint.secret).verify(sent[0]!.body, sent[0]!.headers)).not.toThrow();
    expect(() => new Webhook(rotated.secret).verify(sent[0]!.body, sent[0]!.headers)).not.toThrow();

    await env.DB.prepare("UPDATE webhook_endpoints SET previous_secret_expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?").bind(endpoint.id).run();
    const after = await makeDelivery(endpoint.id, "product.updated");
    await consumeDelivery(after.deliveryId, 1);
    expect(sent[1]!.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(() => new Webhook(rotated.secret).verify(sent[1]!.body, sent[1]!.headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(sent[1]!.body, sent[1]!.headers)).toThrow();
  });

  it("outbox: each change records its event once, in its own batch, and a change that did not happen records none", async () => {
    const admin = await as("admin");
    const endpoint = await registerEndpoint(admin, "https://books.receiver.example/in", ["order.refunded", "order.shipped", "product.updated"]);
    receiver("books.receiver.example", () => new Response("ok"));
    const { held, orderId } = await makePaidOrder();
    // Refunds: the provider's figure, seen twice, is one event; a further refund is another.
    const refund = chargeRefundedEvent({ paymentIntentId: held.paymentIntentId, amount: 2250, amountRefunded: 1000 });
    expect((await deliverEvent(refund)).status).toBe(200);
    expect((await deliverEvent(chargeRefundedEvent({ paymentIntentId: held.paymentIntentId, amount: 2250, amountRefunded: 1000 }))).status).toBe(200);
    expect((await eventsWithKey(`order.refunded:${orderId}:`)).map((e) => e.key)).toEqual([`order.refunded:${orderId}:1000`]);
    const data = JSON.parse((await eventsWithKey(`order.refunded:${orderId}:`))[0]!.data) as { order: { refundedCents: number; lines: unknown[] } };
    expect(data.order.refundedCents).toBe(1000);
    expect(data.order.lines).toHaveLength(1);

    // Shipping twice: the second is refused (409), one event.
    const ship = { carrier: "UPS", trackingNumber: "1Z999" };
    expect((await staffSend(admin, "POST", `/api/admin/orders/${orderId}/ship`, ship)).status).toBe(200);
    expect((await staffSend(admin, "POST", `/api/admin/orders/${orderId}/ship`, ship)).status).toBe(409);
    expect(await eventsWithKey(`order.shipped:${orderId}`)).toHaveLength(1);

    // A product edit refused (slug taken, stock below held) records nothing; an accepted one records what changed.
    const product = await makeProduct();
    const other = await makeProduct();
    expect((await staffSend(admin, "PATCH", `/api/admin/products/${product.id}`, { slug: other.slug })).status).toBe(409);
    expect(await eventsWithKey(`product.updated:${product.id}`)).toEqual([]);
    expect((await staffSend(admin, "PATCH", `/api/admin/products/${product.id}`, { priceCents: 4321 })).status).toBe(200);
    const [edit] = await eventsWithKey(`product.updated:${product.id}`);
    expect(JSON.parse(edit!.data)).toMatchObject({ product: { id: product.id, priceCents: 4321, hidden: false }, changed: ["priceCents"] });
    // Every event found its subscribed endpoint.
    const rows = await until(
      () => deliveriesOf(endpoint.id),
      (r) => r.length >= 3 && r.every((d) => d.status === "delivered"),
    );
    expect(rows.map((r) => r.status)).toEqual(["delivered", "delivered", "delivered"]);
  });

  it("outbox relay: when the queue refuses, the claims are given back and nothing is lost; the cron sends them once the queue works", async () => {
    const admin = await as("admin");
    const endpoint = await registerEndpoint(admin, "https://later.receiver.example/in", ["inventory.low"]);
    const sent = receiver("later.receiver.example", () => new Response("ok"));
    const down = {
      ...env,
      WEBHOOK_QUEUE: { send: () => Promise.reject(new Error("queue down")), sendBatch: () => Promise.reject(new Error("queue down")) },
    } as unknown as Env;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const cause = crypto.randomUUID();
    await emitShopEvent(down, getDb(env.DB), {
      type: "inventory.low",
      key: `inventory.low:test:${cause}`,
      data: { productId: "prd_x", sellable: 2, threshold: 3 },
    });
    expect(errors.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining("webhook_enqueue_failed")]);
    const [waiting] = await deliveriesOf(endpoint.id);
    expect(waiting).toMatchObject({ status: "pending", queued_at: null });
    // The same event again (a retried change) is not a second event.
    await emitShopEvent(down, getDb(env.DB), {
      type: "inventory.low",
      key: `inventory.low:test:${cause}`,
      data: { productId: "prd_x", sellable: 2, threshold: 3 },
    });
    expect(await eventsWithKey(`inventory.low:test:${cause}`)).toHaveLength(1);

    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env);
    const rows = await until(
      () => deliveriesOf(endpoint.id),
      (r) => r[0]?.status === "delivered",
    );
    expect(rows).toEqual([expect.objectContaining({ id: waiting!.id, status: "delivered", attempts: 1 })]);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ type: "inventory.low", data: { productId: "prd_x", sellable: 2 } });
  });
});
