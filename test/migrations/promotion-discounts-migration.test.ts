import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { all, dropEverything, run } from "../support/migrations";

// Migration promotion_discounts (decision 030) on a database in the shape before it: every table
// is dropped, the migrations before it are applied, a free-shipping promotion and a paid order
// with a code's discount are written in that shape, then the migration runs.
const MIGRATION = "_promotion_discounts";

async function apply(migrations: { queries: string[] }[]): Promise<void> {
  for (const migration of migrations) for (const query of migration.queries) await run(query);
}

describe("migration promotion_discounts on a database in the shape before it", () => {
  beforeAll(async () => {
    const at = env.TEST_MIGRATIONS.findIndex((m) => m.name.includes(MIGRATION));
    expect(at).toBeGreaterThan(0);
    await dropEverything();
    await apply(env.TEST_MIGRATIONS.slice(0, at));
    await run(
      "INSERT INTO promotions (id, name, kind, currency, min_subtotal_cents, category, first_order_only) VALUES ('promo_ship', 'Free shipping over 50', 'free_shipping', 'USD', 5000, NULL, 0)",
    );
    await run(
      "INSERT INTO orders (id, user_id, currency, subtotal_cents, discount_cents, total_cents, coupon_code, provider, status, promotion_id, promotion_name, promotion_discount_cents) VALUES ('ord_old', 'u1', 'USD', 6000, 600, 5400, 'TEN', 'simulator', 'paid', 'promo_ship', 'Free shipping over 50', 900)",
    );
    await apply(env.TEST_MIGRATIONS.slice(at, at + 1));
  });

  it("keeps the free-shipping promotion (no value) and the order's discount, which stays the code's (no automatic discount)", async () => {
    expect(await all("SELECT id, kind, percent_off, amount_off_cents, min_subtotal_cents FROM promotions")).toEqual([
      { id: "promo_ship", kind: "free_shipping", percent_off: null, amount_off_cents: null, min_subtotal_cents: 5000 },
    ]);
    expect(await all("SELECT discount_cents, discount_promotion_id, discount_promotion_name, discount_promotion_cents, promotion_id FROM orders")).toEqual([
      { discount_cents: 600, discount_promotion_id: null, discount_promotion_name: null, discount_promotion_cents: 0, promotion_id: "promo_ship" },
    ]);
  });

  it("the new kinds must carry their value, and only theirs: D1 refuses a mismatch", async () => {
    await run("INSERT INTO promotions (id, name, kind, currency, percent_off) VALUES ('promo_pct', 'Ten', 'percent_off', 'USD', 10)");
    await run("INSERT INTO promotions (id, name, kind, currency, amount_off_cents) VALUES ('promo_amt', 'Five', 'amount_off', 'USD', 500)");
    const refused = [
      "INSERT INTO promotions (id, name, kind, currency) VALUES ('x1', 'X', 'percent_off', 'USD')",
      "INSERT INTO promotions (id, name, kind, currency, percent_off) VALUES ('x2', 'X', 'percent_off', 'USD', 101)",
      "INSERT INTO promotions (id, name, kind, currency, percent_off, amount_off_cents) VALUES ('x3', 'X', 'amount_off', 'USD', 10, 500)",
      "INSERT INTO promotions (id, name, kind, currency, amount_off_cents) VALUES ('x4', 'X', 'free_shipping', 'USD', 500)",
      "INSERT INTO promotions (id, name, kind, currency) VALUES ('x5', 'X', 'buy_one_get_one', 'USD')",
    ];
    for (const sql of refused) await expect(run(sql), sql).rejects.toThrow(/CHECK constraint failed/);
    expect((await all<{ id: string }>("SELECT id FROM promotions ORDER BY id")).map((r) => r.id)).toEqual(["promo_amt", "promo_pct", "promo_ship"]);
  });
});
