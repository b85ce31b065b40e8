import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { makeCoupon } from "../support/coupons";
import { unique } from "../support/factories";
import { makePendingOrder } from "../support/orders";

async function couponRow(code: string): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT * FROM coupons WHERE code = ?").bind(code).first();
}

function newCode(): string {
  return unique("cpn")
    .replaceAll(/[^A-Za-z0-9]/g, "")
    .slice(0, 40);
}

describe("staff API: coupons", { timeout: 30_000 }, () => {
  it("an admin creates a coupon: the code is normalised upper-case, the change is audited, the list and detail show it", async () => {
    const admin = await as("admin");
    const before = await lastAuditId();
    const code = newCode();
    const res = await sendJson(
      "POST",
      "/api/admin/coupons",
      { code: ` ${code.toLowerCase()} `, amountOffCents: 500, currency: "EUR", perCustomerLimit: 1, expiresAt: "2030-01-01T00:00:00Z" },
      admin,
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      code: code.toUpperCase(),
      percentOff: null,
      amountOffCents: 500,
      currency: "EUR",
      maxRedemptions: null,
      perCustomerLimit: 1,
      active: true,
      expiresAt: "2030-01-01T00:00:00.000Z",
    });
    const events = await auditRowsAfter(before);
    expect(events.map((e) => [e.action, e.subject])).toEqual([["coupon.created", code.toUpperCase()]]);
    expect(JSON.parse(events[0]!.detail).after).toMatchObject({ amountOffCents: 500, currency: "EUR" });

    const detail = await request(`/api/admin/coupons/${code.toLowerCase()}`, { headers: admin });
    expect(await detail.json()).toMatchObject({ coupon: { code: code.toUpperCase() }, redemptions: [], inUse: false });
    const again = await sendJson("POST", "/api/admin/coupons", { code, percentOff: 5 }, admin);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe("coupon_exists");
  });

  it("exactly one of percentOff / amountOffCents, valid ranges and an ordered window, or 422 and nothing is created", async () => {
    const admin = await as("admin");
    const before = await lastAuditId();
    const code = newCode();
    const bad = [
      { code, percentOff: 10, amountOffCents: 100 },
      { code },
      { code, percentOff: 0 },
      { code, percentOff: 101 },
      { code, percentOff: 10.5 },
      { code, amountOffCents: -1 },
      { code, percentOff: 10, currency: "USD" },
      { code, percentOff: 10, startsAt: "2030-01-02T00:00:00Z", expiresAt: "2030-01-01T00:00:00Z" },
      { code, percentOff: 10, maxRedemptions: 0 },
      { code: "", percentOff: 10 },
    ];
    for (const body of bad) {
      const res = await sendJson("POST", "/api/admin/coupons", body, admin);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    expect(await couponRow(code.toUpperCase())).toBeNull();
    expect(await lastAuditId()).toBe(before);
  });

  it("P16 mass assignment: unknown keys (redemptions, createdAt, id, role) in a coupon body are a 422 and change nothing", async () => {
    const admin = await as("admin");
    const coupon = await makeCoupon({ maxRedemptions: 3 });
    const stored = await couponRow(coupon.code);
    const before = await lastAuditId();
    const code = newCode();
    for (const extra of [{ redemptions: 0 }, { createdAt: "2000-01-01T00:00:00Z" }, { id: "x" }, { role: "admin" }]) {
      const created = await sendJson("POST", "/api/admin/coupons", { code, percentOff: 10, ...extra }, admin);
      expect(created.status, JSON.stringify(extra)).toBe(422);
      const patched = await sendJson("PATCH", `/api/admin/coupons/${coupon.code}`, { active: false, ...extra }, admin);
      expect(patched.status, JSON.stringify(extra)).toBe(422);
    }
    expect(await couponRow(code.toUpperCase())).toBeNull();
    expect(await couponRow(coupon.code)).toEqual(stored);
    expect(await lastAuditId()).toBe(before);
  });

  it("deactivating and editing record before/after of the changed fields only; the code cannot change", async () => {
    const admin = await as("admin");
    const coupon = await makeCoupon({ percentOff: 10 });
    const before = await lastAuditId();
    const off = await sendJson("PATCH", `/api/admin/coupons/${coupon.code.toLowerCase()}`, { active: false }, admin);
    expect(off.status).toBe(200);
    expect(await off.json()).toMatchObject({ code: coupon.code, active: false });
    const kind = await sendJson("PATCH", `/api/admin/coupons/${coupon.code}`, { amountOffCents: 250, active: false }, admin);
    expect(kind.status).toBe(200);
    expect(await kind.json()).toMatchObject({ percentOff: null, amountOffCents: 250, currency: "USD" });
    const events = await auditRowsAfter(before);
    expect(events.map((e) => e.action)).toEqual(["coupon.updated", "coupon.updated"]);
    expect(JSON.parse(events[0]!.detail)).toEqual({ changes: { active: { from: true, to: false } } });
    expect(JSON.parse(events[1]!.detail)).toEqual({
      changes: { percentOff: { from: 10, to: null }, amountOffCents: { from: null, to: 250 }, currency: { from: null, to: "USD" } },
    });

    const renamed = await sendJson("PATCH", `/api/admin/coupons/${coupon.code}`, { code: "OTHER", active: true }, admin);
    expect(renamed.status).toBe(422);
    expect(((await renamed.json()) as { code: string }).code).toBe("code_immutable");
    const missing = await sendJson("PATCH", "/api/admin/coupons/NOPE-NOT-HERE", { active: true }, admin);
    expect(missing.status).toBe(404);
    expect(await couponRow(coupon.code)).toMatchObject({ active: 0, amount_off_cents: 250 });
    expect((await auditRowsAfter(before)).length).toBe(2);
  });

  it("decision 004: a used code without a total limit cannot get one (409 coupon_limit_locked); an unused one can; a set limit can change", async () => {
    const admin = await as("admin");
    const redeemed = await makeCoupon();
    await env.DB.prepare("INSERT INTO coupon_redemptions (code, order_id, user_id, discount_cents) VALUES (?, ?, ?, ?)")
      .bind(redeemed.code, unique("ord"), unique("usr"), 125)
      .run();
    const reserved = await makeCoupon();
    await makePendingOrder({ couponCode: reserved.code });
    const before = await lastAuditId();
    for (const code of [redeemed.code, reserved.code]) {
      const res = await sendJson("PATCH", `/api/admin/coupons/${code}`, { maxRedemptions: 100 }, admin);
      expect(res.status, code).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe("coupon_limit_locked");
      expect(await couponRow(code)).toMatchObject({ max_redemptions: null });
    }
    expect(await lastAuditId()).toBe(before);

    const unused = await makeCoupon();
    expect((await sendJson("PATCH", `/api/admin/coupons/${unused.code}`, { maxRedemptions: 100 }, admin)).status).toBe(200);
    const limited = await makeCoupon({ maxRedemptions: 5 });
    await env.DB.prepare("INSERT INTO coupon_redemptions (code, order_id, user_id) VALUES (?, ?, ?)").bind(limited.code, unique("ord"), unique("usr")).run();
    expect((await sendJson("PATCH", `/api/admin/coupons/${limited.code}`, { maxRedemptions: 10 }, admin)).status).toBe(200);
    const unlimit = await sendJson("PATCH", `/api/admin/coupons/${limited.code}`, { maxRedemptions: null }, admin);
    expect(unlimit.status).toBe(409);
    expect(await couponRow(limited.code)).toMatchObject({ max_redemptions: 10 });
  });

  it("the detail shows the committed redemptions (coupon_redemptions rows)", async () => {
    const admin = await as("admin");
    const coupon = await makeCoupon();
    const orderId = unique("ord");
    await env.DB.prepare("INSERT INTO coupon_redemptions (code, order_id, user_id, discount_cents) VALUES (?, ?, ?, ?)")
      .bind(coupon.code, orderId, "usr_r", 300)
      .run();
    const res = await request(`/api/admin/coupons/${coupon.code}`, { headers: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ redemptions: [{ orderId, userId: "usr_r", discountCents: 300 }], inUse: true });
    const list = (await (await request("/api/admin/coupons?limit=100", { headers: admin })).json()) as { items: { code: string }[] };
    expect(list.items.map((k) => k.code)).toContain(coupon.code);
  });

  it("T10 a forged audit line through a crafted coupon code is refused before it reaches the log", async () => {
    const admin = await as("admin");
    const before = await lastAuditId();
    const forged = "X\n2030-01-01T00:00:00Z admin coupon.deleted ALL";
    const res = await sendJson("POST", "/api/admin/coupons", { code: forged, percentOff: 10 }, admin);
    expect(res.status).toBe(422);
    const viaPath = await sendJson("PATCH", `/api/admin/coupons/${encodeURIComponent(forged)}`, { active: false }, admin);
    expect(viaPath.status).toBe(404);
    expect(await lastAuditId()).toBe(before);
    const { results } = await env.DB.prepare("SELECT code FROM coupons WHERE code LIKE 'X%'").all();
    expect(results).toEqual([]);
  });
});

