import { sha256Hex } from "../audit/chain";

/**
 * Who "a customer" is for a coupon's per-customer limit: one mailbox, whether it pays signed in or
 * as a guest. Keyed by the normalised address, so a guest checkout, a second account or a `+tag`
 * alias of the same mailbox cannot reset the count; hashed, so the ledgers hold no address.
 */

/** Lower-case, trimmed; the local part without `+tag`; Gmail's dots ignored (they reach the same inbox). */
export function normaliseEmail(email: string): string {
  const trimmed = email.trim().toLowerCase();
  const at = trimmed.lastIndexOf("@");
  if (at < 1) return trimmed;
  let local = trimmed.slice(0, at);
  let domain = trimmed.slice(at + 1);
  const plus = local.indexOf("+");
  if (plus > 0) local = local.slice(0, plus);
  if (domain === "googlemail.com") domain = "gmail.com";
  if (domain === "gmail.com") local = local.replaceAll(".", "");
  return `${local}@${domain}`;
}

/** The ledger key of the customer behind `email`: `cust_` + 128 bits of SHA-256 of the normalised address. */
export async function couponCustomerKey(email: string): Promise<string> {
  return `cust_${(await sha256Hex(normaliseEmail(email))).slice(0, 32)}`;
}
