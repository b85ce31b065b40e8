import { exports } from "cloudflare:workers";

export const ORIGIN = "http://localhost:8787";

/** Sends a request to the worker over its fetch handler, as a client on the network would. */
export function request(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(new URL(path, ORIGIN), init));
}

/** Sends JSON from the shop's own origin, as the storefront's script does. */
export function sendJson(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(path, {
    method,
    headers: { "content-type": "application/json", origin: ORIGIN, ...headers },
    body: JSON.stringify(body),
  });
}