describe("coupon amounts the payment provider cannot charge are refused when staff save them (issue 29 item 8)", { timeout: 30_000 }, () => {
  it("API: an amount off the currency's step, over the maximum or in a currency the shop cannot charge is 422 with a stable code; nothing is written or audited", async () => {
    const admin = await as("admin");
    const auditBefore = await lastAuditId();
    for (const [body, code] of [
      [{ amountOffCents: 1005, currency: "KWD" }, "amount_not_chargeable"],
      [{ amountOffCents: 100_000_000, currency: "USD" }, "amount_above_maximum"],
      [{ amountOffCents: 500, currency: "ZZZ" }, "currency_not_chargeable"],
    ] as const) {
      const code_ = newCode();
      const res = await sendJson("POST", "/api/admin/coupons", { code: code_, ...body }, admin);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(((await res.json()) as { code: string }).code, JSON.stringify(body)).toBe(code);
      expect(await couponRow(code_.toUpperCase())).toBeNull();
    }
    expect(await lastAuditId()).toBe(auditBefore);
    // Percent coupons have no amount of their own: any currency's cart rounds their discount itself.
    expect((await sendJson("POST", "/api/admin/coupons", { code: newCode(), percentOff: 15 }, admin)).status).toBe(201);
  });

  it("API: a patch is checked against the amount and currency the coupon will have; the row and the audit log stay as they were", async () => {
    const admin = await as("admin");
    const coupon = await makeCoupon({ amountOffCents: 1015, currency: "USD" });
    const rowBefore = await couponRow(coupon.code);
    const auditBefore = await lastAuditId();
    for (const [patch, code] of [
      [{ currency: "BHD" }, "amount_not_chargeable"],
      [{ amountOffCents: 5, currency: "JOD" }, "amount_not_chargeable"],
      [{ amountOffCents: 100_000_000 }, "amount_above_maximum"],
      [{ currency: "XTS" }, "currency_not_chargeable"],
    ] as const) {
      const res = await sendJson("PATCH", `/api/admin/coupons/${coupon.code}`, patch, admin);
      expect(res.status, JSON.stringify(patch)).toBe(422);
      expect(((await res.json()) as { code: string }).code, JSON.stringify(patch)).toBe(code);
    }
    expect(await couponRow(coupon.code)).toEqual(rowBefore);
    expect(await lastAuditId()).toBe(auditBefore);
  });

  it("the staff form says why and writes nothing", async () => {
    const admin = await as("admin");
    const code = newCode();
    const res = await request("/admin/coupons", {
      method: "POST",
      headers: { ...admin, origin: "http://localhost:8787", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ code, kind: "amount", value: "1005", currency: "KWD", active: "on" }).toString(),
      redirect: "manual",
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("multiples of 10 minor units");
    expect(await couponRow(code.toUpperCase())).toBeNull();
  });
});
