import { env } from "cloudflare:workers";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { checkEndpointUrl } from "../../src/integrations/address-policy";
import { as, appRequest } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";
import { countOf, forgetEndpoints, registerEndpoint, staffSend } from "../support/webhooks";

afterEach(() => vi.restoreAllMocks());
afterAll(forgetEndpoints);

/** Every spelling of a place a webhook must never reach (T11/SSRF), as an admin would type it. */
const REFUSED: readonly string[] = [
  // not https
  "http://hooks.example.com/bastion",
  "ftp://hooks.example.com/bastion",
  "javascript:alert(1)",
  "not a url",
  // loopback in every IPv4 spelling the URL parser knows
  "https://127.0.0.1/hook",
  "https://127.1/hook",
  "https://127.0.1/hook",
  "https://2130706433/hook",
  "https://0177.0.0.1/hook",
  "https://0x7f.0.0.1/hook",
  "https://0x7f000001/hook",
  "https://017700000001/hook",
  "https://127.000.000.001/hook",
  // unspecified
  "https://0.0.0.0/hook",
  "https://0/hook",
  // private, CGNAT, link-local and cloud metadata
  "https://10.0.0.1/hook",
  "https://10.255.255.255/hook",
  "https://172.16.5.4/hook",
  "https://172.31.0.1/hook",
  "https://192.168.1.1/hook",
  "https://100.64.0.1/hook",
  "https://100.100.100.200/latest/meta-data",
  "https://169.254.169.254/latest/meta-data/",
  "https://0xa9fea9fe/latest/meta-data/",
  "https://2852039166/latest/meta-data/",
  "https://0251.0376.0251.0376/latest/meta-data/",
  "https://169.254.169.254.nip.io.0/",
  // multicast, broadcast, documentation, benchmarking
  "https://224.0.0.1/hook",
  "https://239.255.255.250/hook",
  "https://255.255.255.255/hook",
  "https://192.0.2.10/hook",
  "https://198.18.0.1/hook",
  // IPv6: loopback, unspecified, IPv4-mapped and -compatible, NAT64, 6to4, ULA, link-local, multicast
  "https://[::1]/hook",
  "https://[0:0:0:0:0:0:0:1]/hook",
  "https://[::]/hook",
  "https://[::ffff:127.0.0.1]/hook",
  "https://[::ffff:7f00:1]/hook",
  "https://[::ffff:169.254.169.254]/hook",
  "https://[::127.0.0.1]/hook",
  "https://[64:ff9b::a9fe:a9fe]/hook",
  "https://[2002:7f00:1::]/hook",
  "https://[fd00:ec2::254]/latest/meta-data/",
  "https://[fc00::1]/hook",
  "https://[fe80::1]/hook",
  "https://[fec0::1]/hook",
  "https://[ff02::1]/hook",
  "https://[2001:db8::1]/hook",
  // names that only exist on this machine or a private network
  "https://localhost/hook",
  "https://LOCALHOST./hook",
  "https://localhost:8787/api/dev/webhook-receiver",
  "https://shop.localhost/hook",
  "https://printer.local/hook",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://metadata/computeMetadata/v1/",
  "https://db.internal/hook",
  "https://router.home.arpa/hook",
  "https://intranet/hook",
  // credentials in the URL, privileged ports
  "https://user:pass@hooks.example.com/hook",
  "https://hooks.example.com:22/hook",
];

