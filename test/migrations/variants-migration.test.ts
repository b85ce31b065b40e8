import { beforeAll, describe, expect, it } from "vitest";
import { all, apply, dropEverything, run } from "../support/migrations";

// Migration 0019 (variants) on a database in the shape before it: every table is dropped, the
// migrations before 0019 are applied, rows are written in that shape, then 0019 runs.
const VARIANTS = "0019_";

describe("migration 0019 (variants) on a database in today's shape", () => {
  beforeAll(async () => {
    await dropEverything();
    await apply((name) => name < VARIANTS);
    // Today's shape: hidden, one price and one stock per product; order lines name a product only.
    await run(
      "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, hidden) VALUES ('prd_mug', 'mug', 'Mug', 'A mug', 1200, 'USD', 7, 0), ('prd_old', 'old', 'Old', 'Gone', 500, 'USD', 0, 1)",
    );
    await run(
      "INSERT INTO orders (id, user_id, currency, subtotal_cents, total_cents, provider, status) VALUES ('ord_1', 'u1', 'USD', 2900, 2900, 'simulator', 'paid')",
    );
    await run(
      "INSERT INTO order_lines (order_id, product_id, name, unit_price_cents, quantity) VALUES ('ord_1', 'prd_mug', 'Mug', 1200, 2), ('ord_1', 'prd_old', 'Old', 500, 1)",
    );
    // A line refund made before variants: two lines of one refund name their products only.
    await run("INSERT INTO order_refunds (id, order_id, amount_cents, idempotency_key, requested_by) VALUES ('rf_1', 'ord_1', 1700, 'k1', 'staff_1')");
    await run(
      "INSERT INTO order_refund_lines (refund_id, order_id, product_id, quantity, amount_cents, restock) VALUES ('rf_1', 'ord_1', 'prd_mug', 1, 1200, 1), ('rf_1', 'ord_1', 'prd_old', 1, 500, 0)",
    );
    await apply((name) => name.startsWith(VARIANTS));
  });

  it("gives every product exactly one default variant carrying its price and stock", async () => {
    const variants = await all<{ id: string; product_id: string; price_cents: number; stock: number; option1: string; sku: string | null }>(
      "SELECT id, product_id, price_cents, stock, option1, sku FROM product_variants ORDER BY product_id",
    );
    expect(variants).toEqual([
      { id: "var_prd_mug", product_id: "prd_mug", price_cents: 1200, stock: 7, option1: "", sku: null },
      { id: "var_prd_old", product_id: "prd_old", price_cents: 500, stock: 0, option1: "", sku: null },
    ]);
    expect(await all("SELECT * FROM product_options")).toEqual([]);
  });

  it("turns hidden into a draft and visible into active, with empty vendor and tags", async () => {
    const rows = await all<{ id: string; status: string; vendor: string | null; tags: string; price_cents: number; stock: number }>(
      "SELECT id, status, vendor, tags, price_cents, stock FROM products ORDER BY id",
    );
    expect(rows).toEqual([
      { id: "prd_mug", status: "active", vendor: null, tags: "[]", price_cents: 1200, stock: 7 },
      { id: "prd_old", status: "draft", vendor: null, tags: "[]", price_cents: 500, stock: 0 },
    ]);
    const columns = await all<{ name: string }>("SELECT name FROM pragma_table_info('products')");
    expect(columns.map((c) => c.name)).not.toContain("hidden");
  });

  it("gives every order line its variant, with no SKU and no option values", async () => {
    const lines = await all<{ product_id: string; variant_id: string; sku: string | null; option_values: string }>(
      "SELECT product_id, variant_id, sku, option_values FROM order_lines ORDER BY product_id",
    );
    expect(lines).toEqual([
      { product_id: "prd_mug", variant_id: "var_prd_mug", sku: null, option_values: "{}" },
      { product_id: "prd_old", variant_id: "var_prd_old", sku: null, option_values: "{}" },
    ]);
  });

  it("gives every refunded line its order line's variant, and one refund one row per variant", async () => {
    const lines = await all<{ product_id: string; variant_id: string; quantity: number }>(
      "SELECT product_id, variant_id, quantity FROM order_refund_lines ORDER BY product_id",
    );
    expect(lines).toEqual([
      { product_id: "prd_mug", variant_id: "var_prd_mug", quantity: 1 },
      { product_id: "prd_old", variant_id: "var_prd_old", quantity: 1 },
    ]);
    await expect(
      run(
        "INSERT INTO order_refund_lines (refund_id, order_id, product_id, variant_id, quantity, amount_cents) VALUES ('rf_1', 'ord_1', 'prd_mug', 'var_prd_mug', 1, 0)",
      ),
    ).rejects.toThrow(/UNIQUE/);
  });

  it("opens the inventory ledger with each variant's stock", async () => {
    const ledger = await all<{ variant_id: string; delta: number; stock_after: number; reason: string; actor: string }>(
      "SELECT variant_id, delta, stock_after, reason, actor FROM inventory_ledger ORDER BY id",
    );
    expect(ledger).toEqual([{ variant_id: "var_prd_mug", delta: 7, stock_after: 7, reason: "opening_balance", actor: "system" }]);
    const notes = await all<{ n: number }>("SELECT count(*) AS n FROM product_variants WHERE stock_reason IS NOT NULL OR stock_actor IS NOT NULL");
    expect(notes[0]!.n).toBe(0);
  });

  it("keeps the catalog version moving: a hidden product made public changes it", async () => {
    const [before] = await all<{ version: string }>("SELECT version FROM catalog_state WHERE id = 1");
    await run("UPDATE products SET status = 'active' WHERE id = 'prd_old'");
    const [after] = await all<{ version: string }>("SELECT version FROM catalog_state WHERE id = 1");
    expect(after!.version).not.toBe(before!.version);
  });

  it("refuses a stock change that does not say why, and records one that does (ledger, summary, low-stock alert)", async () => {
    await expect(run("UPDATE product_variants SET stock = 3 WHERE id = 'var_prd_mug'")).rejects.toThrow(/inventory_reason_required/);
    await run("UPDATE product_variants SET low_stock_threshold = 4 WHERE id = 'var_prd_mug'");
    await run("UPDATE product_variants SET stock = 3, stock_reason = 'staff_edit', stock_actor = 'staff_1' WHERE id = 'var_prd_mug'");
    await run("UPDATE product_variants SET stock = 2, stock_reason = 'sale', stock_actor = 'u2', stock_ref = 'ord_2' WHERE id = 'var_prd_mug'");
    const ledger = await all<{ delta: number; stock_after: number; reason: string; actor: string; ref: string | null }>(
      "SELECT delta, stock_after, reason, actor, ref FROM inventory_ledger WHERE variant_id = 'var_prd_mug' ORDER BY id",
    );
    expect(ledger.slice(1)).toEqual([
      { delta: -4, stock_after: 3, reason: "staff_edit", actor: "staff_1", ref: null },
      { delta: -1, stock_after: 2, reason: "sale", actor: "u2", ref: "ord_2" },
    ]);
    // One alert for the crossing; the sale below the threshold folded into it.
    expect(await all("SELECT variant_id, stock, threshold FROM low_stock_alerts")).toEqual([{ variant_id: "var_prd_mug", stock: 3, threshold: 4 }]);
    expect(await all("SELECT stock FROM products WHERE id = 'prd_mug'")).toEqual([{ stock: 2 }]);
    // The note never outlives its change: a writer without a reason is refused again.
    await expect(run("UPDATE product_variants SET stock = 9 WHERE id = 'var_prd_mug'")).rejects.toThrow(/inventory_reason_required/);
  });

  it("refuses a variant below zero stock and a second variant with the same options or SKU", async () => {
    await expect(run("UPDATE product_variants SET stock = -1, stock_reason = 'sale', stock_actor = 'u' WHERE id = 'var_prd_mug'")).rejects.toThrow(
      /product_variants_stock_nonnegative/,
    );
    await expect(run("INSERT INTO product_variants (id, product_id, price_cents) VALUES ('var_dup', 'prd_mug', 100)")).rejects.toThrow(/UNIQUE/);
    await run("UPDATE product_variants SET sku = 'MUG-1' WHERE id = 'var_prd_mug'");
    await expect(run("UPDATE product_variants SET sku = 'MUG-1' WHERE id = 'var_prd_old'")).rejects.toThrow(/UNIQUE/);
  });
});
