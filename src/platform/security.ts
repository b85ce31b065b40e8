import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { ProblemError } from "./problem";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The Content-Security-Policy of every response. Scripts only from our own origin (each page
 * loads them with SRI); no inline script at all (no page needs one, so no nonce is issued), no
 * plugin, no framing, no <base> hijack.
 */
export function contentSecurityPolicy(opts: { turnstile?: boolean } = {}): string {
  // The one third-party script: Cloudflare Turnstile, on the sign-in page only, loaded only when
  // the server asks for a challenge (docs/decisions/007-sessions.md).
  const turnstile = opts.turnstile ? " https://challenges.cloudflare.com" : "";
  return [
    "default-src 'self'",
    `script-src 'self'${turnstile}`,
    ...(opts.turnstile ? ["frame-src https://challenges.cloudflare.com"] : []),
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "upgrade-insecure-requests",
  ].join("; ");
}

// Both policies are constant: built once, not per response.
const CSP = contentSecurityPolicy();
const CSP_SIGN_IN = contentSecurityPolicy({ turnstile: true });

/**
 * The headers every response carries, whoever serves it: this middleware for the worker's
 * answers, `public/_headers` for the static files the platform serves without the worker
 * (wrangler.toml `run_worker_first`, decision 001). test/tooling/static-assets.test.ts holds the
 * two to the same values.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CSP,
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
};

/** Set on every worker response as they are (CSP and the referrer policy have per-route exceptions). */
const FIXED_HEADERS = Object.keys(SECURITY_HEADERS).filter((name) => name !== "content-security-policy" && name !== "referrer-policy");

/**
 * Security headers on every response (P03, T03, T09): CSP, HSTS, nosniff, referrer policy,
 * and `no-store` unless a route opted into caching explicitly.
 */
export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const h = c.res.headers;
  // A response from the assets binding is immutable; copy it so its headers can be changed.
  try {
    h.set("x-content-type-options", "nosniff");
  } catch {
    c.res = new Response(c.res.body, c.res);
  }
  const headers = c.res.headers;
  // A route may set a stricter policy of its own (uploaded images: a sandbox that runs nothing).
  if (!headers.has("content-security-policy")) headers.set("content-security-policy", c.req.path === "/sign-in" ? CSP_SIGN_IN : CSP);
  for (const name of FIXED_HEADERS) headers.set(name, SECURITY_HEADERS[name]!);
  // A page whose URL is a credential (a guest order's link) sends no referrer at all.
  if (headers.get("referrer-policy") !== "no-referrer") headers.set("referrer-policy", SECURITY_HEADERS["referrer-policy"]!);
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
});

/**
 * In production, plain-HTTP requests are redirected to HTTPS (T09, P14). Cloudflare terminates
 * TLS, so the scheme the client used is the request URL's scheme.
 */
export const httpsOnly = createMiddleware<AppEnv>(async (c, next) => {
  // c.get, not c.var: Hono builds a fresh object of every variable on each `c.var` read.
  if (c.get("config").ENVIRONMENT === "production" && c.req.url.startsWith("http:")) {
    const url = new URL(c.req.url);
    url.protocol = "https:";
    return c.redirect(url.toString(), 308);
  }
  await next();
});

/**
 * CSRF origin check (API.md): a state-changing request that carries cookies must come from the
 * shop's own origin, whatever its content type. `Origin` is checked first; without it,
 * `Sec-Fetch-Site` must say `same-origin`. The Stripe webhook is exempt (signature-authenticated).
 */
export const csrfOriginCheck = createMiddleware<AppEnv>(async (c, next) => {
  if (SAFE_METHODS.has(c.req.method) || c.req.path === "/api/webhooks/stripe") return next();
  if (!c.req.header("cookie")) return next();
  const origin = c.req.header("origin");
  const config = c.get("config");
  const allowed = origin !== undefined ? originAllowed(origin, config.PUBLIC_ORIGIN, config.ENVIRONMENT) : c.req.header("sec-fetch-site") === "same-origin";
  if (!allowed) {
    throw new ProblemError(403, "csrf_origin_mismatch", "This request did not come from the shop's own pages.");
  }
  return next();
});

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The request's Origin is the shop's. In development only, a loopback alias of a loopback
 * PUBLIC_ORIGIN counts too (same scheme and port): wrangler prints http://127.0.0.1:8787 while
 * the configured origin is http://localhost:8787, and both reach the same local worker.
 * Production compares exactly (P03).
 */
export function originAllowed(origin: string, expected: string, environment: string): boolean {
  if (origin === expected) return true;
  if (environment !== "development" || !URL.canParse(origin)) return false;
  const got = new URL(origin);
  const want = new URL(expected);
  return LOOPBACK_HOSTS.has(want.hostname) && LOOPBACK_HOSTS.has(got.hostname) && got.protocol === want.protocol && got.port === want.port;
}

/** 64 KiB: the largest JSON body any route accepts (API.md). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Guards the body of JSON routes: `415` unless `application/json`, `413` over 64 KiB
 * (declared or actual). The body is read once here and kept for the route's validator.
 */
/** The JSON body guard, except on `rawBodyPaths` (an upload route that reads and limits its own body). */
export function jsonBodyGuardExcept(rawBodyPaths: readonly string[]): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || rawBodyPaths.includes(c.req.path)) return next();
    // Only a plain decimal length counts as declared ("10, 10" or garbage is measured instead).
    const declared = c.req.header("content-length");
    const length = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : null;
    if (length !== null && length > MAX_BODY_BYTES) throw new ProblemError(413, "payload_too_large", "Request bodies are limited to 64 KiB.");
    // No body, or an empty one (`fetch(url, { method: "POST" })` sends Content-Length: 0): nothing to type-check.
    const hasBody = c.req.raw.body !== null && c.req.method !== "DELETE" && length !== 0;
    if (!hasBody) {
      // An empty body says nothing, whatever type a client put on it (`curl -d ''`, a string body's
      // text/plain): the request goes on without one, so an optional JSON body reads as absent.
      if (length === 0 && c.req.header("content-type") !== undefined) {
        const headers = new Headers(c.req.raw.headers);
        headers.delete("content-type");
        c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers });
      }
      return next();
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      throw new ProblemError(415, "unsupported_media_type", "Send the request body as application/json.");
    }
    // A declared length frames the body on the wire (HTTP/1.1 reads exactly Content-Length bytes;
    // HTTP/2 and 3 treat a mismatch as a malformed request), and it was checked above; only a
    // Request built inside the isolate could carry a longer body, and nothing here builds one.
    // A chunked body (or an unreadable length) is measured: read a copy of the stream and stop as
    // soon as it passes the limit, so a 100 MB body never sits in the isolate's memory.
    if (length === null && (await exceedsLimit(c.req.raw.clone().body, MAX_BODY_BYTES))) {
      throw new ProblemError(413, "payload_too_large", "Request bodies are limited to 64 KiB.");
    }
    return next();
  });
}

async function exceedsLimit(body: ReadableStream<Uint8Array> | null, limit: number): Promise<boolean> {
  if (!body) return false;
  const reader = body.getReader();
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return false;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return true;
    }
  }
}
