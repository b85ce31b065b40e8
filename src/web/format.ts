import { shopExponent } from "../payments/currency";
import { currentLocale, DEFAULT_LOCALE } from "../platform/locale";

// One formatter per locale and currency for the isolate's life: building an Intl.NumberFormat costs
// far more than formatting with it (it was 13% of the catalog page's CPU when made per price).
const formatters = new Map<string, Intl.NumberFormat>();

function formatterFor(currency: string, locale: string = DEFAULT_LOCALE): Intl.NumberFormat {
  const key = `${locale}:${currency}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    // As many decimals as the shop stores (src/payments/currency.ts), whatever this runtime's ICU says.
    const digits = shopExponent(currency);
    formatter = new Intl.NumberFormat(locale, { style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
    formatters.set(key, formatter);
  }
  return formatter;
}

/**
 * Formats integer minor units as a price for people, in the currency's own exponent and the
 * shopper's locale (the request's, src/platform/locale.ts): 1999 USD → "$19.99", 500 JPY → "¥500",
 * 1999 EUR for a German shopper → "19,99 €".
 */
export function formatMoney(minor: number, currency: string, locale: string = currentLocale()): string {
  return formatterFor(currency, locale).format(minor / 10 ** shopExponent(currency));
}

/** Integer minor units as a decimal string in the currency's own exponent, e.g. 1999 USD → "19.99", 500 JPY → "500". */
export function decimalAmount(minor: number, currency: string): string {
  const exponent = shopExponent(currency);
  return (minor / 10 ** exponent).toFixed(exponent);
}

/**
 * A decimal amount people type ("12.5", "12,50", "500") as integer minor units of `currency`, or
 * null when it is not an amount with at most the currency's own number of decimals (JPY: none).
 */
export function minorUnits(decimal: string, currency: string): number | null {
  const exponent = shopExponent(currency);
  const m = /^(\d{1,9})(?:[.,](\d{1,3}))?$/.exec(decimal.trim());
  if (!m || (m[2] ?? "").length > exponent) return null;
  return Number(m[1]) * 10 ** exponent + Number((m[2] ?? "").padEnd(exponent, "0") || "0");
}

/**
 * The order number people read and say (`#1042`), from the short number the database gives every
 * order (docs/decisions/022). An order without one (never, after migration 0016) shows the start of its id.
 */
export function orderNumberLabel(order: { number: number | null; id: string }): string {
  return order.number === null ? `#${order.id.slice(-8)}` : `#${order.number}`;
}
