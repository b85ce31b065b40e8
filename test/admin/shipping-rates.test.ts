import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { as, appRequest as request } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";

function send(headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<Response> {
  return request(path, {
    method,
    headers: { ...headers, origin: ORIGIN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function form(headers: Record<string, string>, path: string, fields: Record<string, string>): Promise<Response> {
  return request(path, {
    method: "POST",
    headers: { ...headers, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

async function rateRows(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM shipping_rates").first<{ n: number }>())!.n;
}

describe("shipping rates (staff)", () => {
  it("an admin creates, edits and retires a rate over the API; shoppers see only active rates; every change is audited first", async () => {
    const admin = await as("admin");
    const before = await lastAuditId();
    const created = await send(admin, "POST", "/api/admin/shipping-rates", {
      name: "Courier",
      amountCents: 1200,
      currency: "chf",
      minDays: 1,
      maxDays: 2,
      freeAboveCents: 20000,
    });
    expect(created.status).toBe(201);
    const rate = (await created.json()) as { id: string; currency: string; active: boolean };
    expect(rate).toMatchObject({ currency: "CHF", active: true });
    const offered = async () =>
      ((await (await request("/api/shipping-rates?currency=CHF&goodsCents=100")).json()) as { items: { id: string; amountCents: number }[] }).items;
    expect(await offered()).toEqual([expect.objectContaining({ id: rate.id, amountCents: 1200 })]);

    const patched = await send(admin, "PATCH", `/api/admin/shipping-rates/${rate.id}`, { amountCents: 1500, active: false });
    expect(patched.status).toBe(200);
    expect(await offered()).toEqual([]);
    const audit = await auditRowsAfter(before);
    expect(audit.map((a) => a.action)).toEqual(["shipping_rate.created", "shipping_rate.updated"]);
    expect(audit.every((a) => a.subject === rate.id)).toBe(true);
  });

  it("refuses bad rates with problem+json and writes nothing: negative or fractional amounts, days out of order, unknown fields", async () => {
    const admin = await as("admin");
    const rows = await rateRows();
    const before = await lastAuditId();
    const bad: unknown[] = [
      { name: "X", amountCents: -1, currency: "USD" },
      { name: "X", amountCents: 1.5, currency: "USD" },
      { name: "X", amountCents: 100, currency: "US" },
      { name: "X", amountCents: 100, currency: "USD", minDays: 5, maxDays: 2 },
      { name: "", amountCents: 100, currency: "USD" },
      { name: "X", amountCents: 100, currency: "USD", id: "shr_mine" },
    ];
    for (const body of bad) {
      const res = await send(admin, "POST", "/api/admin/shipping-rates", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(await rateRows()).toBe(rows);
    expect(await auditRowsAfter(before)).toEqual([]);
    expect((await send(admin, "PATCH", "/api/admin/shipping-rates/shr_missing", { active: false })).status).toBe(404);
  });

  it("P16 support staff and customers cannot create or change rates; nothing is written", async () => {
    const support = await as("support");
    const customer = await as("customer");
    const rows = await rateRows();
    for (const who of [support, customer]) {
      const res = await send(who, "POST", "/api/admin/shipping-rates", { name: "Free for me", amountCents: 0, currency: "USD" });
      expect(res.status).toBe(403);
      expect((await form(who, "/admin/shipping-rates", { name: "Free", amount: "0", currency: "USD" })).status).toBe(403);
    }
    expect((await send({}, "POST", "/api/admin/shipping-rates", { name: "Anon", amountCents: 0, currency: "USD" })).status).toBe(401);
    expect(await rateRows()).toBe(rows);
  });

  it("the staff page takes prices as decimals in the rate's currency (JPY has no decimals) and retires a rate with one button", async () => {
    const admin = await as("admin");
    const created = await form(admin, "/admin/shipping-rates", {
      name: "Yamato",
      amount: "800",
      currency: "JPY",
      freeAbove: "",
      minDays: "1",
      maxDays: "3",
      sortOrder: "0",
    });
    expect(created.status).toBe(303);
    const row = await env.DB.prepare("SELECT id, amount_cents AS amount, active FROM shipping_rates WHERE name = 'Yamato'").first<{
      id: string;
      amount: number;
      active: number;
    }>();
    expect(row).toMatchObject({ amount: 800, active: 1 });
    const usd = await form(admin, "/admin/shipping-rates", {
      name: "Parcel",
      amount: "4.95",
      currency: "USD",
      freeAbove: "75",
      minDays: "",
      maxDays: "",
      sortOrder: "2",
    });
    expect(usd.status).toBe(303);
    expect(await env.DB.prepare("SELECT amount_cents AS a, free_above_cents AS f FROM shipping_rates WHERE name = 'Parcel'").first()).toEqual({
      a: 495,
      f: 7500,
    });
    const refused = await form(admin, "/admin/shipping-rates", { name: "Bad", amount: "4.955", currency: "USD" });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain("amount");
    const page = await request("/admin/shipping-rates", { headers: admin });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("¥800");
    expect((await form(admin, `/admin/shipping-rates/${row!.id}/active`, { active: "false" })).status).toBe(303);
    expect((await env.DB.prepare("SELECT active FROM shipping_rates WHERE id = ?").bind(row!.id).first<{ active: number }>())!.active).toBe(0);
  });
});

describe("shipping rates the payment provider cannot charge are refused when staff save them (issue 29 item 8)", () => {
  it("API: an amount off the currency's step, over the maximum or in a currency the shop cannot charge is 422 with a stable code; nothing is written or audited", async () => {
    const admin = await as("admin");
    const rowsBefore = await rateRows();
    const auditBefore = await lastAuditId();
    for (const [body, code] of [
      [{ name: "Dinar post", amountCents: 1005, currency: "KWD" }, "amount_not_chargeable"],
      [{ name: "Rial post", amountCents: 3, currency: "OMR" }, "amount_not_chargeable"],
      [{ name: "Gold courier", amountCents: 100_000_000, currency: "USD" }, "amount_above_maximum"],
      [{ name: "Test money", amountCents: 500, currency: "XTS" }, "currency_not_chargeable"],
    ] as const) {
      const res = await send(admin, "POST", "/api/admin/shipping-rates", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code, JSON.stringify(body)).toBe(code);
    }
    expect(await rateRows()).toBe(rowsBefore);
    expect(await lastAuditId()).toBe(auditBefore);
  });

  it("API: a patch is checked against the amount and currency the rate will have; nothing is written or audited; an old rate can still be retired", async () => {
    const admin = await as("admin");
    const created = await send(admin, "POST", "/api/admin/shipping-rates", { name: "Post", amountCents: 1015, currency: "USD" });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const rowBefore = await env.DB.prepare("SELECT * FROM shipping_rates WHERE id = ?").bind(id).first();
    const auditBefore = await lastAuditId();
    for (const [patch, code] of [
      [{ currency: "KWD" }, "amount_not_chargeable"], // 1015 is 1.015 KWD: off the 10-fils step
      [{ amountCents: 2005, currency: "TND" }, "amount_not_chargeable"],
      [{ amountCents: 100_000_000 }, "amount_above_maximum"],
      [{ currency: "ZZZ", name: "Elsewhere" }, "currency_not_chargeable"],
    ] as const) {
      const res = await send(admin, "PATCH", `/api/admin/shipping-rates/${id}`, patch);
      expect(res.status, JSON.stringify(patch)).toBe(422);
      expect(((await res.json()) as { code: string }).code, JSON.stringify(patch)).toBe(code);
    }
    expect(await env.DB.prepare("SELECT * FROM shipping_rates WHERE id = ?").bind(id).first()).toEqual(rowBefore);
    expect(await lastAuditId()).toBe(auditBefore);
    // A rate stored before these rules (1.005 KWD) can still be retired: only a new amount or currency is checked.
    await env.DB.prepare("UPDATE shipping_rates SET currency = 'KWD', amount_cents = 1005 WHERE id = ?").bind(id).run();
    const retired = await send(admin, "PATCH", `/api/admin/shipping-rates/${id}`, { active: false });
    expect(retired.status).toBe(200);
    expect(await retired.json()).toMatchObject({ active: false, currency: "KWD", amountCents: 1005 });
  });

  it("the staff form says why and writes nothing", async () => {
    const admin = await as("admin");
    const rowsBefore = await rateRows();
    const res = await form(admin, "/admin/shipping-rates", { name: "Dinar post", currency: "KWD", amount: "1.005", minDays: "", maxDays: "" });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("multiples of 10 minor units");
    expect(await rateRows()).toBe(rowsBefore);
  });
});
