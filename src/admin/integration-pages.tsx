import { zValidator } from "@hono/zod-validator";
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { getDb } from "../db/client";
import {
  createEndpointAudited,
  deleteEndpointAudited,
  type DeliveryView,
  EndpointInput,
  type EndpointView,
  findEndpoint,
  listDeliveries,
  listEndpoints,
  redeliverAudited,
  rotateSecretAudited,
  updateEndpointAudited,
} from "../integrations/endpoints";
import { SHOP_EVENT_DESCRIPTIONS, SHOP_EVENT_TYPES } from "../integrations/events";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { Layout } from "../web/layout";
import { firstIssue, formInto } from "./forms";
import { actorOf } from "./guard";
import { Alert, refusalOf, StaffNav } from "./page-parts";

/** A time as staff read it: minutes, UTC. */
const when = (iso: string | null): string => (iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "—");

/** The form as a browser posts it: a URL and one checkbox per event (absent when unticked). */
const EndpointForm = formInto(
  z
    .object({ url: z.string().default(""), events: z.union([z.string(), z.array(z.string())]).optional() })
    .transform((f) => ({ url: f.url, events: f.events === undefined ? [] : Array.isArray(f.events) ? f.events : [f.events] })),
  EndpointInput,
);

/** A secret shown once, right after it was made: never stored anywhere the page can read again. */
function SecretOnce(props: { secret: string; url: string }) {
  return (
    <section class="panel" aria-labelledby="secret-heading" data-webhook-secret>
      <h2 id="secret-heading">Signing secret</h2>
      <p class="wrap-anywhere">
        For <strong>{props.url}</strong>. Copy it into the receiving system now: it is shown this once and stored only encrypted.
      </p>
      <p>
        <code class="secret-once">{props.secret}</code>
      </p>
    </section>
  );
}

function EndpointPanel(props: { endpoint: EndpointView }) {
  const e = props.endpoint;
  const base = `/admin/integrations/${encodeURIComponent(e.id)}`;
  return (
    <li class="panel" data-endpoint={e.id}>
      <h3 class="wrap-anywhere">{e.url}</h3>
      <p>
        <span class={e.enabled ? "tag on" : "tag"}>{e.enabled ? "enabled" : "disabled"}</span>{" "}
        {e.events.map((t) => (
          <>
            <span class="tag">{t}</span>{" "}
          </>
        ))}
      </p>
      {e.previousSecretExpiresAt ? <p>The previous secret also signs until {when(e.previousSecretExpiresAt)}.</p> : null}
      <div class="inline-form">
        <a href={base}>Deliveries</a>
        <form method="post" action={`${base}/enabled`}>
          <input type="hidden" name="enabled" value={e.enabled ? "false" : "true"} />
          <button type="submit" class="secondary">
            {e.enabled ? "Disable" : "Enable"}
          </button>
        </form>
        <form method="post" action={`${base}/rotate`} class="inline-form">
          <label>
            Old secret keeps signing for{" "}
            <select name="overlapHours">
              <option value="24">24 hours</option>
              <option value="1">1 hour</option>
              <option value="168">7 days</option>
              <option value="0">no time (stop now)</option>
            </select>
          </label>
          <button type="submit" class="secondary">
            Rotate secret
          </button>
        </form>
        <form method="post" action={`${base}/delete`}>
          <button type="submit" class="secondary">
            Delete
          </button>
        </form>
      </div>
    </li>
  );
}

