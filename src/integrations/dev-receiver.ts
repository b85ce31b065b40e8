// Development only: a webhook receiver inside the shop, so `npm run dev` can show a delivery end to
// end (register http://localhost:8787/api/dev/webhook-receiver on /admin/integrations). It logs
// what it got and keeps the last few in this isolate's memory; it cannot check signatures (it
// does not know the secret), so it shows them. 404 outside development, like every dev route.
import { createRoute, z } from "@hono/zod-openapi";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";

interface Received {
  webhookId: string | null;
  timestamp: string | null;
  signature: string | null;
  type: string | null;
  bytes: number;
  receivedAt: string;
}

const received: Received[] = [];
const KEEP = 20;

const ReceivedSchema = z
  .object({
    webhookId: z.string().nullable(),
    timestamp: z.string().nullable(),
    signature: z.string().nullable(),
    type: z.string().nullable(),
    bytes: z.number().int(),
    receivedAt: z.string(),
  })
  .openapi("DevWebhookReceived");

const receiveRoute = createRoute({
  method: "post",
  path: "/dev/webhook-receiver",
  operationId: "devReceiveWebhook",
  ...access.public,
  tags: ["Development"],
  summary: "A webhook receiver for local development (development only; 404 otherwise)",
  responses: { 204: { description: "Received and logged" }, 404: problemResponseSpec("Not in development") },
});
const listRoute = createRoute({
  method: "get",
  path: "/dev/webhook-receiver",
  operationId: "devListReceivedWebhooks",
  ...access.public,
  tags: ["Development"],
  summary: "What the development receiver got, newest first (development only; 404 otherwise)",
  responses: {
    200: { description: "Newest first", content: { "application/json": { schema: z.object({ items: z.array(ReceivedSchema) }) } } },
    404: problemResponseSpec("Not in development"),
  },
});

export const devWebhookReceiverApi = createApiApp()
  .openapi(receiveRoute, async (c) => {
    if (!c.var.config.devRoutes) throw new ProblemError(404, "not_found", "No such route.");
    const text = await c.req.text();
    let type: string | null = null;
    try {
      const parsed = JSON.parse(text) as { type?: unknown };
      type = typeof parsed.type === "string" ? parsed.type : null;
    } catch {
      type = null;
    }
    const entry: Received = {
      webhookId: c.req.header("webhook-id") ?? null,
      timestamp: c.req.header("webhook-timestamp") ?? null,
      signature: c.req.header("webhook-signature") ?? null,
      type,
      bytes: text.length,
      receivedAt: new Date().toISOString(),
    };
    received.unshift(entry);
    received.length = Math.min(received.length, KEEP);
    console.log(JSON.stringify({ level: "info", msg: "dev_webhook_received", webhookId: entry.webhookId, type, bytes: entry.bytes }));
    return c.body(null, 204);
  })
  .openapi(listRoute, (c) => {
    if (!c.var.config.devRoutes) throw new ProblemError(404, "not_found", "No such route.");
    return c.json({ items: received }, 200);
  });
