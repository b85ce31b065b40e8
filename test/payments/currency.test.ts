import { describe, expect, it } from "vitest";
import {
  amountProblem,
  assertChargeable,
  chargeableProblem,
  fromProviderAmount,
  isChargeableCurrency,
  maximumChargeMinor,
  minimumChargeMinor,
  providerExponent,
  shopExponent,
  shopStep,
  toProviderAmount,
} from "../../src/payments/currency";
import { ProblemError } from "../../src/platform/problem";
import { formatMoney, minorUnits } from "../../src/web/format";

// Issue 29 item 8: each rule of Stripe's "Supported currencies" page pinned by a case
// (https://docs.stripe.com/currencies: zero-decimal, three-decimal, special cases, minimum and maximum).

function refusal(run: () => unknown): { status: number; code: string } | null {
  try {
    run();
    return null;
  } catch (error) {
    if (error instanceof ProblemError) return { status: error.status, code: error.code };
    throw error;
  }
}

describe("exponents: the shop's (what stored minor units mean) and Stripe's (what its API counts)", () => {
  it("the shop keeps CLDR's digits, pinned: USD 2, JPY 0, KWD 3, and HUF, ISK, UGX, IDR, RSD in whole units", () => {
    expect(["USD", "EUR", "TWD", "JPY", "KRW", "KWD", "BHD", "HUF", "ISK", "UGX", "IDR", "RSD"].map(shopExponent)).toEqual([
      2, 2, 2, 0, 0, 3, 3, 0, 0, 0, 0, 0,
    ]);
    expect(shopExponent("kwd")).toBe(3);
  });

  it("Stripe: zero-decimal currencies count whole units, three-decimal ones thousandths, ISK and UGX (special cases) hundredths", () => {
    for (const c of ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF", "XOF", "XPF"])
      expect(providerExponent(c), c).toBe(0);
    for (const c of ["BHD", "JOD", "KWD", "OMR", "TND"]) expect(providerExponent(c), c).toBe(3);
    // Stripe lists UGX as zero-decimal, but its special case wins: "to charge 5 UGX, provide an amount value of 500".
    for (const c of ["ISK", "UGX", "HUF", "TWD", "USD", "IDR"]) expect(providerExponent(c), c).toBe(2);
  });

  it("display follows the shop's exponent, whatever the runtime's ICU says", () => {
    expect(formatMoney(1500, "HUF", "en-US").replace(/\s/g, " ")).toBe("HUF 1,500");
    expect(formatMoney(5, "ISK", "en-US").replace(/\s/g, " ")).toBe("ISK 5");
    expect(minorUnits("1500", "HUF")).toBe(1500);
    expect(minorUnits("5.5", "ISK")).toBeNull();
    expect(minorUnits("5.125", "KWD")).toBe(5125);
  });
});

describe("toProviderAmount / fromProviderAmount", () => {
  it("two-decimal and zero-decimal currencies go through as they are", () => {
    expect(toProviderAmount("USD", 1999)).toBe(1999);
    expect(toProviderAmount("usd", 1999)).toBe(1999);
    expect(toProviderAmount("JPY", 500)).toBe(500);
    expect(toProviderAmount("KRW", 12345)).toBe(12345);
    expect(fromProviderAmount("JPY", 500)).toBe(500);
    expect(fromProviderAmount("USD", 1999)).toBe(1999);
  });

  it("ISK and UGX: whole units in the shop, hundredths at Stripe, so 5 ISK is 500 (was sent 100× too small)", () => {
    expect(toProviderAmount("ISK", 5)).toBe(500);
    expect(toProviderAmount("UGX", 5000)).toBe(500_000);
    expect(fromProviderAmount("ISK", 500)).toBe(5);
    expect(fromProviderAmount("UGX", 500_000)).toBe(5000);
    // Stripe refuses anything but whole units: an amount of 550 has no shop amount.
    expect(() => fromProviderAmount("ISK", 550)).toThrow();
  });

  it("HUF: whole forints in the shop, two decimals at Stripe; a Dashboard refund of 10.45 Ft rounds only when asked", () => {
    expect(toProviderAmount("HUF", 1500)).toBe(150_000);
    expect(fromProviderAmount("HUF", 150_000)).toBe(1500);
    expect(() => fromProviderAmount("HUF", 1045)).toThrow(/HUF/);
    expect(fromProviderAmount("HUF", 1045, "down")).toBe(10);
    expect(fromProviderAmount("HUF", 1045, "up")).toBe(11);
  });

  it("TWD: two decimals both sides; the divisible-by-100 rule is for payouts, not charges", () => {
    expect(toProviderAmount("TWD", 80_045)).toBe(80_045);
    expect(fromProviderAmount("TWD", 80_045)).toBe(80_045);
  });

  it("IDR: whole rupiah in the shop, hundredths at Stripe, up to twelve digits", () => {
    expect(toProviderAmount("IDR", 15_000)).toBe(1_500_000);
    expect(toProviderAmount("IDR", 9_999_999_999)).toBe(999_999_999_900);
    expect(refusal(() => toProviderAmount("IDR", 10_000_000_000))).toEqual({ status: 422, code: "amount_above_maximum" });
  });

  it("three-decimal currencies: the last digit must be 0 (5.124 KWD cannot be charged, 5.120 can)", () => {
    expect(toProviderAmount("KWD", 5120)).toBe(5120);
    for (const c of ["BHD", "JOD", "KWD", "OMR", "TND"]) {
      expect(
        refusal(() => toProviderAmount(c, 5124)),
        c,
      ).toEqual({ status: 422, code: "amount_not_chargeable" });
      expect(shopStep(c), c).toBe(10);
    }
    expect(fromProviderAmount("KWD", 5120)).toBe(5120);
  });

  it("the 8-digit maximum is in Stripe's units: 999,999.99 USD, but 999,999 ISK (99,999,900)", () => {
    expect(toProviderAmount("USD", 99_999_999)).toBe(99_999_999);
    expect(refusal(() => toProviderAmount("USD", 100_000_000))).toEqual({ status: 422, code: "amount_above_maximum" });
    expect(toProviderAmount("ISK", 999_999)).toBe(99_999_900);
    expect(refusal(() => toProviderAmount("ISK", 1_000_000))).toEqual({ status: 422, code: "amount_above_maximum" });
    expect(toProviderAmount("HUF", 999_999)).toBe(99_999_900);
    expect(refusal(() => toProviderAmount("HUF", 1_000_000))).toEqual({ status: 422, code: "amount_above_maximum" });
    expect(maximumChargeMinor("USD")).toBe(99_999_999);
    expect(maximumChargeMinor("JPY")).toBe(99_999_999);
    expect(maximumChargeMinor("ISK")).toBe(999_999);
  });

  it("unknown currencies, fractions, negatives and unsafe integers are refused", () => {
    expect(refusal(() => toProviderAmount("ZZZ", 100))).toEqual({ status: 422, code: "currency_not_chargeable" });
    expect(refusal(() => toProviderAmount("IQD", 100))).toEqual({ status: 422, code: "currency_not_chargeable" });
    expect(refusal(() => toProviderAmount("USD", 10.5))).toEqual({ status: 422, code: "amount_not_chargeable" });
    expect(refusal(() => toProviderAmount("USD", -1))).toEqual({ status: 422, code: "amount_not_chargeable" });
    expect(refusal(() => toProviderAmount("USD", Number.MAX_SAFE_INTEGER + 1))).toEqual({ status: 422, code: "amount_not_chargeable" });
    expect(isChargeableCurrency("usd")).toBe(true);
    expect(isChargeableCurrency("KWD")).toBe(true);
    expect(isChargeableCurrency("XXX")).toBe(false);
  });
});

describe("chargeableProblem / assertChargeable: checkout totals", () => {
  it("0 is a no-cost order; 1 to the minimum is total_below_minimum; the minimum itself is fine", () => {
    expect(chargeableProblem("USD", 0)).toBeNull();
    expect(chargeableProblem("USD", 49)?.code).toBe("total_below_minimum");
    expect(chargeableProblem("USD", 49)?.detail).toMatch(/50 minor units of USD/);
    expect(chargeableProblem("USD", 50)).toBeNull();
    expect(chargeableProblem("GBP", 29)?.code).toBe("total_below_minimum");
    expect(chargeableProblem("GBP", 30)).toBeNull();
    expect(chargeableProblem("JPY", 49)?.code).toBe("total_below_minimum");
    expect(chargeableProblem("JPY", 50)).toBeNull();
  });

  it("HUF's minimum is 175.00 Ft, which the shop stores as 175 (it was read as 17,500 Ft)", () => {
    expect(minimumChargeMinor("HUF")).toBe(175);
    expect(chargeableProblem("HUF", 174)?.code).toBe("total_below_minimum");
    expect(chargeableProblem("HUF", 175)).toBeNull();
  });

  it("a currency Stripe's table does not name keeps the floor of 50 of Stripe's units (½ ISK rounds up to 1 ISK)", () => {
    expect(minimumChargeMinor("KRW")).toBe(50);
    expect(minimumChargeMinor("ISK")).toBe(1);
    expect(minimumChargeMinor("KWD")).toBe(50);
  });

  it("above the maximum is total_above_maximum (the issue's USD order of 9,900,000,000 cents)", () => {
    expect(chargeableProblem("USD", 99_999_999)).toBeNull();
    expect(chargeableProblem("USD", 100_000_000)?.code).toBe("total_above_maximum");
    expect(chargeableProblem("USD", 9_900_000_000)?.code).toBe("total_above_maximum");
    expect(chargeableProblem("IDR", 9_999_999_999)).toBeNull();
  });

  it("a total Stripe cannot represent is amount_not_chargeable; an unknown currency is currency_not_chargeable", () => {
    expect(chargeableProblem("KWD", 5125)?.code).toBe("amount_not_chargeable");
    expect(chargeableProblem("KWD", 5130)).toBeNull();
    expect(chargeableProblem("ZZZ", 5000)?.code).toBe("currency_not_chargeable");
  });

  it("assertChargeable throws a 422 ProblemError with that code", () => {
    expect(refusal(() => assertChargeable("USD", 100_000_000))).toEqual({ status: 422, code: "total_above_maximum" });
    expect(refusal(() => assertChargeable("USD", 10))).toEqual({ status: 422, code: "total_below_minimum" });
    expect(refusal(() => assertChargeable("USD", 1999))).toBeNull();
  });

  it("amountProblem (staff-set amounts) has no minimum: a 0.10 price is fine, a price above the maximum is not", () => {
    expect(amountProblem("USD", 10)).toBeNull();
    expect(amountProblem("USD", 0)).toBeNull();
    expect(amountProblem("USD", 100_000_000)?.code).toBe("amount_above_maximum");
    expect(amountProblem("KWD", 5)?.code).toBe("amount_not_chargeable");
  });
});
