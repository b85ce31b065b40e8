import { describe, expect, it } from "vitest";
import { request } from "../support/http";
import { makeProduct, unique } from "../support/factories";

interface ProductJson {
  id: string;
  slug: string;
  name: string;
  priceCents: number;
  inStock: boolean;
  imageUrl: string | null;
}
interface PageJson {
  items: ProductJson[];
  nextCursor: string | null;
}

describe("catalog API", () => {
  it("lists visible products with the contract's shape and no internal fields", async () => {
    const word = unique("lantern");
    const p = await makeProduct({ name: `Brass ${word}`, priceCents: 4500, stock: 0 });
    const res = await request(`/api/products?q=${word}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as PageJson;
    expect(body.items).toEqual([
      {
        id: p.id,
        slug: p.slug,
        name: p.name,
        description: p.description,
        priceCents: 4500,
        currency: "USD",
        imageUrl: null,
        images: [],
        inStock: false,
        lowStock: null,
        category: null,
        status: "active",
        options: [],
        variants: [{ id: p.variantId, sku: null, options: {}, priceCents: 4500, compareAtPriceCents: null, inStock: false, lowStock: null, imageUrl: null }],
      },
    ]);
    expect(body.nextCursor).toBeNull();
  });

  it("pages through results with an opaque cursor, without repeats or gaps", async () => {
    const word = unique("pager");
    const made = await Promise.all(Array.from({ length: 7 }, (_, i) => makeProduct({ name: `${word} ${String(i).padStart(2, "0")}` })));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await request(`/api/products?q=${word}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      const page = (await res.json()) as PageJson;
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(made.sort((a, b) => a.name.localeCompare(b.name)).map((p) => p.id));
  });

  it("clamps limit to 1–100 and defaults to 24", async () => {
    const word = unique("clamp");
    await Promise.all(Array.from({ length: 3 }, () => makeProduct({ name: `${word} item` })));
    const zero = (await (await request(`/api/products?q=${word}&limit=0`)).json()) as PageJson;
    expect(zero.items).toHaveLength(1);
    const huge = await request(`/api/products?limit=100000`);
    expect(huge.status).toBe(200);
    expect(((await huge.json()) as PageJson).items.length).toBeLessThanOrEqual(100);
  });

  it("matches search text case-insensitively in name and description", async () => {
    const word = unique("Kettle");
    const a = await makeProduct({ name: `Copper ${word}` });
    const b = await makeProduct({ description: `Pairs well with a ${word.toUpperCase()}.` });
    const body = (await (await request(`/api/products?q=${word.toLowerCase()}`)).json()) as PageJson;
    expect(body.items.map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
  });

  it("gets one product by slug and 404s for an unknown one as problem+json", async () => {
    const p = await makeProduct();
    const ok = await request(`/api/products/${p.slug}`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as ProductJson).id).toBe(p.id);
    const missing = await request(`/api/products/${unique("nope")}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect(await missing.json()).toMatchObject({ status: 404, code: "product_not_found" });
  });

  it("never shows a hidden product, by list, search or slug", async () => {
    const word = unique("secret");
    const hidden = await makeProduct({ name: `Unreleased ${word}`, hidden: true });
    const list = (await (await request(`/api/products?q=${word}`)).json()) as PageJson;
    expect(list.items).toEqual([]);
    expect((await request(`/api/products/${hidden.slug}`)).status).toBe(404);
    const page = await request(`/products/${hidden.slug}`);
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain(word);
  });

  it("serves an OpenAPI 3.1 document that describes the catalog routes", async () => {
    const res = await request("/api/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/products", "/products/{slug}"]));
    expect(doc.components.schemas).toHaveProperty("Product");
    const docs = await request("/api/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/assets/api-docs.js");
  });
});
