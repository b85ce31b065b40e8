import type { Database } from "../db/client";
import { listProducts, type ProductPage } from "./queries";

/**
 * How long this isolate reuses the catalog's first page (docs/decisions/008-catalog-first-page.md).
 * Shorter than the `max-age=30` the catalog API already gives browsers and caches.
 */
export const FIRST_PAGE_TTL_MS = 5_000;

interface Entry {
  at: number;
  value: Promise<unknown>;
}

// Per D1 binding (the env's, the same object for every request of the isolate), per key.
const entries = new WeakMap<D1Database, Map<string, Entry>>();

/**
 * `compute()` at most once per FIRST_PAGE_TTL_MS per isolate, binding and key; concurrent
 * callers share one computation, and a failed one is not kept. Only for what every visitor
 * sees alike (the first page of the catalog, with no search and no cursor): never for anything
 * that depends on who asks.
 */
export function sharedForAWhile<T>(d1: D1Database, key: string, compute: () => Promise<T>, now: number = Date.now()): Promise<T> {
  let byKey = entries.get(d1);
  if (!byKey) {
    byKey = new Map();
    entries.set(d1, byKey);
  }
  const hit = byKey.get(key);
  if (hit && now - hit.at < FIRST_PAGE_TTL_MS) return hit.value as Promise<T>;
  const value = compute();
  byKey.set(key, { at: now, value });
  value.catch(() => {
    if (byKey.get(key)?.value === value) byKey.delete(key);
  });
  return value;
}

/** Forgets this isolate's shared catalog pages at once (staff changed a product). */
export function forgetSharedPages(d1: D1Database): void {
  entries.delete(d1);
}

/** The first page of the catalog (no search, no cursor), shared for a few seconds (see above). */
export function firstCatalogPage(db: Database, limit: number): Promise<ProductPage> {
  return sharedForAWhile(db.$client, `catalog:first:${limit}`, () => listProducts(db, { limit }));
}
