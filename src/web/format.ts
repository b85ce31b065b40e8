/** Formats integer minor units as a price for people, e.g. 1999 USD → "$19.99". */
export function formatMoney(cents: number, currency: string): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
}
