import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { drizzle } from "drizzle-orm/d1";
import type { Database } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { currentLocale } from "../platform/locale";
import { hasCookie, SESSION_COOKIE } from "../platform/cookies";
import { carriedBookmark, readSession, rememberOwnWrite } from "../platform/d1-session";

/**
 * Shared catalog answers (decision 017): the home page, product pages and the catalog API are the
 * same for every visitor, so they are kept in Cloudflare's cache (`caches.default`, shared by every
 * isolate of a location) and, in front of it, in a small per-isolate memory. Both are keyed by the
 * catalog's version (`catalog_state`, changed by triggers on every product change a page shows),
 * so a staff edit is a new key: nothing is purged, nothing stale is served.
 *
 * Never shared: a request with a session cookie (signed-in visitors get a fresh render), any
 * answer but a 200, and any header but the ones set here (no Set-Cookie, CSRF state or request id
 * is ever stored: the stored response is built from the body alone).
 */

/** How long an isolate trusts the catalog version it read (a staff edit in this isolate forgets it at once). */
export const CATALOG_VERSION_TTL_MS = 1_000;
/** How long Cloudflare's cache keeps an entry; the version in the key, not this, keeps it fresh. */
const EDGE_TTL_S = 600;
/** Rendered answers kept per isolate, newest last (a Map iterates in insertion order). */
const MEMORY_LIMIT = 256;

interface VersionRead {
  version: string;
  /** The D1 bookmark the version was read at: reads for a page start there, never older. */
  bookmark: string | null;
  at: number;
}

interface SharedAnswer {
  /** Encoded once: every answer from memory sends these bytes without re-encoding a string. */
  body: Uint8Array;
  etag: string;
}

let knownVersion: VersionRead | null = null;
const memory = new Map<string, SharedAnswer>();

/**
 * A staff change in this isolate: the next catalog read asks D1 for the version again, and the
 * answers kept for older versions go (their keys could never be asked for again).
 */
export function forgetCatalogVersion(): void {
  knownVersion = null;
  memory.clear();
}

/** The catalog state a request reads: the version, and a client on a D1 session at least that new. */
export interface CatalogRead {
  version: string;
  /** Opened on first use: an answer from memory or the edge cache needs no D1 session at all. */
  db: () => Database;
}

/**
 * The catalog version for this request, read through D1's Sessions API (any replica, or from the
 * visitor's own bookmark after their write), and a client for the page's reads in the same
 * session, so the content is never older than the version it is stored under.
 */
export async function openCatalogRead(c: Context<AppEnv>, now: number = Date.now()): Promise<CatalogRead> {
  const carried = carriedBookmark(c);
  const known = knownVersion;
  if (!carried && known && now - known.at < CATALOG_VERSION_TTL_MS) {
    return { version: known.version, db: () => sessionClient(readSession(c.env.DB, known.bookmark)) };
  }
  const session = readSession(c.env.DB, carried);
  const row = await session.prepare("SELECT version FROM catalog_state WHERE id = 1").first<{ version: string }>();
  const version = row?.version ?? "none";
  knownVersion = { version, bookmark: session.getBookmark(), at: now };
  const client = sessionClient(session);
  return { version, db: () => client };
}

function sessionClient(session: D1DatabaseSession): Database {
  // drizzle's D1 driver uses only prepare() and batch(), which a session has too.
  return drizzle(session as unknown as D1Database) as Database;
}

/**
 * The longest value of each parameter a shared key carries (after normalisation: `normaliseListing`).
 * A longer one is answered but not shared: no key grows with what a client sends, and a search
 * nobody else types is not worth a cache entry.
 */
export const SHARED_VALUE_LIMITS: Readonly<Record<string, number>> = { q: 64, cursor: 256, category: 40, sort: 16, limit: 3 };

/**
 * The key of a shared answer: `path`, then the parameters that shape the answer in name order
 * (undefined and empty ones left out), or null when one is unknown or longer than its limit
 * (answered, never shared). Callers pass only normalised values, so one page has one key.
 */
