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
  return new Response(res.body, res);
});
