import { Validator, type Schema } from "@cfworker/json-schema";
import type { Middleware } from "openapi-fetch";
import { expect } from "vitest";
import document from "../../openapi/openapi.json";

type Response_ = { content?: Record<string, { schema: Schema }>; $ref?: string };
type Responses = Record<string, Response_>;
const sharedResponses = (document.components as unknown as { responses?: Record<string, Response_> }).responses ?? {};
const paths = document.paths as unknown as Record<string, Record<string, { responses: Responses }>>;
const schemas = document.components.schemas as unknown as Record<string, Schema>;

/** A schema with every `#/components/schemas/X` reference replaced by X (the document has no cycles). */
function inline(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(inline);
  if (node === null || typeof node !== "object") return node;
  const ref = (node as { $ref?: string }).$ref;
  if (typeof ref === "string") return inline(schemas[ref.replace("#/components/schemas/", "")]);
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, inline(value)]));
}

/**
 * What is wrong with an answer of the API by the committed document (openapi/openapi.json), or
 * null: the status must be documented for the operation, and a JSON body must match its schema.
 */
export async function documentMismatch(method: string, schemaPath: string, response: Response): Promise<string | null> {
  const operation = paths[schemaPath]?.[method.toLowerCase()];
  if (!operation) return `${method} ${schemaPath} is not in the document`;
  const status = String(response.status);
  let documented = operation.responses[status] ?? operation.responses[`${status[0]}XX`] ?? operation.responses.default;
  if (documented?.$ref) documented = sharedResponses[documented.$ref.replace("#/components/responses/", "")];
  if (!documented) return `${method} ${schemaPath} answered ${status}, which the document does not list (${Object.keys(operation.responses).join(", ")})`;
  const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
  // A redirect's body is for no one (browsers follow the Location).
  if (!type.endsWith("json") || status.startsWith("3")) return null;
  const content = documented.content?.[type];
  if (!content) return `${method} ${schemaPath} ${status} answered ${type}, which the document does not list`;
  const result = new Validator(inline(content.schema) as Schema, "2020-12", false).validate(await response.clone().json());
  if (result.valid) return null;
  const problems = result.errors
    .filter((e) => e.keyword !== "properties" && e.keyword !== "anyOf" && e.keyword !== "items")
    .map((e) => `${e.instanceLocation}: ${e.error}`);
  return `${method} ${schemaPath} ${status} does not match its schema: ${problems.slice(0, 5).join("; ")}`;
}

/** openapi-fetch middleware: every answer the typed client receives must match the document. */
export const matchesDocument: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    expect(await documentMismatch(request.method, schemaPath, response)).toBeNull();
    return response;
  },
};

const templates = Object.keys(paths)
  .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`), literal: template.replace(/\{[^}]+\}/g, "").length }))
  .sort((a, b) => b.literal - a.literal);

/** Whether the document describes `method` on the path template. */
export function isDocumented(method: string, template: string): boolean {
  return paths[template]?.[method.toLowerCase()] !== undefined;
}

/** The document's path template for a request path under /api (`/api/orders/abc` → `/orders/{id}`), or null. */
export function templateOf(pathname: string): string | null {
  const path = pathname.replace(/^\/api/, "");
  return templates.find((t) => t.pattern.test(path))?.template ?? null;
}
