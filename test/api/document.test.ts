import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ORIGIN } from "../support/http";

/** The document as a deployment without development routes serves it (production, staging). */
async function servedDocument(devRoutes: boolean): Promise<Record<string, unknown>> {
  const res = await worker.fetch(new Request(`${ORIGIN}/api/openapi.json`), { ...env, DEV_ROUTES: devRoutes ? "on" : "off" } as Env, createExecutionContext());
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe("the OpenAPI document", () => {
  it("matches the committed snapshot openapi/openapi.json (update it deliberately: npm run openapi)", async () => {
    const doc = await servedDocument(false);
    await expect(`${JSON.stringify(doc, null, 2)}\n`).toMatchFileSnapshot("../../openapi/openapi.json");
  });
});
