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
/**
 * A further readiness check that a domain above the platform supplies (the audit chain): null
 * when ready, or the problem code and a reason. `src/index.ts` wires them, so the platform never
 * imports a domain.
 */
export interface ReadinessCheck {
  name: string;
  run(env: Env): Promise<{ code: string; detail: string } | null>;
}

export async function readiness(c: Context<AppEnv>, checks: readonly ReadinessCheck[] = []): Promise<Response> {
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
  for (const check of checks) {
    let failure: { code: string; detail: string } | null;
    try {
      failure = await check.run(c.env);
    } catch (error) {
      failure = { code: `${check.name}_unavailable`, detail: `The ${check.name} check could not run.` };
      logEvent(c, "error", "not_ready", { reason: check.name, error: String(error) });
    }
    if (failure) {
      logEvent(c, "error", "not_ready", { reason: check.name, code: failure.code });
      return problemResponse(503, failure.code, failure.detail);
    }
  }
  return c.json({ status: "ready" }, 200, { "cache-control": "no-store" });
}
