import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MessagePage } from "../web/pages";
import type { AppEnv } from "./app-env";
import { logEvent } from "./log";
import { ProblemError, problemBody } from "./problem";

const CODES_BY_STATUS: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "validation_failed",
  429: "too_many_requests",
};

/** True for paths whose errors are problem+json rather than HTML pages. */
function wantsProblemJson(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

/** Converts anything thrown into the ProblemError that is rendered, hiding internals. */
export function toProblem(err: unknown): ProblemError {
  if (err instanceof ProblemError) return err;
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    // Hono's JSON validator throws 400 "Malformed JSON in request body" before zod runs.
    if (status === 400 && /malformed json/i.test(err.message)) {
      return new ProblemError(400, "malformed_json", "The request body is not valid JSON.");
    }
    return new ProblemError(status, CODES_BY_STATUS[status] ?? "error", err.message || undefined);
  }
  return new ProblemError(500, "internal_error", "Something went wrong on our side. Nothing was charged.");
}

/** The single error renderer (`app.onError`): problem+json under /api, a page elsewhere. */
export function renderError(err: unknown, c: Context<AppEnv>): Response {
  const problem = toProblem(err);
  if (problem.status >= 500) {
    // Logged for operators; the client only ever sees the generic message. A deliberate refusal
    // (502 payment_unavailable, 503 audit_unavailable) is named by its code; only a real fault
    // carries a stack.
    if (err instanceof ProblemError) logEvent(c, "error", "request_refused", { status: problem.status, code: problem.code });
    else logEvent(c, "error", "unhandled", { error: String(err instanceof Error ? (err.stack ?? err.message) : err) });
  }
  for (const [k, v] of Object.entries(problem.headers)) c.header(k, v);
  c.header("cache-control", "no-store");
  if (wantsProblemJson(c.req.path)) {
    return c.body(JSON.stringify(problem.toBody()), problem.status, { "content-type": "application/problem+json" });
  }
  const title = problem.status === 404 ? "Not found" : problem.status >= 500 ? "Something went wrong" : "We could not do that";
  const message =
    problem.status >= 500 ? "Something went wrong on our side. Please try again in a moment." : (problem.detail ?? "That request could not be completed.");
  return c.html(<MessagePage status={problem.status} title={title} message={message} />, problem.status) as Response;
}

/** The 404 for unmatched routes, in the same two shapes. */
export function renderNotFound(c: Context<AppEnv>): Response | Promise<Response> {
  return renderError(new ProblemError(404, "not_found", "There is nothing at this address."), c);
}

export { problemBody };
