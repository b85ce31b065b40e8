import { createRoute, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { DELIVERY_STATUSES } from "../integrations/schema";
import {
  createEndpointAudited,
  deleteEndpointAudited,
  EndpointInput,
  EndpointPatch,
  listDeliveries,
  listEndpoints,
  redeliverAudited,
  RotateInput,
  rotateSecretAudited,
  updateEndpointAudited,
} from "../integrations/endpoints";
import { SHOP_EVENT_DESCRIPTIONS, SHOP_EVENT_TYPES } from "../integrations/events";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { actorOf, describeStaffAccess, staffGuard } from "./guard";
import { CursorQuery, guarded, jsonContent } from "./staff-api";

const eventList = SHOP_EVENT_TYPES.map((t) => `\`${t}\`: ${SHOP_EVENT_DESCRIPTIONS[t]}`).join("\n- ");

export const WebhookEndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .openapi({ description: "While a rotation's overlap lasts, deliveries carry the old secret's signature too, until then." }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("AdminWebhookEndpoint");

const SecretAnswer = z
  .object({
    id: z.string(),
    secret: z.string().openapi({ description: "`whsec_` and the base64 key: shown this once, stored only encrypted." }),
    endpoint: WebhookEndpointSchema,
  })
  .openapi("AdminWebhookEndpointSecret");

export const WebhookDeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string().openapi({ description: "The `webhook-id` header: the same on every attempt and redelivery." }),
    eventType: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    responseExcerpt: z.string().nullable().openapi({ description: "The first 256 bytes of the last answer, nothing more." }),
    nextAttemptAt: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("AdminWebhookDelivery");

const CreateBody = EndpointInput.strict().openapi("AdminWebhookEndpointCreate");
const PatchBody = EndpointPatch.strict().openapi("AdminWebhookEndpointPatch");
const RotateBody = RotateInput.strict().openapi("AdminWebhookSecretRotate");
const IdParam = z.object({ id: z.string().min(1).max(100) });
const DeliveryParam = z.object({ id: z.string().min(1).max(100), deliveryId: z.string().min(1).max(100) });
const notFound = { 404: problemResponseSpec("`webhook_endpoint_not_found` or `webhook_delivery_not_found`") };

const listRoute = createRoute({
  method: "get",
  path: "/admin/webhook-endpoints",
  operationId: "adminListWebhookEndpoints",
  tags: ["Staff"],
  summary: "Outbound webhook endpoints (admin); never their secrets",
  responses: { 200: { description: "Endpoints", content: jsonContent(z.object({ items: z.array(WebhookEndpointSchema) })) }, ...guarded },
});
const createEndpointRoute = createRoute({
  method: "post",
  path: "/admin/webhook-endpoints",
  operationId: "adminCreateWebhookEndpoint",
  tags: ["Staff"],
  summary: "Register an outbound webhook endpoint (admin); audited",
  description:
    "Deliveries are signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`) " +
    "with the secret answered here once. Only `https://` to a public host: private, loopback, link-local, CGNAT, multicast, reserved and metadata addresses and names are refused " +
    `(422 \`endpoint_url_refused\`), here and again at every delivery. Events:\n- ${eventList}`,
  request: { body: { required: true, content: jsonContent(CreateBody) } },
  responses: {
    201: { description: "Registered; the secret is never shown again", content: jsonContent(SecretAnswer) },
    422: problemResponseSpec("`validation_failed` or `endpoint_url_refused`"),
    ...guarded,
  },
});
const patchRoute = createRoute({
  method: "patch",
  path: "/admin/webhook-endpoints/{id}",
  operationId: "adminUpdateWebhookEndpoint",
  tags: ["Staff"],
  summary: "Disable, enable or change the events of an endpoint (admin); audited",
  request: { params: IdParam, body: { required: true, content: jsonContent(PatchBody) } },
  responses: {
    200: { description: "Updated", content: jsonContent(WebhookEndpointSchema) },
    422: problemResponseSpec("`validation_failed`"),
    ...notFound,
    ...guarded,
  },
});
const deleteRoute = createRoute({
  method: "delete",
  path: "/admin/webhook-endpoints/{id}",
  operationId: "adminDeleteWebhookEndpoint",
  tags: ["Staff"],
  summary: "Delete an endpoint and its delivery history (admin); audited",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...notFound, ...guarded },
});
const rotateRoute = createRoute({
  method: "post",
  path: "/admin/webhook-endpoints/{id}/rotate-secret",
  operationId: "adminRotateWebhookSecret",
  tags: ["Staff"],
  summary: "A new signing secret (admin); audited",
  description:
    "During `overlapHours` (default 24, 0–168) deliveries carry two signatures, the new secret's and the old one's, so the receiver can switch without losing one.",
  request: { params: IdParam, body: { required: true, content: jsonContent(RotateBody) } },
  responses: {
    200: { description: "The new secret, shown this once", content: jsonContent(SecretAnswer) },
    409: problemResponseSpec("`webhook_endpoint_changed`: rotated at the same moment by someone else"),
    422: problemResponseSpec("`validation_failed`"),
    ...notFound,
    ...guarded,
  },
});
const deliveriesRoute = createRoute({
  method: "get",
  path: "/admin/webhook-endpoints/{id}/deliveries",
  operationId: "adminListWebhookDeliveries",
  tags: ["Staff"],
  summary: "An endpoint's deliveries, newest first (admin): status, attempts, last response code, next retry",
  request: { params: IdParam, query: CursorQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(WebhookDeliverySchema), nextCursor: z.string().nullable() })) },
    400: problemResponseSpec("`invalid_parameter`"),
    ...notFound,
    ...guarded,
  },
});
const redeliverRoute = createRoute({
  method: "post",
  path: "/admin/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver",
  operationId: "adminRedeliverWebhook",
  tags: ["Staff"],
  summary: "Send a delivery again, with the same webhook-id (admin); audited",
  request: { params: DeliveryParam },
  responses: {
    202: { description: "Queued again", content: jsonContent(WebhookDeliverySchema) },
    409: problemResponseSpec("`delivery_pending`: it is waiting for an attempt already"),
    ...notFound,
    ...guarded,
  },
});