async function IntegrationsPage(props: { c: Context<AppEnv>; error?: string | undefined; secret?: { secret: string; url: string } }) {
  const endpoints = await listEndpoints(getDb(props.c.env.DB));
  const devReceiver = props.c.var.config.devRoutes ? `${props.c.var.config.PUBLIC_ORIGIN}/api/dev/webhook-receiver` : null;
  return (
    <Layout title="Staff: integrations">
      <StaffNav />
      <h1>Integrations</h1>
      <p>
        Outbound webhooks tell your other systems (accounting, fulfilment, ERP) what happened in the shop. Each delivery is a signed POST (Standard Webhooks:{" "}
        <code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>), retried with growing pauses for about two hours. Only https
        addresses on the public internet are accepted.
      </p>
      <Alert message={props.error} />
      {props.secret ? <SecretOnce secret={props.secret.secret} url={props.secret.url} /> : null}
      <h2>Endpoints</h2>
      {endpoints.length === 0 ? <p>No endpoints yet.</p> : null}
      <ul class="integrations-list">
        {endpoints.map((e) => (
          <EndpointPanel endpoint={e} />
        ))}
      </ul>
      <h2>New endpoint</h2>
      <form method="post" action="/admin/integrations" class="form">
        <label>
          URL <input name="url" type="url" required maxlength={2000} placeholder="https://erp.example.com/hooks/bastion" />
        </label>
        {devReceiver ? (
          <p class="wrap-anywhere">
            Development: <code>{devReceiver}</code> receives and logs deliveries on this machine.
          </p>
        ) : null}
        <fieldset class="checkbox-grid">
          <legend>Events</legend>
          {SHOP_EVENT_TYPES.map((t) => (
            <label title={SHOP_EVENT_DESCRIPTIONS[t]}>
              <input type="checkbox" name="events" value={t} /> {t}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add endpoint</button>
      </form>
    </Layout>
  );
}

function DeliveryItem(props: { endpointId: string; delivery: DeliveryView }) {
  const d = props.delivery;
  return (
    <li class="panel" data-delivery={d.id}>
      <p>
        <strong>{d.eventType}</strong> <span class={d.status === "delivered" ? "tag on" : "tag"}>{d.status}</span>
      </p>
      <dl class="facts">
        <dt>Attempts</dt>
        <dd>{d.attempts}</dd>
        <dt>Last answer</dt>
        <dd>{d.lastStatusCode ?? "—"}</dd>
        <dt>Next try</dt>
        <dd>{when(d.nextAttemptAt)}</dd>
        <dt>Created</dt>
        <dd>{when(d.createdAt)}</dd>
        <dt>Webhook id</dt>
        <dd class="wrap-anywhere">
          <code>{d.eventId}</code>
        </dd>
      </dl>
      {d.lastError ? <p class="wrap-anywhere">Problem: {d.lastError}</p> : null}
      {d.responseExcerpt ? (
        <p class="wrap-anywhere">
          Answer began: <code>{d.responseExcerpt}</code>
        </p>
      ) : null}
      {d.status === "pending" ? null : (
        <form method="post" action={`/admin/integrations/${encodeURIComponent(props.endpointId)}/deliveries/${encodeURIComponent(d.id)}/redeliver`}>
          <button type="submit" class="secondary">
            Redeliver
          </button>
        </form>
      )}
    </li>
  );
}

async function DeliveriesPage(props: { c: Context<AppEnv>; id: string; error?: string | undefined }) {
  const db = getDb(props.c.env.DB);
  const endpoint = await findEndpoint(db, props.id);
  if (!endpoint) throw new ProblemError(404, "webhook_endpoint_not_found", "No webhook endpoint has this id.");
  const cursor = props.c.req.query("cursor") ?? null;
  const page = await listDeliveries(db, endpoint.id, cursor && cursor.length <= 200 ? cursor : null, 50);
  return (
    <Layout title="Staff: webhook deliveries">
      <StaffNav />
      <p>
        <a href="/admin/integrations">All integrations</a>
      </p>
      <h1 class="wrap-anywhere">Deliveries to {endpoint.url}</h1>
      <Alert message={props.error} />
      {page.items.length === 0 ? <p>Nothing sent yet.</p> : null}
      <ul class="integrations-list">
        {page.items.map((d) => (
          <DeliveryItem endpointId={endpoint.id} delivery={d} />
        ))}
      </ul>
      {page.nextCursor ? (
        <a href={`/admin/integrations/${encodeURIComponent(endpoint.id)}?cursor=${encodeURIComponent(page.nextCursor)}`}>Older deliveries</a>
      ) : null}
    </Layout>
  );
}

async function pageWithRefusal(c: Context<AppEnv>, error: unknown) {
  const { status, message } = refusalOf(error);
  return c.html(await IntegrationsPage({ c, error: message }), status as ContentfulStatusCode);
}

/** Staff pages for outbound webhooks (admin only, guarded under /admin): the same audited functions as the API. */
export const integrationPages = new Hono<AppEnv>()
  .get("/admin/integrations", async (c) => c.html(await IntegrationsPage({ c })))
  .post(
    "/admin/integrations",
    zValidator("form", EndpointForm, async (result, c) => {
      if (!result.success) return c.html(await IntegrationsPage({ c: c as unknown as Context<AppEnv>, error: firstIssue(result.error) }), 422);
    }),
    async (c) => {
      try {
        const { endpoint, secret } = await createEndpointAudited(c.env, c.var.config, actorOf(c), c.req.valid("form"));
        c.header("cache-control", "no-store");
        return c.html(await IntegrationsPage({ c, secret: { secret, url: endpoint.url } }), 201);
      } catch (error) {
        return pageWithRefusal(c, error);
      }
    },
  )
  .get("/admin/integrations/:id", async (c) => c.html(await DeliveriesPage({ c, id: c.req.param("id") })))
  .post("/admin/integrations/:id/enabled", zValidator("form", z.object({ enabled: z.enum(["true", "false"]) })), async (c) => {
    try {
      await updateEndpointAudited(c.env, actorOf(c), c.req.param("id"), { enabled: c.req.valid("form").enabled === "true" });
    } catch (error) {
      return pageWithRefusal(c, error);
    }
    return c.redirect("/admin/integrations", 303);
  })
  .post("/admin/integrations/:id/rotate", zValidator("form", z.object({ overlapHours: z.enum(["0", "1", "24", "168"]) })), async (c) => {
    try {
      const { endpoint, secret } = await rotateSecretAudited(c.env, actorOf(c), c.req.param("id"), Number(c.req.valid("form").overlapHours));
      c.header("cache-control", "no-store");
      return c.html(await IntegrationsPage({ c, secret: { secret, url: endpoint.url } }));
    } catch (error) {
      return pageWithRefusal(c, error);
    }
  })
  .post("/admin/integrations/:id/delete", async (c) => {
    try {
      await deleteEndpointAudited(c.env, actorOf(c), c.req.param("id"));
    } catch (error) {
      return pageWithRefusal(c, error);
    }
    return c.redirect("/admin/integrations", 303);
  })
  .post("/admin/integrations/:id/deliveries/:deliveryId/redeliver", async (c) => {
    const id = c.req.param("id");
    try {
      await redeliverAudited(c.env, actorOf(c), id, c.req.param("deliveryId"));
    } catch (error) {
      const { status, message } = refusalOf(error);
      return c.html(await DeliveriesPage({ c, id, error: message }), status as ContentfulStatusCode);
    }
    return c.redirect(`/admin/integrations/${encodeURIComponent(id)}`, 303);
  });
