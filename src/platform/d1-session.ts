import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "./app-env";

/**
 * D1 read replication through the Sessions API (decision 017). Catalog reads run in a D1 session
 * that may be served by a nearby read replica; every write and every security decision (sessions,
 * roles, coupon limits, stock, orders, the audit head) uses the plain binding, which always goes
 * to the primary.
 *
 * Read-your-writes: a request that changed what the catalog shows gets a bookmark of the primary
 * taken after its write, in a short-lived cookie; the visitor's next catalog reads start their
 * session from it, so no replica older than their own write answers them.
 */
export const BOOKMARK_COOKIE = "__Host-bastion_d1";
/** Replicas catch up within seconds; after this the bookmark has done its job. */
const BOOKMARK_MAX_AGE_S = 120;
/**
 * The shape of a D1 bookmark (a position in the database's history: four lower-case hex groups,
 * 8-8-8-32, as `getBookmark()` returns them). Anything else in the cookie is ignored, not sent to
 * D1: `withSession` also takes the constraints `first-primary` and `first-unconstrained`, and a
 * visitor must not be able to send their reads to the primary by writing one into the cookie.
 */
const BOOKMARK_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** Is `value` a D1 bookmark (not a session constraint, not anything else)? */
export function isBookmark(value: string): boolean {
  return BOOKMARK_PATTERN.test(value);
}

/** The bookmark this request carries from its own earlier write, or null. */
export function carriedBookmark(c: Context<AppEnv>): string | null {
  const value = getCookie(c, BOOKMARK_COOKIE);
  return value && isBookmark(value) ? value : null;
}

/**
 * A D1 session for this request's catalog reads: from the carried bookmark when there is one
 * (read-your-writes), else from any replica. Queries within one session see a state at least as
 * new as the one before them (D1's sequential consistency), which the page cache relies on.
 */
export function readSession(d1: D1Database, bookmark: string | null): D1DatabaseSession {
  return d1.withSession(bookmark ?? "first-unconstrained");
}

/**
 * After a write the visitor will want to see (a staff change to the catalog): a bookmark of the
 * primary as it is now, which covers the write, carried to their next requests in a cookie.
 * One extra D1 round trip, on staff writes only.
 */
export async function rememberOwnWrite(c: Context<AppEnv>): Promise<void> {
  const session = c.env.DB.withSession("first-primary");
  await session.prepare("SELECT 1").first();
  const bookmark = session.getBookmark();
  if (!bookmark || !isBookmark(bookmark)) return;
  setCookie(c, BOOKMARK_COOKIE, bookmark, { path: "/", secure: true, httpOnly: true, sameSite: "Lax", maxAge: BOOKMARK_MAX_AGE_S });
}