export function sharedKeyOf(path: string, params: Record<string, string | undefined>): string | null {
  const present = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== "");
  for (const [name, value] of present) {
    const limit = SHARED_VALUE_LIMITS[name];
    if (limit === undefined || value.length > limit) return null;
  }
  present.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = new URLSearchParams(present).toString();
  return query ? `${path}?${query}` : path;
}

export type SharedKind = "html" | "json";

const CONTENT_TYPES: Record<SharedKind, string> = {
  html: "text/html; charset=UTF-8",
  json: "application/json",
};

/**
 * Answers a shared catalog request: from this isolate's memory, else Cloudflare's cache, else
 * `render` (null: not found, answered by the caller and never stored). `key` names the answer
 * among the catalog's (`sharedKeyOf`; null: answer without sharing); `browser` is the
 * Cache-Control browsers get.
 */
export async function sharedCatalogAnswer(
  c: Context<AppEnv>,
  options: { key: string | null; kind: SharedKind; browser: string },
  render: (db: Database) => Promise<string | null>,
): Promise<Response | null> {
  const type = CONTENT_TYPES[options.kind];
  if (options.key === null || hasCookie(c.req.header("cookie"), SESSION_COOKIE)) {
    // Not shared (a signed-in visitor, or a request too long to key: sharedKeyOf), so no version
    // is needed: a read session (from the visitor's bookmark if any).
    const body = await render(sessionClient(readSession(c.env.DB, carriedBookmark(c))));
    if (body === null) return null;
    return new Response(body, { headers: { "content-type": type, "cache-control": "private, no-store", "x-bastion-cache": "bypass" } });
  }
  const read = await openCatalogRead(c);
  // A page's prices follow the shopper's locale (one copy per supported locale); JSON has none.
  const key: string = options.kind === "html" ? `${options.key}|${currentLocale()}` : options.key;
  const cacheKey = sharedKey(c.get("config").PUBLIC_ORIGIN, read.version, key);
  let answer = memory.get(cacheKey);
  let source = "memory";
  if (answer) {
    memory.delete(cacheKey);
    memory.set(cacheKey, answer);
  } else {
    const cached = await caches.default.match(cacheKey);
    if (cached) {
      answer = { body: new Uint8Array(await cached.arrayBuffer()), etag: cached.headers.get("etag") ?? "" };
      source = "edge";
    } else {
      const rendered = await render(read.db());
      if (rendered === null) return null;
      const body = new TextEncoder().encode(rendered);
      answer = { body, etag: await etagOf(read.version, body) };
      source = "miss";
      const stored = new Response(body, {
        headers: { "content-type": type, etag: answer.etag, "cache-control": `public, max-age=${EDGE_TTL_S}` },
      });
      await caches.default.put(cacheKey, stored);
    }
    remember(cacheKey, answer);
  }
  const headers: Record<string, string> = { "content-type": type, etag: answer.etag, "cache-control": options.browser, "x-bastion-cache": source };
  if (options.kind === "html") headers.vary = "Accept-Language";
  if (matchesEtag(c.req.header("if-none-match"), answer.etag)) return new Response(null, { status: 304, headers });
  return new Response(c.req.method === "HEAD" ? null : answer.body, { headers });
}

/**
 * The cache key: our own origin (Cache API keys are URLs of the zone), the catalog version, then
 * the answer's own key (pages put the build's asset fingerprint in theirs).
 */
function sharedKey(origin: string, version: string, key: string): string {
  return `${origin}/_shared/${version}${key.startsWith("/") ? key : `/${key}`}`;
}

function remember(key: string, answer: SharedAnswer): void {
  memory.set(key, answer);
  for (const oldest of memory.keys()) {
    if (memory.size <= MEMORY_LIMIT) break;
    memory.delete(oldest);
  }
}

async function etagOf(version: string, body: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const hex = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return `"${version.slice(0, 8)}-${hex}"`;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header || !etag) return false;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/**
 * After a staff request that may have changed the catalog (any successful write under the product
 * routes): the staff member carries a bookmark of the primary, so their next page is never read
 * from a replica older than their change. (This isolate already forgot its catalog version where
 * the product was written: `forgetCatalogCopies` in src/admin/products.ts.)
 */
export const afterCatalogWrite = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.req.method === "GET" || c.req.method === "HEAD" || c.res.status >= 400) return;
  await rememberOwnWrite(c);
});
