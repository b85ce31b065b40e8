import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";

type Operation = {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  parameters?: { in: string }[];
  responses: Record<string, { description: string; content?: Record<string, unknown> } | { $ref: string }>;
  [key: string]: unknown;
};
type Document = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;

const UNSAFE = new Set(["post", "put", "patch", "delete"]);
const PROBLEM = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } };

/** Paths that exist only on a development worker with its dev routes on (config.devRoutes). */
export const isDevelopmentPath = (path: string): boolean => path.startsWith("/dev/");

/**
 * Registers how clients authenticate, once per app: better-auth's session cookie, the guest
 * cart's cookie, and Stripe's signature header for the webhook.
 */
export function registerSecuritySchemes(api: OpenAPIHono<AppEnv>, sessionCookie: string, cartCookie: string): void {
  const registry = api.openAPIRegistry;
  registry.registerComponent("securitySchemes", "cookieAuth", {
    type: "apiKey",
    in: "cookie",
    name: sessionCookie,
    description:
      "The session cookie set by `POST /auth/sign-in/email` (HttpOnly, Secure, SameSite=Lax). Requests that change state must also come from the shop's origin (`Origin` header).",
  });
  registry.registerComponent("securitySchemes", "cartCookie", {
    type: "apiKey",
    in: "cookie",
    name: cartCookie,
    description: "A guest's cart, set by the first cart change of a visitor without a session. Signed: a forged value reads as an empty cart.",
  });
  registry.registerComponent("responses", "InternalError", {
    description: "`internal_error`: something failed on the shop's side; nothing was half-written (retry later)",
    content: PROBLEM,
  });
  registry.registerComponent("responses", "Unavailable", {
    description: "`misconfigured` (the deployment refuses every request until fixed) or a dependency is down (`audit_unavailable`: nothing was changed)",
    content: PROBLEM,
  });
  registry.registerComponent("securitySchemes", "stripeSignature", {
    type: "apiKey",
    in: "header",
    name: "Stripe-Signature",
    description: "HMAC-SHA256 of the raw body with the webhook secret, as Stripe signs it.",
  });
}

/**
 * The whole OpenAPI 3.1 document of `api`, as this deployment serves it: development-only paths
 * only when they exist, and the refusals that the app's middleware (CSRF origin check, JSON body
 * guard) adds to every state-changing route, so each operation lists every error it can answer.
 */
export function buildOpenApiDocument(api: OpenAPIHono<AppEnv>, devRoutes: boolean): Document {
  const doc = api.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Bastion API",
      version: "1.0.0",
      description:
        "The public HTTP contract of the Bastion shop. Errors are RFC 9457 problem details with a stable `code` " +
        "(`/auth/*` routes answer better-auth's `{ code, message }`). State-changing requests that carry cookies must send the shop's own `Origin`.",
      license: { name: "Proprietary (the shop owner's terms)" },
    },
    servers: [{ url: "/api", description: "This shop's own origin" }],
  });
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (isDevelopmentPath(path) && !devRoutes) {
      delete doc.paths![path];
      continue;
    }
    for (const [method, value] of Object.entries(item as Record<string, Operation>)) {
      if (typeof value !== "object" || value === null || !("responses" in value)) continue;
      addMiddlewareRefusals(value, UNSAFE.has(method));
    }
  }
  if (!devRoutes) dropUnreferencedSchemas(doc);
  return doc;
}

/** Removes the schemas only a removed (development) path used: what is left is all in use. */
function dropUnreferencedSchemas(doc: Document): void {
  const schemas = (doc.components?.schemas ?? {}) as Record<string, unknown>;
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      const name = key === "$ref" && typeof value === "string" ? value.replace("#/components/schemas/", "") : null;
      if (name !== null && !used.has(name)) {
        used.add(name);
        visit(schemas[name]);
      } else visit(value);
    }
  };
  visit(doc.paths);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}

function addMiddlewareRefusals(op: Operation, changesState: boolean): void {
  const add = (status: string, description: string): void => {
    const existing = op.responses[status];
    if (!existing) op.responses[status] = { description, content: PROBLEM };
    else if ("description" in existing && !existing.description.includes(description)) {
      existing.description = `${existing.description}; or ${description}`;
      existing.content = { ...PROBLEM, ...existing.content };
    }
  };
  // The webhook is authenticated by its signature, not by cookies: the origin check skips it.
  const byCookie = !op.security?.some((requirement) => "stripeSignature" in requirement);
  if (changesState && byCookie) add("403", "`csrf_origin_mismatch`: a request with cookies from another origin");
  const bodyTypes = Object.keys((op.requestBody as { content?: object } | undefined)?.content ?? {});
  if (bodyTypes.includes("application/json")) {
    add("400", "`malformed_json`: the body is not JSON");
    add("413", "`payload_too_large`: a body over 64 KiB");
    add("415", "`unsupported_media_type`: a body that is not application/json");
  }
  if (op.parameters?.some((p) => p.in === "query" || p.in === "path")) add("400", "`invalid_parameter`: a query or path parameter breaks its rule");
  op.responses["500"] ??= { $ref: "#/components/responses/InternalError" };
  op.responses["503"] ??= { $ref: "#/components/responses/Unavailable" };
}
