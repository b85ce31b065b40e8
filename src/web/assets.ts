import { Hono } from "hono";
import type { AppEnv } from "../platform/app-env";
import { renderNotFound } from "../platform/errors";

/**
 * Static files from `public/` through the ASSETS binding. The binding resolves paths itself and
 * never serves anything outside `public/` (so `/..%2f`, `/.dev.vars`, `/wrangler.toml` are 404).
 */
export const staticAssets = new Hono<AppEnv>().on(["GET", "HEAD"], "*", async (c) => {
  const res = await c.env.ASSETS.fetch(c.req.raw);
  if (res.status === 404) return renderNotFound(c);
  const out = new Response(res.body, res);
  // Our pages reference scripts and styles as `?v=<sha384 prefix>`: a new file is a new URL.
  if (c.req.path.startsWith("/assets/") && c.req.query("v")) {
    out.headers.set("cache-control", "public, max-age=31536000, immutable");
  } else if (c.req.path.startsWith("/images/") || c.req.path === "/favicon.svg") {
    out.headers.set("cache-control", "public, max-age=86400");
  }
  return out;
});
