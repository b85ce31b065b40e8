import { env } from "cloudflare:workers";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { as, appRequest } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";
import { consumeDelivery, countOf, deliveriesOf, forgetEndpoints } from "../support/webhooks";

afterEach(() => vi.restoreAllMocks());
afterAll(forgetEndpoints);

function postForm(headers: Record<string, string>, path: string, fields: [string, string][]): Promise<Response> {
  return appRequest(path, {
    method: "POST",
    headers: { ...headers, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

describe("integrations staff page", () => {
  it("an admin adds an endpoint through the form: the secret is on that one answer only; deliveries show status and a redeliver button that works; every change is audited", async () => {
    const admin = await as("admin");
    const auditBefore = await lastAuditId();
    const created = await postForm(admin, "/admin/integrations", [
      ["url", "https://fulfil.example.net/bastion"],
      ["events", "order.paid"],
      ["events", "order.shipped"],
    ]);
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const html = await created.text();
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(html)?.[0];
    expect(secret).toBeDefined();
    const row = await env.DB.prepare("SELECT id, events FROM webhook_endpoints WHERE url = ?")
      .bind("https://fulfil.example.net/bastion")
      .first<{ id: string; events: string }>();
    expect(JSON.parse(row!.events)).toEqual(["order.paid", "order.shipped"]);
    const again = await (await appRequest("/admin/integrations", { headers: admin })).text();
    expect(again).toContain("https://fulfil.example.net/bastion");
    expect(again).not.toContain(secret!);
    expect(again).not.toContain("whsec_");

    // A failed delivery shows on the endpoint's page with its code; redeliver queues it again.
    const eventId = `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 26)}`;
    const deliveryId = `whd_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
    await env.DB.batch([
      env.DB.prepare("INSERT INTO webhook_events (id, type, key, data, relayed_at) VALUES (?, 'order.paid', ?, '{}', 'now')").bind(eventId, `test:${eventId}`),
      env.DB.prepare("INSERT INTO webhook_deliveries (id, event_id, endpoint_id, queued_at) VALUES (?, ?, ?, 'now')").bind(deliveryId, eventId, row!.id),
    ]);
    let up = false;
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => (up ? new Response("ok") : new Response("<html>teapot</html>", { status: 418 })));
    await consumeDelivery(deliveryId, 1);
    const page = await (await appRequest(`/admin/integrations/${row!.id}`, { headers: admin })).text();
    expect(page).toContain(eventId);
    expect(page).toContain("retrying");
    expect(page).toContain("418");
    expect(page).toContain("&lt;html&gt;teapot&lt;/html&gt;");
    expect(page).toContain(`/admin/integrations/${row!.id}/deliveries/${deliveryId}/redeliver`);
    up = true;
    const redelivered = await postForm(admin, `/admin/integrations/${row!.id}/deliveries/${deliveryId}/redeliver`, []);
    expect(redelivered.status).toBe(303);
    const status = async () => (await deliveriesOf(row!.id)).find((d) => d.id === deliveryId)?.status;
    for (let i = 0; i < 50 && (await status()) !== "delivered"; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await status()).toBe("delivered");

    expect((await postForm(admin, `/admin/integrations/${row!.id}/rotate`, [["overlapHours", "24"]])).status).toBe(200);
    expect((await postForm(admin, `/admin/integrations/${row!.id}/enabled`, [["enabled", "false"]])).status).toBe(303);
    expect((await postForm(admin, `/admin/integrations/${row!.id}/delete`, [])).status).toBe(303);
    expect(await env.DB.prepare("SELECT id FROM webhook_endpoints WHERE id = ?").bind(row!.id).first()).toBeNull();
    const audit = (await auditRowsAfter(auditBefore)).filter((r) => r.subject === row!.id || r.subject === deliveryId).map((r) => r.action);
    expect(audit).toEqual([
      "webhook_endpoint.created",
      "webhook_delivery.redelivered",
      "webhook_endpoint.secret_rotated",
      "webhook_endpoint.disabled",
      "webhook_endpoint.deleted",
    ]);
  });

  it("P16 SSRF through the form: a metadata address or no event is refused on the page, and nothing is stored or audited", async () => {
    const admin = await as("admin");
    const count = await countOf("webhook_endpoints");
    const auditBefore = await lastAuditId();
    const metadata = await postForm(admin, "/admin/integrations", [
      ["url", "https://169.254.169.254/latest/meta-data/"],
      ["events", "order.paid"],
    ]);
    expect(metadata.status).toBe(422);
    expect(await metadata.text()).toContain("metadata addresses are refused");
    const none = await postForm(admin, "/admin/integrations", [["url", "https://fine.example.net/x"]]);
    expect(none.status).toBe(422);
    expect(await countOf("webhook_endpoints")).toBe(count);
    expect((await auditRowsAfter(auditBefore)).filter((r) => r.action.startsWith("webhook_"))).toEqual([]);
  });
});
