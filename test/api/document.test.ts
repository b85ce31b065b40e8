import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import committed from "../../openapi/openapi.json";
import { breakingChanges } from "../../scripts/openapi-diff";
import { documentedAuthRoutes } from "../../src/accounts/auth-openapi";
import { isAllowedAuthRoute } from "../../src/accounts/auth-gate";
import worker from "../../src/index";
import { ORIGIN } from "../support/http";

type Doc = {
  paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; [k: string]: unknown }>>;
  components: { securitySchemes: Record<string, unknown> };
};

/** The document a worker serves, with its development routes on (local) or off (every deployment). */
async function servedDocument(devRoutes: boolean): Promise<Doc> {
  const res = await worker.fetch(new Request(`${ORIGIN}/api/openapi.json`), { ...env, DEV_ROUTES: devRoutes ? "on" : "off" } as Env, createExecutionContext());
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

const operations = (doc: Doc) => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

describe("the OpenAPI document", () => {
  it("is the committed contract openapi/openapi.json (change it deliberately: npm run openapi)", async () => {
    const doc = await servedDocument(false);
    const breaking = breakingChanges(committed as never, doc as never);
    const hint = breaking.length
      ? `breaking changes against the committed document:\n${breaking.join("\n")}`
      : "the served document differs from the committed one";
    await expect(`${JSON.stringify(doc, null, 2)}\n`, hint).toMatchFileSnapshot("../../openapi/openapi.json");
  });

  it("gives every operation an operationId and the security it needs; staff routes name their roles and the second factor", async () => {
    const doc = await servedDocument(false);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["cartCookie", "cookieAuth", "stripeSignature"]);
    const ids = new Set<string>();
    for (const { path, method, op } of operations(doc)) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
      ids.add(op.operationId!);
      expect(Array.isArray(op.security), `${method} ${path} security`).toBe(true);
      if (path.startsWith("/admin/")) {
        expect(op.security).toEqual([{ cookieAuth: [] }]);
        expect(op["x-bastion-second-factor"]).toBe("required");
        expect(op["x-bastion-roles"]).toEqual(path.startsWith("/admin/orders") && method === "get" ? ["admin", "support"] : ["admin"]);
      }
    }
    expect(ids.size).toBe(operations(doc).length);
    expect(doc.paths["/checkout"]!.post!.security).toEqual([{ cookieAuth: [] }, { cartCookie: [] }]);
    expect(doc.paths["/products"]!.get!.security).toEqual([]);
  });

  it("describes exactly the better-auth routes the shop serves (the allow-list), sign-up, sign-in and two-factor included", async () => {
    const doc = await servedDocument(false);
    const documented = operations(doc)
      .filter(({ path }) => path.startsWith("/auth/"))
      .map(({ path, method }) => `${method.toUpperCase()} ${path.slice("/auth".length)}`);
    expect(documented.sort()).toEqual([...documentedAuthRoutes].sort());
    for (const route of documentedAuthRoutes) {
      const [method, path] = route.split(" ") as [string, string];
      expect(isAllowedAuthRoute(method, path.replace("{token}", "abc123")), route).toBe(true);
    }
    for (const id of ["signUp", "signInWithPassword", "verifyTotp", "enableTotp", "signInWithPasskey"])
      expect(
        operations(doc).some(({ op }) => op.operationId === id),
        id,
      ).toBe(true);
    // A route outside the allow-list is not served, and not documented either.
    expect(isAllowedAuthRoute("POST", "/delete-user")).toBe(false);
    expect(documented).not.toContain("POST /delete-user");
  });

  it("lists development-only routes only on a worker that has them", async () => {
    const dev = await servedDocument(true);
    const deployed = await servedDocument(false);
    expect(Object.keys(dev.paths)).toEqual(expect.arrayContaining(["/dev/outbox", "/dev/seed-admin"]));
    expect(Object.keys(deployed.paths).filter((p) => p.startsWith("/dev/"))).toEqual([]);
    expect(JSON.stringify(deployed)).not.toMatch(/DevOutbox|DevSeededAdmin/);
    const outbox = await worker.fetch(new Request(`${ORIGIN}/api/dev/outbox`), { ...env, DEV_ROUTES: "off" } as Env, createExecutionContext());
    expect(outbox.status).toBe(404);
  });
});
