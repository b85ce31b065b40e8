import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { documentMismatch, isDocumented, templateOf } from "./openapi";

export const ORIGIN = "http://localhost:8787";

/** Sends a request to the worker over its fetch handler, as a client on the network would. */
export function request(path: string, init: RequestInit = {}): Promise<Response> {
  const req = new Request(new URL(path, ORIGIN), init);
  // Cloudflare always sets CF-Connecting-IP; each test request comes from its own address unless
  // the test names one (throttling tests do), so per-address limits don't leak between tests.
  if (!req.headers.has("cf-connecting-ip")) req.headers.set("cf-connecting-ip", randomTestAddress());
  return exports.default.fetch(req).then(async (res) => {
    await expectDocumented(req, res);
    return res;
  });
}

/**
 * Every answer of the JSON API in every test is held to the committed OpenAPI document: its
 * status is one the operation lists, and a JSON body matches the schema. A path the document does
 * not describe may only refuse (the attack tests probe routes that must not exist).
 */
async function expectDocumented(req: Request, res: Response): Promise<void> {
  const url = new URL(req.url);
  if (!url.pathname.startsWith("/api/") || url.pathname === "/api/openapi.json" || url.pathname === "/api/docs") return;
  const template = templateOf(url.pathname);
  const method = req.method === "HEAD" ? "GET" : req.method;
  if (template === null || !isDocumented(method, template)) {
    expect(res.status, `${req.method} ${url.pathname} is not in the OpenAPI document, yet answered`).toBeGreaterThanOrEqual(400);
    return;
  }
  expect(await documentMismatch(method, template, res), "the answer does not match openapi/openapi.json").toBeNull();
}

/** A random address from 2001:db8::/32, the IPv6 documentation range. */
export function randomTestAddress(): string {
  const r = crypto.getRandomValues(new Uint16Array(4));
  return `2001:db8:${[...r].map((n) => n.toString(16)).join(":")}::1`;
}

/** Sends JSON from the shop's own origin, as the storefront's script does. */
export function sendJson(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(path, {
    method,
    headers: { "content-type": "application/json", origin: ORIGIN, ...headers },
    body: JSON.stringify(body),
  });
}
