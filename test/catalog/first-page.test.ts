import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FIRST_PAGE_TTL_MS, sharedForAWhile } from "../../src/catalog/first-page";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { makeProduct, unique } from "../support/factories";

interface Page {
  items: { id: string; name: string }[];
}

describe("the catalog's shared first page (decision 008)", () => {
  it("computes once per TTL and key, shares concurrent callers, and does not keep a failure", async () => {
    const scope = {} as D1Database;
    let calls = 0;
    const compute = async () => ++calls;
    const t0 = 1_000_000;
    const [a, b] = await Promise.all([sharedForAWhile(scope, "k", compute, t0), sharedForAWhile(scope, "k", compute, t0)]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    expect(await sharedForAWhile(scope, "k", compute, t0 + FIRST_PAGE_TTL_MS - 1)).toBe(1);
    expect(await sharedForAWhile(scope, "other", compute, t0)).toBe(2);
    expect(await sharedForAWhile(scope, "k", compute, t0 + FIRST_PAGE_TTL_MS)).toBe(3);
    await expect(sharedForAWhile(scope, "fails", () => Promise.reject(new Error("D1 down")), t0)).rejects.toThrow("D1 down");
    expect(await sharedForAWhile(scope, "fails", async () => "recovered", t0 + 1)).toBe("recovered");
  });

  it("P04 a product staff hide leaves the shared first page at once, and a new one appears at once", async () => {
    // Sorts first by name, so it is on the first page.
    const shown = await makeProduct({ name: `!!! ${unique("first")}` });
    const firstPage = async (): Promise<string[]> => ((await (await request("/api/products")).json()) as Page).items.map((p) => p.id);
    const home = async (): Promise<string> => (await request("/")).text();
    expect(await firstPage()).toContain(shown.id);
    expect(await home()).toContain(shown.name);
    const admin = await as("admin");
    const hide = await sendJson("PATCH", `/api/admin/products/${shown.id}`, { hidden: true }, admin);
    expect(hide.status).toBe(200);
    expect(await firstPage()).not.toContain(shown.id);
    expect(await home()).not.toContain(shown.name);
    const created = await sendJson(
      "POST",
      "/api/admin/products",
      { slug: unique("aaa").toLowerCase(), name: `!!! ${unique("new")}`, priceCents: 100, stock: 1 },
      admin,
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(await firstPage()).toContain(id);
    // Searches and later pages are never shared: they always read D1.
    const direct = await makeProduct({ name: `!!! ${unique("direct")}` });
    expect(((await (await request(`/api/products?q=${encodeURIComponent(direct.name)}`)).json()) as Page).items.map((p) => p.id)).toEqual([direct.id]);
    void env;
  });
});
