import { describe, expect, it } from "vitest";
import { evaluatePromotions, promotionDiscountCents, type PromotionInput } from "../../src/coupons/automatic-promotions";
import type { PromotionRow } from "../../src/coupons/schema";
import { shopStep } from "../../src/payments/currency";

// The combining rule of decision 030 as a pure function: code first, then one automatic
// discount (the best), never below zero, on the currency's step.

function row(fields: Partial<PromotionRow>): PromotionRow {
  return {
    id: "p",
    name: "P",
    kind: "percent_off",
    currency: "USD",
    percentOff: 10,
    amountOffCents: null,
    minSubtotalCents: null,
    category: null,
    productIds: null,
    startsAt: null,
    endsAt: null,
    firstOrderOnly: false,
    active: true,
    createdAt: "2026-01-01T00:00:00.000Z",
    ...fields,
  };
}

function input(lines: number[], goodsCents: number, currency = "USD"): PromotionInput {
  return {
    currency,
    lines: lines.map((c, i) => ({ productId: `prd_${i}`, category: i % 2 === 0 ? "even" : "odd", lineTotalCents: c })),
    goodsCents,
    customerKey: null,
    hasPaidOrder: null,
    now: new Date("2026-06-01T00:00:00Z"),
  };
}

describe("automatic discount rules (decision 030)", () => {
  it("P11 a code and a promotion together never take more than the goods, whatever the amounts (1,000 random carts, three currencies)", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 1000; i++) {
      const currency = ["USD", "JPY", "KWD"][i % 3]!;
      const step = shopStep(currency);
      const lines = Array.from({ length: 1 + rand(4) }, () => (1 + rand(5000)) * step);
      const subtotal = lines.reduce((a, b) => a + b, 0);
      const code = rand(subtotal + 1);
      const goods = subtotal - code;
      const promos = [
        row({ id: "a", name: "A", percentOff: 1 + rand(100), currency }),
        row({ id: "b", name: "B", kind: "amount_off", percentOff: null, amountOffCents: (1 + rand(20_000)) * step, currency }),
        row({ id: "c", name: "C", percentOff: 1 + rand(100), category: "odd", currency }),
      ];
      const verdict = evaluatePromotions(promos, input(lines, goods, currency));
      const off = verdict.discount?.discountCents ?? 0;
      expect(off).toBeGreaterThanOrEqual(0);
      expect(code + off).toBeLessThanOrEqual(subtotal);
      expect(off % step).toBe(0);
      // The best one applies: none of the others gives more.
      for (const p of promos) expect(promotionDiscountCents(p, input(lines, goods, currency))).toBeLessThanOrEqual(off);
    }
  });

  it("a percent rounds down like a coupon's; the base is the eligible lines after their share of the code", () => {
    expect(promotionDiscountCents(row({ percentOff: 15 }), input([999], 999))).toBe(149);
    // Lines 6,000 (even) and 4,000 (odd), a code took 1,000: the odd line's base is 4,000 × 9,000 / 10,000 = 3,600.
    expect(promotionDiscountCents(row({ percentOff: 50, category: "odd" }), input([6000, 4000], 9000))).toBe(1800);
    expect(promotionDiscountCents(row({ kind: "amount_off", percentOff: null, amountOffCents: 9999 }), input([500], 200))).toBe(200);
    expect(promotionDiscountCents(row({ kind: "free_shipping", percentOff: null }), input([500], 500))).toBe(0);
  });

  it("one discount and one free shipping at most; a tie goes to the first by name; the others are listed as beaten", () => {
    const verdict = evaluatePromotions(
      [
        row({ id: "a", name: "A", percentOff: 10 }),
        row({ id: "b", name: "B", kind: "amount_off", percentOff: null, amountOffCents: 100 }),
        row({ id: "s1", name: "S1", kind: "free_shipping", percentOff: null }),
        row({ id: "s2", name: "S2", kind: "free_shipping", percentOff: null }),
      ],
      input([1000], 1000),
    );
    expect(verdict.discount).toEqual({ id: "a", name: "A", discountCents: 100 });
    expect(verdict.freeShipping).toEqual({ id: "s1", name: "S1" });
    expect(verdict.notApplied).toEqual([{ id: "b", name: "B", reason: "better_promotion", minSubtotalCents: null }]);
  });

  it("a promotion not started, below its minimum or for other products gives nothing and says why", () => {
    const verdict = evaluatePromotions(
      [
        row({ id: "late", name: "Late", startsAt: "2026-07-01T00:00:00Z" }),
        row({ id: "min", name: "Min", minSubtotalCents: 5000 }),
        row({ id: "cat", name: "Cat", category: "shoes" }),
      ],
      input([1000], 1000),
    );
    expect(verdict.discount).toBeNull();
    expect(verdict.notApplied.map((m) => m.reason)).toEqual(["not_started", "below_minimum", "products_not_in_cart"]);
  });
});
