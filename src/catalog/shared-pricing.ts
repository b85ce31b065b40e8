import type { PricingVariant } from "./pricing-queries";

/**
 * How long an isolate reuses a visible variant's pricing row (by variant id) for carts
 * (docs/decisions/009-cart-pricing-rows.md): the same bound as the shared first page (008).
 */
export const PRICING_ROW_TTL_MS = 5_000;
/** At most this many rows per isolate and binding; the oldest go first. */
export const PRICING_ROW_LIMIT = 2_000;

interface Entry {
  at: number;
  row: PricingVariant;
}

// Per D1 binding (the env's: the same object for every request and object of the isolate).
const rowsByBinding = new WeakMap<D1Database, Map<string, Entry>>();
// Per binding: how many times its rows were forgotten. A read that began before a forget must
// not put its (possibly older) rows back.
const forgets = new WeakMap<D1Database, number>();

/**
 * Splits `ids` into the rows this isolate read from D1 less than PRICING_ROW_TTL_MS ago and the
 * ids it must read now. Only visible products are ever kept (`rememberPricingRows` gets D1's
 * answer, which leaves hidden ones out), so an unknown or hidden id is always read again: a
 * product staff create or show is seen at once.
 */
export function sharedPricingRows(
  d1: D1Database,
  ids: readonly string[],
  now: number = Date.now(),
): { rows: PricingVariant[]; missing: string[]; generation: number } {
  const byId = rowsByBinding.get(d1);
  const rows: PricingVariant[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const hit = byId?.get(id);
    if (hit && now - hit.at < PRICING_ROW_TTL_MS) rows.push(hit.row);
    else missing.push(id);
  }
  return { rows, missing, generation: forgets.get(d1) ?? 0 };
}

/**
 * Keeps rows D1 just returned (read at `now`) for PRICING_ROW_TTL_MS, unless the rows were
 * forgotten since the read began (`generation` is what `sharedPricingRows` said then).
 */
export function rememberPricingRows(d1: D1Database, rows: readonly PricingVariant[], generation: number, now: number = Date.now()): void {
  if ((forgets.get(d1) ?? 0) !== generation) return;
  let byId = rowsByBinding.get(d1);
  if (!byId) {
    byId = new Map();
    rowsByBinding.set(d1, byId);
  }
  for (const row of rows) {
    byId.delete(row.variantId); // re-inserted last: a Map iterates in insertion order, oldest first
    byId.set(row.variantId, { at: now, row: Object.freeze({ ...row }) });
  }
  for (const oldest of byId.keys()) {
    if (byId.size <= PRICING_ROW_LIMIT) break;
    byId.delete(oldest);
  }
}

/** Forgets this isolate's pricing rows at once (staff changed a product here). */
export function forgetPricingRows(d1: D1Database): void {
  rowsByBinding.delete(d1);
  forgets.set(d1, (forgets.get(d1) ?? 0) + 1);
}