describe("webhook endpoints (staff API)", () => {
  it("P16 SSRF: endpoints pointing at private, loopback, link-local, CGNAT, multicast and metadata addresses in every spelling are refused with 422, and nothing is stored or audited", async () => {
    const admin = await as("admin");
    const endpointsBefore = await countOf("webhook_endpoints");
    const auditBefore = await lastAuditId();
    const accepted: string[] = [];
    for (const url of REFUSED) {
      const res = await staffSend(admin, "POST", "/api/admin/webhook-endpoints", { url, events: ["order.paid"] });
      const body = (await res.json()) as { code?: string; secret?: string };
      if (res.status !== 422 || body.code !== "endpoint_url_refused") accepted.push(`${url} → ${res.status} ${body.code}`);
      expect(body.secret).toBeUndefined();
    }
    expect(accepted).toEqual([]);
    expect(await countOf("webhook_endpoints")).toBe(endpointsBefore);
    expect((await auditRowsAfter(auditBefore)).filter((r) => r.action.startsWith("webhook_endpoint."))).toEqual([]);
  });

  it("P16 SSRF: the address rule refuses plain http and loopback outside development and the shop's own host, and accepts public https hosts", () => {
    const production = { allowLoopbackHttp: false, ownOrigin: "https://shop.example.com" };
    const development = { allowLoopbackHttp: true, ownOrigin: "http://localhost:8787" };
    for (const url of ["http://localhost:8787/api/dev/webhook-receiver", "http://127.0.0.1:8787/x", "http://[::1]:8787/x"]) {
      expect(checkEndpointUrl(url, production)).toMatchObject({ ok: false, reason: "scheme" });
      expect(checkEndpointUrl(url, development)).toMatchObject({ ok: true });
    }
    // Development's exception is loopback only, and only plain http to it.
    expect(checkEndpointUrl("http://10.0.0.1/x", development)).toMatchObject({ ok: false, reason: "scheme" });
    expect(checkEndpointUrl("http://user:pw@localhost:8787/x", development)).toMatchObject({ ok: false });
    expect(checkEndpointUrl("https://shop.example.com/api/x", production)).toMatchObject({ ok: false, reason: "own_origin" });
    for (const url of [
      "https://hooks.example.com/bastion",
      "https://93.184.216.34/x",
      "https://[2606:4700:4700::1111]/hook",
      "https://erp.example.org:8443/in",
    ]) {
      expect(checkEndpointUrl(url, production), url).toMatchObject({ ok: true });
    }
    for (const url of REFUSED) expect(checkEndpointUrl(url, production).ok, url).toBe(false);
  });

  it("an admin registers an endpoint: the whsec_ secret is answered once, stored only encrypted, never listed or logged; every change is audited", async () => {
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    const admin = await as("admin");
    const auditBefore = await lastAuditId();
    const created = await staffSend(admin, "POST", "/api/admin/webhook-endpoints", {
      url: "https://erp.example.com/hooks/bastion",
      events: ["order.paid", "order.shipped"],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const { id, secret, endpoint } = (await created.json()) as { id: string; secret: string; endpoint: { events: string[]; enabled: boolean } };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint).toMatchObject({ events: ["order.paid", "order.shipped"], enabled: true });
    const keyPart = secret.slice("whsec_".length);

    const listed = await staffSend(admin, "GET", "/api/admin/webhook-endpoints");
    const listText = await listed.text();
    expect(listText).toContain(id);
    expect(listText).not.toContain(keyPart);
    expect(listText).not.toMatch(/ciphertext|whsec_/i);
    const row = await env.DB.prepare("SELECT secret_ciphertext FROM webhook_endpoints WHERE id = ?").bind(id).first<{ secret_ciphertext: string }>();
    expect(row!.secret_ciphertext).toMatch(/^v1\./);
    expect(row!.secret_ciphertext).not.toContain(keyPart);
    // A ciphertext copied onto another row does not decrypt there (the row id is the associated data).
    const { decryptSecret } = await import("../../src/integrations/secrets");
    expect(await decryptSecret(env, id, row!.secret_ciphertext)).toBe(secret);
    await expect(decryptSecret(env, "whe_other", row!.secret_ciphertext)).rejects.toThrow();

    const rotated = await staffSend(admin, "POST", `/api/admin/webhook-endpoints/${id}/rotate-secret`, { overlapHours: 24 });
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as { secret: string; endpoint: { previousSecretExpiresAt: string | null } };
    expect(next.secret).not.toBe(secret);
    expect(next.endpoint.previousSecretExpiresAt).not.toBeNull();
    expect((await staffSend(admin, "PATCH", `/api/admin/webhook-endpoints/${id}`, { enabled: false })).status).toBe(200);
    expect((await staffSend(admin, "DELETE", `/api/admin/webhook-endpoints/${id}`)).status).toBe(204);
    expect((await staffSend(admin, "DELETE", `/api/admin/webhook-endpoints/${id}`)).status).toBe(404);

    const audit = (await auditRowsAfter(auditBefore)).filter((r) => r.subject === id);
    expect(audit.map((r) => r.action)).toEqual([
      "webhook_endpoint.created",
      "webhook_endpoint.secret_rotated",
      "webhook_endpoint.disabled",
      "webhook_endpoint.deleted",
    ]);
    const everything = [...logged, ...audit.map((r) => r.detail), listText].join("\n");
    for (const s of [secret, keyPart, next.secret, next.secret.slice(6)]) expect(everything).not.toContain(s);
  });

  it("P16 support staff, customers and guests cannot list, register, change, rotate, delete or redeliver webhook endpoints; nothing changes", async () => {
    const admin = await as("admin");
    const target = await registerEndpoint(admin, "https://books.example.com/in", ["order.refunded"]);
    const before = await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").bind(target.id).first();
    const auditBefore = await lastAuditId();
    const countBefore = await countOf("webhook_endpoints");
    const attempts: [string, string, unknown?][] = [
      ["GET", "/api/admin/webhook-endpoints"],
      ["POST", "/api/admin/webhook-endpoints", { url: "https://evil.example.com/x", events: ["order.paid"] }],
      ["PATCH", `/api/admin/webhook-endpoints/${target.id}`, { enabled: false }],
      ["POST", `/api/admin/webhook-endpoints/${target.id}/rotate-secret`, { overlapHours: 0 }],
      ["DELETE", `/api/admin/webhook-endpoints/${target.id}`],
      ["GET", `/api/admin/webhook-endpoints/${target.id}/deliveries`],
      ["POST", `/api/admin/webhook-endpoints/${target.id}/deliveries/whd_x/redeliver`],
    ];
    for (const who of [await as("support"), await as("customer"), {}]) {
      for (const [method, path, body] of attempts) {
        const res = await staffSend(who, method, path, body);
        expect([401, 403], `${method} ${path}`).toContain(res.status);
        expect(await res.text()).not.toContain("whsec_");
      }
      // The staff page too.
      const page = await appRequest("/admin/integrations", { headers: who });
      expect([401, 403]).toContain(page.status);
      const form = await appRequest(`/admin/integrations/${target.id}/delete`, {
        method: "POST",
        headers: { ...who, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: "",
        redirect: "manual",
      });
      expect([401, 403]).toContain(form.status);
    }
    expect(await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").bind(target.id).first()).toEqual(before);
    expect(await countOf("webhook_endpoints")).toBe(countBefore);
    expect((await auditRowsAfter(auditBefore)).filter((r) => r.action.startsWith("webhook_"))).toEqual([]);
  });

  it("P16 mass assignment: unknown fields, unknown events and an empty event list are a 422 and change nothing", async () => {
    const admin = await as("admin");
    const countBefore = await countOf("webhook_endpoints");
    for (const body of [
      { url: "https://hooks.example.com/a", events: ["order.paid"], secret: "whsec_chosen" },
      { url: "https://hooks.example.com/a", events: ["order.paid"], enabled: false, id: "whe_mine" },
      { url: "https://hooks.example.com/a", events: ["order.deleted"] },
      { url: "https://hooks.example.com/a", events: [] },
      { url: "https://hooks.example.com/a" },
      { url: 42, events: ["order.paid"] },
    ]) {
      const res = await staffSend(admin, "POST", "/api/admin/webhook-endpoints", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(((await res.json()) as { code: string }).code).toBe("validation_failed");
    }
    expect(await countOf("webhook_endpoints")).toBe(countBefore);
  });
});
