import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { appJson, appRequest, as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { unique } from "../support/factories";

// Staff manage automatic promotions (issue 33, decision 030): admin only, strict bodies, audited.

type Promotion = { id: string; name: string; kind: string; percentOff: number | null; amountOffCents: number | null; active: boolean; uses: number };

const promotionRows = async () => (await env.DB.prepare("SELECT * FROM promotions ORDER BY id").all()).results;

function postForm(path: string, fields: Record<string, string>, headers: Record<string, string>): Promise<Response> {
  return appRequest(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost:8787", ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

// The workers project shares one storage across files: promotions made here are switched off
// after each test so they never reach another file's carts.
let existing = new Set<string>();
beforeAll(async () => {
  existing = new Set((await env.DB.prepare("SELECT id FROM promotions").all<{ id: string }>()).results.map((r) => r.id));
});
afterEach(async () => {
  const { results } = await env.DB.prepare("SELECT id FROM promotions WHERE active = 1").all<{ id: string }>();
  for (const r of results) if (!existing.has(r.id)) await env.DB.prepare("UPDATE promotions SET active = 0 WHERE id = ?").bind(r.id).run();
});

describe("staff manage automatic promotions (/api/admin/promotions, /admin/promotions)", () => {
  it("an admin creates, edits and deactivates a promotion; each change is audited; the list shows uses", async () => {
    const admin = await as("admin");
    const since = await lastAuditId();
    const created = await appJson(
      "POST",
      "/api/admin/promotions",
      { name: unique("Spring"), kind: "percent_off", percentOff: 15, currency: "EUR", minSubtotalCents: 2000 },
      admin,
    );
    expect(created.status).toBe(201);
    const p = (await created.json()) as Promotion;
    expect(p).toMatchObject({ kind: "percent_off", percentOff: 15, amountOffCents: null, active: true, uses: 0 });
    // Switching to an amount clears the percentage; then it is switched off.
    const edited = await appJson("PATCH", `/api/admin/promotions/${p.id}`, { kind: "amount_off", amountOffCents: 500 }, admin);
    expect(edited.status).toBe(200);
    expect(await edited.json()).toMatchObject({ kind: "amount_off", amountOffCents: 500, percentOff: null });
    expect((await appJson("PATCH", `/api/admin/promotions/${p.id}`, { active: false }, admin)).status).toBe(200);
    const list = (await (await appRequest("/api/admin/promotions", { headers: admin })).json()) as { items: Promotion[] };
    expect(list.items.find((i) => i.id === p.id)).toMatchObject({ active: false, uses: 0 });
    const actions = (await auditRowsAfter(since)).filter((r) => r.subject === p.id).map((r) => r.action);
    expect(actions).toEqual(["promotion.created", "promotion.updated", "promotion.updated"]);
  });

  it("bad bodies are problem+json 422 and write nothing: a kind without its value, two values, unknown fields, a window backwards, an uncharged currency", async () => {
    const admin = await as("admin");
    const before = await promotionRows();
    const since = await lastAuditId();
    const bodies = [
      { name: "A", kind: "percent_off", currency: "EUR" },
      { name: "A", kind: "free_shipping", currency: "EUR", percentOff: 10 },
      { name: "A", kind: "percent_off", currency: "EUR", percentOff: 10, amountOffCents: 100 },
      { name: "A", kind: "percent_off", currency: "EUR", percentOff: 101 },
      { name: "A", kind: "amount_off", currency: "EUR", amountOffCents: 1.5 },
      { name: "A", kind: "percent_off", currency: "EUR", percentOff: 10, uses: 0 },
      { name: "A", kind: "percent_off", currency: "EUR", percentOff: 10, id: "promo_mine" },
      { name: "A", kind: "percent_off", currency: "EUR", percentOff: 10, startsAt: "2030-01-02T00:00:00Z", endsAt: "2030-01-01T00:00:00Z" },
      { name: "A", kind: "percent_off", currency: "XXX", percentOff: 10 },
      { name: "line\nbreak", kind: "percent_off", currency: "EUR", percentOff: 10 },
    ];
    for (const body of bodies) {
      const res = await appJson("POST", "/api/admin/promotions", body, admin);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    const made = (await (
      await appJson("POST", "/api/admin/promotions", { name: unique("B"), kind: "free_shipping", currency: "EUR" }, admin)
    ).json()) as Promotion;
    const patched = await appJson("PATCH", `/api/admin/promotions/${made.id}`, { kind: "percent_off" }, admin);
    expect(patched.status).toBe(422);
    expect((await appJson("PATCH", "/api/admin/promotions/promo_nope", { active: false }, admin)).status).toBe(404);
    expect((await promotionRows()).length).toBe(before.length + 1);
    expect((await auditRowsAfter(since)).filter((r) => r.action.startsWith("promotion.")).length).toBe(1);
  });

  it("P16 support and customers cannot create, edit or list promotions: 403, and nothing changes (rows, audit)", async () => {
    const admin = await as("admin");
    const target = (await (
      await appJson("POST", "/api/admin/promotions", { name: unique("Kept"), kind: "percent_off", percentOff: 5, currency: "EUR" }, admin)
    ).json()) as Promotion;
    const before = await promotionRows();
    const since = await lastAuditId();
    for (const role of ["support", "customer"] as const) {
      const who = await as(role);
      const sinceRole = await lastAuditId();
      expect((await appJson("POST", "/api/admin/promotions", { name: "Mine", kind: "percent_off", percentOff: 90, currency: "EUR" }, who)).status).toBe(403);
      expect((await appJson("PATCH", `/api/admin/promotions/${target.id}`, { percentOff: 90 }, who)).status).toBe(403);
      expect((await appRequest("/api/admin/promotions", { headers: who })).status).toBe(403);
      expect((await postForm("/admin/promotions", { name: "Mine", kind: "percent_off", value: "90", currency: "EUR" }, who)).status).toBe(403);
      expect((await auditRowsAfter(sinceRole)).filter((r) => r.action.startsWith("promotion.")).length).toBe(0);
    }
    expect((await appJson("POST", "/api/admin/promotions", { name: "Anon", kind: "percent_off", percentOff: 90, currency: "EUR" })).status).toBe(401);
    expect(await promotionRows()).toEqual(before);
    expect((await auditRowsAfter(since)).filter((r) => r.action.startsWith("promotion.")).length).toBe(0);
  });

  it("the staff pages take decimal amounts, show uses and discount given, and link from the staff navigation", async () => {
    const admin = await as("admin");
    const name = unique("Five off");
    const res = await postForm("/admin/promotions", { name, kind: "amount_off", value: "5.50", currency: "EUR", minSubtotal: "20", active: "on" }, admin);
    expect(res.status).toBe(303);
    const row = await env.DB.prepare("SELECT * FROM promotions WHERE name = ?").bind(name).first<Record<string, unknown>>();
    expect(row).toMatchObject({ kind: "amount_off", amount_off_cents: 550, min_subtotal_cents: 2000, currency: "EUR", active: 1 });
    const bad = await postForm("/admin/promotions", { name: unique("Bad"), kind: "amount_off", value: "5.555", currency: "EUR" }, admin);
    expect(bad.status).toBe(422);
    const list = await (await appRequest("/admin/promotions", { headers: admin })).text();
    expect(list).toContain(`data-promotion-given="${row!.id}"`);
    expect(list).toContain('href="/admin/promotions"');
    const edit = await (await appRequest(`/admin/promotions/${row!.id}`, { headers: admin })).text();
    expect(edit).toContain('value="5.50"');
    const off = await postForm(`/admin/promotions/${row!.id}/active`, { active: "false" }, admin);
    expect(off.status).toBe(303);
    expect((await env.DB.prepare("SELECT active FROM promotions WHERE id = ?").bind(row!.id).first<{ active: number }>())!.active).toBe(0);
  });
});