/** Staff API: outbound webhook endpoints (src/integrations owns them). Admin only (guard.ts). */
export const webhookEndpointsApi = createApiApp();
webhookEndpointsApi.use("/admin/webhook-endpoints", staffGuard);
webhookEndpointsApi.use("/admin/webhook-endpoints/*", staffGuard);
webhookEndpointsApi
  .openapi(listRoute, async (c) => c.json({ items: await listEndpoints(getDb(c.env.DB)) }, 200))
  .openapi(createEndpointRoute, async (c) => {
    const { endpoint, secret } = await createEndpointAudited(c.env, c.var.config, actorOf(c), c.req.valid("json"));
    c.header("cache-control", "no-store");
    return c.json({ id: endpoint.id, secret, endpoint }, 201);
  })
  .openapi(patchRoute, async (c) => c.json(await updateEndpointAudited(c.env, actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200))
  .openapi(deleteRoute, async (c) => {
    await deleteEndpointAudited(c.env, actorOf(c), c.req.valid("param").id);
    return c.body(null, 204);
  })
  .openapi(rotateRoute, async (c) => {
    const { endpoint, secret } = await rotateSecretAudited(c.env, actorOf(c), c.req.valid("param").id, c.req.valid("json").overlapHours);
    c.header("cache-control", "no-store");
    return c.json({ id: endpoint.id, secret, endpoint }, 200);
  })
  .openapi(deliveriesRoute, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    return c.json(await listDeliveries(getDb(c.env.DB), c.req.valid("param").id, cursor ?? null, limit ?? 50), 200);
  })
  .openapi(redeliverRoute, async (c) => {
    const { id, deliveryId } = c.req.valid("param");
    return c.json(await redeliverAudited(c.env, actorOf(c), id, deliveryId), 202);
  });
describeStaffAccess(webhookEndpointsApi);
