import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { all, apply, dropEverything, run } from "../support/migrations";

// The returns migration on a database in the shape before it: every table is dropped, the
// migrations before it are applied, a delivered order with a refunded line is written in that
// shape, then the returns migration runs (found by its name: the lead may renumber it).

const isReturns = (name: string) => /^\d{4}_returns\.sql$/.test(name);

describe("migration: returns, on a database in today's shape", () => {
  let returnsName = "";
  beforeAll(async () => {
    returnsName = env.TEST_MIGRATIONS.find((m) => isReturns(m.name))!.name;
    await dropEverything();
    await apply((name) => name < returnsName);
    await run(
      "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status) VALUES ('prd_mug', 'mug', 'Mug', 'A mug', 1200, 'USD', 7, 'active')",
    );
    await run(
      "INSERT INTO orders (id, user_id, currency, subtotal_cents, total_cents, provider, status, fulfilment, delivered_at) VALUES ('ord_1', 'u1', 'USD', 2400, 2400, 'simulator', 'paid', 'delivered', '2026-12-01T00:00:00.000Z')",
    );
    await run(
      "INSERT INTO order_lines (order_id, product_id, variant_id, name, unit_price_cents, quantity) VALUES ('ord_1', 'prd_mug', 'var_prd_mug', 'Mug', 1200, 2)",
    );
    await apply((name) => name === returnsName);
  });

  it("keeps orders and their lines, and starts with no returns", async () => {
    expect(await all("SELECT id, status, fulfilment FROM orders")).toEqual([{ id: "ord_1", status: "paid", fulfilment: "delivered" }]);
    expect(await all("SELECT order_id, quantity FROM order_lines")).toEqual([{ order_id: "ord_1", quantity: 2 }]);
    expect(await all("SELECT * FROM return_requests")).toEqual([]);
  });

  it("takes a return of an existing order with its lines, defaults filled in", async () => {
    await run("INSERT INTO return_requests (id, order_id, requested_by) VALUES ('ret_1', 'ord_1', 'u1')");
    await run("INSERT INTO return_lines (return_id, order_id, product_id, variant_id, quantity) VALUES ('ret_1', 'ord_1', 'prd_mug', 'var_prd_mug', 1)");
    expect(await all("SELECT status, reason, refund_cents FROM return_requests")).toEqual([{ status: "requested", reason: "", refund_cents: null }]);
    expect(await all("SELECT quantity, restock FROM return_lines")).toEqual([{ quantity: 1, restock: 1 }]);
  });

  it("refuses a return of no order, an unknown status, a line of zero units or a negative refund", async () => {
    await expect(run("INSERT INTO return_requests (id, order_id, requested_by) VALUES ('ret_x', 'ord_missing', 'u1')")).rejects.toThrow();
    await expect(run("INSERT INTO return_requests (id, order_id, requested_by, status) VALUES ('ret_y', 'ord_1', 'u1', 'lost')")).rejects.toThrow();
    await expect(
      run("INSERT INTO return_lines (return_id, order_id, product_id, variant_id, quantity) VALUES ('ret_1', 'ord_1', 'prd_mug', 'var_2', 0)"),
    ).rejects.toThrow();
    await expect(run("UPDATE return_requests SET refund_cents = -1 WHERE id = 'ret_1'")).rejects.toThrow();
    expect(await all("SELECT id FROM return_requests")).toEqual([{ id: "ret_1" }]);
  });

  it("deletes an order's returns with it (cascade)", async () => {
    await run("DELETE FROM order_lines WHERE order_id = 'ord_1'");
    await run("DELETE FROM orders WHERE id = 'ord_1'");
    expect(await all("SELECT * FROM return_requests")).toEqual([]);
    expect(await all("SELECT * FROM return_lines")).toEqual([]);
  });
});
