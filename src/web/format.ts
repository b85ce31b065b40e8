// One formatter per currency for the isolate's life: building an Intl.NumberFormat costs far more
// than formatting with it (it was 13% of the catalog page's CPU when made per price).
const formatters = new Map<string, Intl.NumberFormat>();

/** Formats integer minor units as a price for people, e.g. 1999 USD → "$19.99". */
export function formatMoney(cents: number, currency: string): string {
  let formatter = formatters.get(currency);
  if (!formatter) {
    formatter = new Intl.NumberFormat("en-US", { style: "currency", currency });
    formatters.set(currency, formatter);
  }
  return formatter.format(cents / 100);
}

/** Integer minor units as a decimal string in the currency's own exponent, e.g. 1999 USD → "19.99", 500 JPY → "500". */
export function decimalAmount(minor: number, currency: string): string {
  const exponent = new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return (minor / 10 ** exponent).toFixed(exponent);
}

/**
 * A decimal amount people type ("12.5", "12,50", "500") as integer minor units of `currency`, or
 * null when it is not a positive amount with at most the currency's own number of decimals.
 */
export function minorUnits(decimal: string, currency: string): number | null {
  const exponent = new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  const m = /^(\d{1,9})(?:[.,](\d{1,3}))?$/.exec(decimal.trim());
  if (!m || (m[2] ?? "").length > exponent) return null;
  const minor = Number(m[1]) * 10 ** exponent + Number((m[2] ?? "").padEnd(exponent, "0") || "0");
  return minor > 0 ? minor : null;
}
