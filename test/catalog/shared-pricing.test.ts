import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PricingVariant } from "../../src/catalog/pricing-queries";
import { PRICING_ROW_LIMIT, PRICING_ROW_TTL_MS, forgetPricingRows, rememberPricingRows, sharedPricingRows } from "../../src/catalog/shared-pricing";
import { loadPricingRows } from "../../src/cart/cart";
import { getDb } from "../../src/db/client";
import { appJson, as } from "../support/admin";
import { makeProduct } from "../support/factories";

const row = (id: string, priceCents = 100): PricingVariant => ({
  variantId: id,
  productId: `prd_${id}`,
  gateShards: 1,
  slug: id,
  name: id,
  priceCents,
  currency: "USD",
  stock: 1,
  sku: null,
  option1: "",
  option2: "",
  option3: "",
  optionNames: "[]",
  taxCode: null,
  imageUrl: null,
});

describe("shared pricing rows for carts (decision 009)", () => {
  it("reuses a row for less than the TTL, per binding; unknown ids are always read; the oldest go past the limit", () => {
    const scope = {} as D1Database;
    const t0 = 5_000_000;
    expect(sharedPricingRows(scope, ["a", "b"], t0)).toMatchObject({ rows: [], missing: ["a", "b"], generation: 0 });
    const given = row("a");
    rememberPricingRows(scope, [given], 0, t0);
    expect(sharedPricingRows(scope, ["a", "b"], t0 + PRICING_ROW_TTL_MS - 1)).toMatchObject({ rows: [row("a")], missing: ["b"] });
    expect(sharedPricingRows(scope, ["a"], t0 + PRICING_ROW_TTL_MS)).toMatchObject({ rows: [], missing: ["a"] });
    expect(sharedPricingRows({} as D1Database, ["a"], t0)).toMatchObject({ rows: [], missing: ["a"] });
    // A kept row is a frozen copy: neither the caller that gave it nor one that reads it can change it.
    given.priceCents = 1;
    const kept = sharedPricingRows(scope, ["a"], t0).rows[0]!;
    expect(kept.priceCents).toBe(100);
    expect(() => {
      (kept as { priceCents: number }).priceCents = 2;
    }).toThrow(TypeError);
    const many = Array.from({ length: PRICING_ROW_LIMIT + 1 }, (_, i) => row(`p${i}`));
    rememberPricingRows(scope, many, 0, t0 + 1);
    expect(sharedPricingRows(scope, ["a", "p0", `p${PRICING_ROW_LIMIT}`], t0 + 2).missing).toEqual(["a", "p0"]);
    // A read that began before a forget (staff changed a product meanwhile) keeps nothing.
    const during = sharedPricingRows(scope, ["late"], t0 + 2);
    forgetPricingRows(scope);
    expect(sharedPricingRows(scope, ["p1"], t0 + 2)).toMatchObject({ missing: ["p1"], generation: 1 });
    rememberPricingRows(scope, [row("late")], during.generation, t0 + 3);
    expect(sharedPricingRows(scope, ["late"], t0 + 3).missing).toEqual(["late"]);
    rememberPricingRows(scope, [row("late")], 1, t0 + 3);
    expect(sharedPricingRows(scope, ["late"], t0 + 3).missing).toEqual([]);
  });

  it("P11 carts price from D1's rows: hidden products are never kept, staff changes are seen at once here", async () => {
    const db = getDb(env.DB);
    const p = await makeProduct({ priceCents: 700 });
    const hidden = await makeProduct({ priceCents: 300, hidden: true });
    forgetPricingRows(env.DB);
    const first = await loadPricingRows(db, [p.variantId, hidden.variantId], null);
    expect(first.variants.map((r) => [r.variantId, r.priceCents])).toEqual([[p.variantId, 700]]);
    expect(sharedPricingRows(env.DB, [p.variantId, hidden.variantId]).missing).toEqual([hidden.variantId]);
    // Staff show the hidden one and change the other's price: read fresh at once in this isolate.
    const admin = await as("admin");
    expect((await appJson("PATCH", `/api/admin/products/${hidden.id}`, { hidden: false }, admin)).status).toBe(200);
    expect((await appJson("PATCH", `/api/admin/products/${p.id}`, { priceCents: 900 }, admin)).status).toBe(200);
    const after = await loadPricingRows(db, [p.variantId, hidden.variantId], null);
    expect(after.variants.map((r) => [r.variantId, r.priceCents]).sort()).toEqual(
      [
        [hidden.variantId, 300],
        [p.variantId, 900],
      ].sort(),
    );
  });
});
