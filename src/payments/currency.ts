import { ProblemError } from "../platform/problem";

// Currency rules in one place (issue 29): what the shop stores, what the payment provider (Stripe)
// counts, and which amounts it accepts. How prices are SHOWN is src/web/format.ts's job; it takes
// the shop's exponent from here.
//
// Source for every Stripe rule below: Stripe, "Supported currencies", https://docs.stripe.com/currencies
// (sections #presentment-currencies, #zero-decimal, #three-decimal, #special-cases and
// #minimum-and-maximum-charge-amounts).

/**
 * The shop's exponent: integer minor units are stored as amount × 10^exponent. Pinned here, not
 * asked of Intl at run time: ICU's currency digits differ between runtimes and versions (HUF, RSD,
 * IDR, COP are 0 in workerd's ICU, 2 in ISO 4217 and older builds), and a stored price must not
 * change meaning with a runtime upgrade. The table is what workerd's Intl gave when amounts were
 * first stored (CLDR's `digits`), so no stored amount changes meaning; every other currency has 2.
 */
const SHOP_EXPONENT: Readonly<Record<string, number>> = {
  ...Object.fromEntries(
    "AFN ALL BIF CLP COP DJF GNF HUF IDR IQD IRR ISK JPY KMF KPW KRW LAK LBP MGA MMK PKR PYG RSD RWF SLL SOS STD SYP UGX VND VUV XAF XOF XPF YER"
      .split(" ")
      .map((c) => [c, 0]),
  ),
  ...Object.fromEntries("BHD JOD KWD LYD OMR TND".split(" ").map((c) => [c, 3])),
};

/** #presentment-currencies: what Stripe charges cards in (the three-decimal ones are added below). */
const STRIPE_PRESENTMENT = new Set(
  (
    "USD AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BIF BMD BND BOB BRL BSD BWP BYN BZD CAD CDF CHF CLP CNY COP " +
    "CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR ISK JMD JPY KES " +
    "KGS KHR KMF KRW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD " +
    "PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK SGD SHP SLE SOS SRD STD SZL THB TJS TOP TRY TTD TWD TZS " +
    "UAH UGX UYU UZS VND VUV WST XAF XCD XOF XPF YER ZAR ZMW"
  ).split(" "),
);

/**
 * #zero-decimal: Stripe's amount is whole units ("to charge 500 JPY, provide an amount value of 500").
 * UGX is on Stripe's list too, but #special-cases overrides it (see STRIPE_WHOLE_UNITS_AS_CENTS).
 */
const STRIPE_ZERO_DECIMAL = new Set("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF".split(" "));

/**
 * #three-decimal: Stripe counts thousandths, "these API calls require the least-significant (last)
 * digit to be 0 ... 5.124 KWD must be rounded to 5120 or 5130".
 */
const STRIPE_THREE_DECIMAL = new Set("BHD JOD KWD OMR TND".split(" "));

/**
 * #special-cases: ISK and UGX are whole-unit currencies that Stripe still counts in hundredths
 * ("to maintain backwards compatibility, you must pass in amounts with two decimals ... to charge
 * 5 ISK, provide an amount value of 500. The amount value must be evenly divisible by 100").
 * Stripe's error for UGX: "Currency UGX has become effectively zero-decimal and charged amounts must
 * be evenly divisible by 100". HUF and TWD are on that list too, but their divisible-by-100 rule is
 * for payouts only ("you can charge two-decimal amounts"), so charges in them follow the
 * two-decimal rule: the shop stores HUF in whole forints (exponent 0), so it sends 100 per forint.
 */
const STRIPE_WHOLE_UNITS_AS_CENTS = new Set(["ISK", "UGX"]);

/**
 * #minimum-and-maximum-charge-amounts, the minimum charge per settlement currency, in Stripe's
 * units (USD $0.50 = 50, HUF 175.00 Ft = 17500, JPY ¥50 = 50).
 */
const STRIPE_MINIMUM: Readonly<Record<string, number>> = {
  USD: 50,
  AED: 200,
  AUD: 50,
  BGN: 100,
  BRL: 50,
  CAD: 50,
  CHF: 50,
  CZK: 1500,
  DKK: 250,
  EUR: 50,
  GBP: 30,
  HKD: 400,
  HUF: 17500,
  INR: 50,
  JPY: 50,
  MXN: 1000,
  MYR: 200,
  NOK: 300,
  NZD: 50,
  PLN: 200,
  RON: 200,
  SEK: 300,
  SGD: 50,
  THB: 1000,
};
/**
 * A currency Stripe's table does not name must reach the settlement currency's minimum after
 * conversion, which the shop cannot know without exchange rates: 50 of Stripe's units is only the
 * floor that refuses dust, as before.
 */
