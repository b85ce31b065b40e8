import { beforeAll, describe, expect, it } from "vitest";
import { all, apply, dropEverything, run } from "../support/migrations";

// The stock gate's migration (decision 028) on a database in the shape before it: a variant with
// stock and a ledger row, then the migration (found by its name: migrations may be renumbered).
const isGate = (name: string) => /^\d{4}_stock_gate_shards\.sql$/.test(name);

describe("migration: stock gate shards, on a database in today's shape", () => {
  beforeAll(async () => {
    await dropEverything();
    let seen = false;
    await apply((name) => {
      seen ||= isGate(name);
      return !seen;
    });
    await run(
      "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status) VALUES ('prd_old', 'old', 'Old', 'Old', 900, 'USD', 0, 'active')",
    );
    await run(
      "INSERT INTO product_variants (id, product_id, price_cents, stock, stock_reason, stock_actor) VALUES ('var_prd_old', 'prd_old', 900, 7, 'opening_balance', 'test')",
    );
    await apply(isGate);
  });

  it("gives every existing variant one shard and keeps its stock, ledger and triggers", async () => {
    expect(await all("SELECT id, stock, gate_shards FROM product_variants")).toEqual([{ id: "var_prd_old", stock: 7, gate_shards: 1 }]);
    // The ledger trigger survived (the column was added in place, not by a table rebuild).
    await run("UPDATE product_variants SET stock = 6, stock_reason = 'sale', stock_actor = 'u' WHERE id = 'var_prd_old'");
    expect(await all("SELECT delta, stock_after FROM inventory_ledger WHERE variant_id = 'var_prd_old' ORDER BY id")).toEqual([
      { delta: 7, stock_after: 7 },
      { delta: -1, stock_after: 6 },
    ]);
    await expect(run("UPDATE product_variants SET stock = 5 WHERE id = 'var_prd_old'")).rejects.toThrow(/inventory_reason_required/);
  });

  it("refuses a shard count outside 1 to 8", async () => {
    await expect(run("UPDATE product_variants SET gate_shards = 0 WHERE id = 'var_prd_old'")).rejects.toThrow(/CHECK/);
    await expect(run("UPDATE product_variants SET gate_shards = 9 WHERE id = 'var_prd_old'")).rejects.toThrow(/CHECK/);
    await run("UPDATE product_variants SET gate_shards = 4 WHERE id = 'var_prd_old'");
    expect(await all("SELECT gate_shards FROM product_variants")).toEqual([{ gate_shards: 4 }]);
  });
});
