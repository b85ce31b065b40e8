import type { ContentfulStatusCode } from "hono/utils/http-status";

/** One field-level error inside a problem document. */
export interface FieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem details document as API.md defines it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: FieldError[];
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/**
 * The one error type the app throws for expected refusals. `onError` renders it as
 * problem+json under /api and as an HTML error page elsewhere.
 */
export class ProblemError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: string, detail?: string, options: { errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(detail ?? code);
    this.name = "ProblemError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  toBody(): ProblemBody {
    return problemBody(this.status, this.code, this.detail, this.errors);
  }
}

/** Builds a problem document; `type` is a stable URI per code, documented in the API reference. */
export function problemBody(status: number, code: string, detail?: string, errors?: FieldError[]): ProblemBody {
  const body: ProblemBody = {
    type: `https://bastion.dev/problems/${code.replaceAll("_", "-")}`,
    title: TITLES[status] ?? "Error",
    status,
    code,
  };
  if (detail !== undefined) body.detail = detail;
  if (errors !== undefined && errors.length > 0) body.errors = errors;
  return body;
}

/** A problem+json `Response`, for places that answer outside a Hono context. */
export function problemResponse(status: number, code: string, detail?: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problemBody(status, code, detail)), {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store", ...headers },
  });
}
