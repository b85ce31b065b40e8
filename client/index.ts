import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type { components, operations, paths };

/**
 * A typed client of the Bastion API. Its types are generated from the committed document
 * (openapi/openapi.json, `npm run openapi`), so a route that drifts from the document fails to
 * compile here or fails the tests that drive the shop through it (test/api/).
 *
 * `baseUrl` is the shop's origin followed by `/api`. In a browser the session cookie travels by
 * itself (same origin); elsewhere, keep cookies with a middleware (see `cookieJar`).
 */
export function createBastionClient(options: ClientOptions & { baseUrl: string }): Client<paths> {
  return createClient<paths>(options);
}

/**
 * Keeps the cookies the shop sets (session, cart) and sends them back, with the shop's `Origin`
 * on every request, as a browser on the shop's own pages would: for server-side integrations
 * and tests.
 */
export function cookieJar(origin: string): Middleware & { cookies: Map<string, string> } {
  const cookies = new Map<string, string>();
  return {
    cookies,
    onRequest({ request }) {
      if (cookies.size > 0) request.headers.set("cookie", [...cookies].map(([name, value]) => `${name}=${value}`).join("; "));
      request.headers.set("origin", origin);
      return request;
    },
    onResponse({ response }) {
      for (const line of response.headers.getSetCookie()) {
        const [pair = ""] = line.split(";");
        const at = pair.indexOf("=");
        const name = pair.slice(0, at).trim();
        const value = pair.slice(at + 1);
        if (value === "" || /max-age=0/i.test(line)) cookies.delete(name);
        else cookies.set(name, value);
      }
      return response;
    },
  };
}
