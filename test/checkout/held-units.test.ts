import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HELD_UNIT_LIMITS } from "../../src/checkout/held-units";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { CART_COOKIE, newGuestCartId } from "../../src/cart/cart";
import { countRows, makeProduct, unique } from "../support/factories";
import { ORIGIN, randomTestAddress, request } from "../support/http";
import { stockOf } from "../support/orders";

/** A guest with its own cart cookie, always from `address`. */
function guest(address = randomTestAddress()) {
  const cookie = `${CART_COOKIE}=${newGuestCartId()}`;
  const send = (method: string, path: string, body?: unknown) =>
    request(path, {
      method,
      headers: { cookie, origin: ORIGIN, "cf-connecting-ip": address, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    add: async (productId: string, quantity: number) => expect((await send("POST", "/api/cart/items", { productId, quantity })).status).toBe(200),
    checkout: (email: string) => send("POST", "/api/checkout", { email }),
    send,
  };
}

async function refusal(res: Response) {
  return { status: res.status, code: ((await res.clone().json()) as { code: string }).code, retryAfter: Number(res.headers.get("retry-after")) };
}

describe("hoarding bounds on open checkouts (issue 33)", () => {
  it("T08 stock hoarding: one mailbox holds at most 100 units in open checkouts, through new carts and aliases; the refusal is 429 with Retry-After and writes nothing", async () => {
    expect(HELD_UNIT_LIMITS.mailbox).toBe(100);
    const product = await makeProduct({ stock: 1000, priceCents: 100 });
    const email = `${unique("hoard").toLowerCase()}@gmail.com`;
    const first = guest();
    await first.add(product.id, 99);
    expect((await first.checkout(email)).status).toBe(201);
    const second = guest();
    await second.add(product.id, 2);
    const [local, domain] = email.split("@") as [string, string];
    const before = { orders: await countRows("orders"), lines: await countRows("order_lines"), stock: await stockOf(product.id), audit: await lastAuditId() };
    const res = await second.checkout(`${local.toUpperCase()}+again@${domain}`);
    const r = await refusal(res);
    expect(r).toMatchObject({ status: 429, code: "too_many_held_units" });
    expect(r.retryAfter).toBeGreaterThan(0);
    expect(r.retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect({ orders: await countRows("orders"), lines: await countRows("order_lines"), stock: await stockOf(product.id) }).toEqual({
      orders: before.orders,
      lines: before.lines,
      stock: before.stock,
    });
    expect((await auditRowsAfter(before.audit)).filter((e) => e.action === "checkout.started")).toEqual([]);
    // The refused cart is not left locked, and one unit still fits.
    expect((await second.send("PUT", `/api/cart/items/${product.id}`, { quantity: 1 })).status).toBe(200);
    expect((await second.checkout(email)).status).toBe(201);
  });

  it("orders from before the hoarding columns (holder unknown) count for nobody's mailbox or address", async () => {
    const product = await makeProduct({ stock: 1000, priceCents: 100 });
    const email = `${unique("old").toLowerCase()}@example.com`;
    const first = guest();
    await first.add(product.id, 99);
    const res = await first.checkout(email);
    expect(res.status).toBe(201);
    const { orderId } = (await res.json()) as { orderId: string };
    // The shape of an order written before migration held_units: no holder columns.
    await env.DB.prepare("UPDATE orders SET holder_mailbox = NULL, opened_from = NULL WHERE id = ?").bind(orderId).run();
    const second = guest();
    await second.add(product.id, 99);
    expect((await second.checkout(email)).status).toBe(201);
  });

  it("T08 stock hoarding: one network address holds at most 250 units, whatever carts and mailboxes it uses", async () => {
    const product = await makeProduct({ stock: 1000, priceCents: 100 });
    const address = randomTestAddress();
    for (let i = 0; i < 2; i++) {
      const g = guest(address);
      await g.add(product.id, 99);
      expect((await g.checkout(`${unique("a")}@example.com`)).status).toBe(201);
    }
    const third = guest(address);
    await third.add(product.id, 99);
    const stock = await stockOf(product.id);
    expect(await refusal(await third.checkout(`${unique("a")}@example.com`))).toMatchObject({ status: 429, code: "too_many_held_units" });
    expect(await stockOf(product.id)).toBe(stock);
    // Another network is not bounded by this one.
    const elsewhere = guest();
    await elsewhere.add(product.id, 99);
    expect((await elsewhere.checkout(`${unique("a")}@example.com`)).status).toBe(201);
  });

  it("T08 race: 10 carts of one mailbox check out 20 units each at once: exactly 5 hold stock (the bound is in the order's write batch)", async () => {
    const product = await makeProduct({ stock: 1000, priceCents: 100 });
    const email = `${unique("race").toLowerCase()}@example.com`;
    const carts = Array.from({ length: 10 }, () => guest());
    for (const g of carts) await g.add(product.id, 20);
    const before = await countRows("orders");
    const results = await Promise.all(carts.map((g) => g.checkout(email)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(201), ...Array(5).fill(429)]);
    expect(await countRows("orders")).toBe(before + 5);
    expect(await stockOf(product.id)).toBe(900);
  }, 60_000);
});