const DEFAULT_STRIPE_MINIMUM = 50;

/** "up to twelve digits for IDR ... and up to eight digits for all other currencies" (Stripe's units). */
const STRIPE_MAXIMUM_EIGHT_DIGITS = 99_999_999;
const STRIPE_MAXIMUM_IDR = 999_999_999_999;

/** A refusal the shop can name: a stable problem `code` and words for people. */
export interface AmountProblem {
  code: "currency_not_chargeable" | "amount_not_chargeable" | "amount_above_maximum" | "total_above_maximum" | "total_below_minimum";
  detail: string;
}

function upper(currency: string): string {
  return currency.toUpperCase();
}

/** The shop's exponent for `currency`: USD 2, JPY 0, HUF 0, KWD 3 (what stored minor units mean). */
export function shopExponent(currency: string): number {
  return SHOP_EXPONENT[upper(currency)] ?? 2;
}

/** Stripe's amount exponent for `currency`: USD 2, JPY 0, KWD 3, ISK/UGX/HUF 2. */
export function providerExponent(currency: string): number {
  const c = upper(currency);
  if (STRIPE_ZERO_DECIMAL.has(c)) return 0;
  if (STRIPE_THREE_DECIMAL.has(c)) return 3;
  return 2;
}

/** Whether the shop can take payments in `currency` at all (Stripe presents it). */
export function isChargeableCurrency(currency: string): boolean {
  const c = upper(currency);
  return STRIPE_PRESENTMENT.has(c) || STRIPE_THREE_DECIMAL.has(c);
}

/** Every currency the shop can take payments in, alphabetically (the staff product form's list). */
export function chargeableCurrencies(): string[] {
  return [...new Set([...STRIPE_PRESENTMENT, ...STRIPE_THREE_DECIMAL])].sort();
}

/** Every amount Stripe accepts in `currency` is a multiple of this, in Stripe's units: 1, 10 (BHD, JOD, KWD, OMR, TND) or 100 (ISK, UGX). */
export function providerStep(currency: string): number {
  const c = upper(currency);
  if (STRIPE_THREE_DECIMAL.has(c)) return 10;
  if (STRIPE_WHOLE_UNITS_AS_CENTS.has(c)) return 100;
  return 1;
}

/** The largest amount Stripe charges in `currency`, in Stripe's units. */
export function providerMaximum(currency: string): number {
  return upper(currency) === "IDR" ? STRIPE_MAXIMUM_IDR : STRIPE_MAXIMUM_EIGHT_DIGITS;
}

/** The smallest positive amount Stripe charges in `currency`, in Stripe's units. */
export function providerMinimum(currency: string): number {
  return STRIPE_MINIMUM[upper(currency)] ?? DEFAULT_STRIPE_MINIMUM;
}

/** 10^(Stripe's exponent − the shop's): ×100 for HUF and ISK, ×1 for USD, JPY and KWD. Never below 1 today. */
function scale(currency: string): { up: number; down: number } {
  const diff = providerExponent(currency) - shopExponent(currency);
  return diff >= 0 ? { up: 10 ** diff, down: 1 } : { up: 1, down: 10 ** -diff };
}

/** Shop minor units as Stripe's units, or null when no integer of Stripe's units is exactly that amount. */
function providerUnits(currency: string, shopMinor: number): number | null {
  if (!Number.isSafeInteger(shopMinor)) return null;
  const { up, down } = scale(currency);
  if (shopMinor % down !== 0) return null;
  return (shopMinor / down) * up;
}

/** Stripe's units as shop minor units, rounded as asked (exact: null when it is not a whole minor unit). */
function shopUnits(currency: string, providerAmount: number, rounding: "exact" | "down" | "up"): number | null {
  if (!Number.isSafeInteger(providerAmount)) return null;
  const { up, down } = scale(currency);
  const whole = providerAmount / up;
  if (Number.isInteger(whole)) return whole * down;
  if (rounding === "exact") return null;
  return (rounding === "down" ? Math.floor(whole) : Math.ceil(whole)) * down;
}

/**
 * The smallest step of a chargeable amount in the shop's minor units: 10 for KWD (Stripe wants the
 * last digit of its thousandths to be 0), 1 for USD, JPY, HUF and ISK. Computed amounts (a percent
 * discount) round to a multiple of it.
 */
