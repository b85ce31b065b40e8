import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { loadConfig } from "./config";
import { logEvent } from "./log";
import { problemResponse } from "./problem";

/**
 * GET /readyz: the readiness check for uptime monitors and deploy pipelines. Ready means the
 * config passes the same check that gates every request (a misconfigured production worker
 * answers 503 everywhere) and D1 answers a query. `/healthz` stays liveness only (the isolate runs).
 */
export async function readiness(c: Context<AppEnv>): Promise<Response> {
  const config = loadConfig(c.env);
  if (!config.ok) {
    logEvent(c, "error", "not_ready", { reason: "misconfigured", problems: config.problems });
    return problemResponse(503, "misconfigured", "The shop is not configured safely and is refusing requests.");
  }
  try {
    await c.env.DB.prepare("SELECT 1").first();
  } catch (error) {
    logEvent(c, "error", "not_ready", { reason: "d1_unreachable", error: String(error) });
    return problemResponse(503, "misconfigured", "The shop's database does not answer.");
  }
  return c.json({ status: "ready" }, 200, { "cache-control": "no-store" });
}
