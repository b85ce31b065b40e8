import type { Context } from "hono";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./app-env";

/**
 * Gives every request an id: Cloudflare's Ray ID when there is one (so a log line leads to the
 * dashboard's request), a random UUID otherwise. A client's own X-Request-Id is not trusted (it
 * could make two people's requests look like one in the logs); the id is sent back in
 * X-Request-Id so a customer can quote it.
 */
export const requestIds = requestId({ headerName: "", generator: (c) => c.req.header("cf-ray") ?? crypto.randomUUID() });

/**
 * Sends the request id back in X-Request-Id. Set on the finished response's own headers: Hono's
 * `c.header()` after the handler returned copies the whole Response to add one header (a tenth
 * of a shared catalog page's CPU in the bench's profile). A response whose headers are immutable
 * (a static asset's) takes the copying path.
 */
export function exposeRequestId(c: Context<AppEnv>): void {
  const id = c.get("requestId");
  if (!id) return;
  try {
    c.res.headers.set("x-request-id", id);
  } catch {
    c.header("x-request-id", id);
  }
}

/**
 * Query parameters that carry a secret (a guest order link's `key`, a sign-in or verification
 * `token`, an OAuth `code`): their values never reach a log line, whatever field they hide in (a
 * URL in an error message, a stack, a caller's field). Request lines log the path, never the query.
 */
const SECRET_PARAMS = /([?&](?:key|token|code)=)[^&\s"'#\\]+/gi;

/** `text` with the values of secret-carrying query parameters replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PARAMS, "$1[redacted]");
}

/** One structured log line (Workers Logs indexes JSON): level, message, request id, route and path (never the query string). */
export function logEvent(c: Context<AppEnv>, level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
  const line = redactSecrets(
    JSON.stringify({ level, msg, requestId: c.var.requestId, route: `${c.req.method} ${c.req.routePath}`, path: c.req.path, ...fields }),
  );
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