export function shopStep(currency: string): number {
  const { up, down } = scale(currency);
  const step = providerStep(currency);
  // The least s that is a whole number of Stripe's units (s = k × down) landing on its step (k × up ≡ 0 mod step).
  return down * (step / gcd(up, step));
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The smallest positive total Stripe charges in `currency`, in the shop's minor units (rounded up). */
export function minimumChargeMinor(currency: string): number {
  return shopUnits(currency, providerMinimum(currency), "up")!;
}

/** The largest total Stripe charges in `currency`, in the shop's minor units (rounded down). */
export function maximumChargeMinor(currency: string): number {
  return shopUnits(currency, providerMaximum(currency), "down")!;
}

/** What is wrong with one staff-set amount (a price, a shipping rate, a coupon's amount off) in `currency`, or null. */
export function amountProblem(currency: string, shopMinor: number): AmountProblem | null {
  const c = upper(currency);
  if (!isChargeableCurrency(c)) return { code: "currency_not_chargeable", detail: `Payments cannot be taken in ${c}.` };
  const units = shopMinor >= 0 ? providerUnits(c, shopMinor) : null;
  if (units === null || units % providerStep(c) !== 0) {
    return {
      code: "amount_not_chargeable",
      detail: `${shopMinor} minor units of ${c} cannot be charged: amounts in ${c} must be whole multiples of ${shopStep(c)} minor units.`,
    };
  }
  if (units > providerMaximum(c)) {
    return { code: "amount_above_maximum", detail: `The largest amount that can be charged in ${c} is ${maximumChargeMinor(c)} minor units.` };
  }
  return null;
}

/**
 * What stops a checkout total from being charged, or null. 0 is fine (Stripe completes it with
 * `no_payment_required`); between 0 and the minimum is `total_below_minimum`, over the maximum
 * `total_above_maximum`, an amount Stripe cannot represent `amount_not_chargeable`.
 */
export function chargeableProblem(currency: string, shopMinor: number): AmountProblem | null {
  const c = upper(currency);
  const problem = amountProblem(c, shopMinor);
  if (problem?.code === "amount_above_maximum") {
    return {
      code: "total_above_maximum",
      detail: `The total is above the largest card payment (${maximumChargeMinor(c)} minor units of ${c}). Split the order or remove items.`,
    };
  }
  if (problem) return problem;
  if (shopMinor > 0 && shopMinor < minimumChargeMinor(c)) {
    return {
      code: "total_below_minimum",
      detail: `The total is below the smallest card payment (${minimumChargeMinor(c)} minor units of ${c}). Add an item or remove the coupon.`,
    };
  }
  return null;
}

/** Refuses a checkout total Stripe cannot charge (422 with chargeableProblem's code). */
export function assertChargeable(currency: string, shopMinor: number): void {
  const problem = chargeableProblem(currency, shopMinor);
  if (problem) throw new ProblemError(422, problem.code, problem.detail);
}

/** Refuses a staff-set amount Stripe could never charge (422 with amountProblem's code). */
export function assertAmountChargeable(currency: string, shopMinor: number): void {
  const problem = amountProblem(currency, shopMinor);
  if (problem) throw new ProblemError(422, problem.code, problem.detail);
}

/**
 * An amount for Stripe's API (`unit_amount`, `amount_off`, a refund's `amount`): shop minor units
 * in Stripe's units (HUF 1 500 Ft → 150000, ISK 5 → 500, JPY 500 → 500, KWD 5.120 → 5120).
 * Throws ProblemError 422 (amountProblem's code) when Stripe would refuse it: an unknown currency,
 * not a multiple of the currency's step, over the 8-digit (IDR 12-digit) maximum.
 */
export function toProviderAmount(currency: string, shopMinor: number): number {
  assertAmountChargeable(currency, shopMinor);
  return providerUnits(currency, shopMinor)!;
}

/**
 * An amount from Stripe (`amount_total`, `amount_refunded`, a dispute's `amount`) in shop minor
 * units. `exact` (the default) throws when it is not a whole minor unit: Stripe accepts HUF in
 * hundredths while the shop keeps whole forints, so a Dashboard refund of 10.45 Ft has no exact
 * shop amount; callers that must book it anyway say which way to round (`down` for money in,
 * `up` for money out are the conservative choices).
 */
export function fromProviderAmount(currency: string, providerAmount: number, rounding: "exact" | "down" | "up" = "exact"): number {
  const shop = shopUnits(currency, providerAmount, rounding);
  if (shop === null) throw new Error(`${providerAmount} of Stripe's units of ${upper(currency)} is not a whole number of the shop's minor units`);
  return shop;
}
