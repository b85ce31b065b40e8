import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import { matchExpression } from "../../src/catalog/search";
import { makeVariantProduct, uniqueWord } from "../support/catalog-io";
import { countRows, schemaSnapshot } from "../support/factories";
import { request } from "../support/http";

interface PageJson {
  items: { id: string; name: string; slug: string }[];
  total: number;
  offset: number;
  nextCursor: string | null;
}

async function search(q: string, extra = ""): Promise<PageJson> {
  const res = await request(`/api/products?q=${encodeURIComponent(q)}${extra}`);
  expect(res.status, q).toBe(200);
  return (await res.json()) as PageJson;
}

async function names(q: string, extra = ""): Promise<string[]> {
  return (await search(q, extra)).items.map((p) => p.name);
}

describe("catalog search (FTS5)", () => {
  it("finds by name, description, SKU, vendor, tags and option values; plurals, prefixes, case and accents fold", async () => {
    const w = uniqueWord("mk");
    await makeVariantProduct({
      name: `Enamel Mug ${w}`,
      description: "<p>A <strong>crème brûlée</strong> coloured camping cup</p>",
      vendor: `Rivertown${w}`,
      tags: [`Outdoor${w}`, "Gift"],
      options: [{ name: "Colour", values: [`Teal${w}`, "Sand"] }],
      variants: [
        { sku: `ZX-${w}-1`, options: [`Teal${w}`] },
        { sku: `ZX-${w}-2`, options: ["Sand"] },
      ],
    });
    const name = `Enamel Mug ${w}`;
    expect(await names(`mugs ${w}`)).toEqual([name]); // porter: mugs → mug
    expect(await names(`ENAM ${w}`)).toEqual([name]); // prefix, case
    expect(await names(`creme brulee ${w}`)).toEqual([name]); // accents folded
    expect(await names(`zx-${w}-2`)).toEqual([name]); // SKU
    expect(await names(`rivertown${w}`)).toEqual([name]); // vendor
    expect(await names(`outdoor${w}`)).toEqual([name]); // tag
    expect(await names(`teal${w}`)).toEqual([name]); // option value
  });

  it("ranks name matches above description matches; keeps the count, the sorts and paging", async () => {
    const w = uniqueWord("rk");
    await makeVariantProduct({ name: `Kettle ${w}`, description: "steel", priceCents: 3000 });
    await makeVariantProduct({ name: "Teapot", description: `pairs with the kettle ${w}`, priceCents: 1000 });
    await makeVariantProduct({ name: `Kettle stand ${w}`, description: "oak", priceCents: 2000 });
    const ranked = await search(`kettle ${w}`);
    expect(ranked.total).toBe(3);
    expect(ranked.items.at(-1)!.name).toBe("Teapot");
    expect((await search(`kettle ${w}`, "&sort=price-asc")).items.map((p) => p.name)).toEqual(["Teapot", `Kettle stand ${w}`, `Kettle ${w}`]);
    const first = await search(`kettle ${w}`, "&limit=2");
    expect(first.items).toHaveLength(2);
    expect(first.total).toBe(3);
    const second = await search(`kettle ${w}`, `&limit=2&cursor=${first.nextCursor}`);
    expect(second.offset).toBe(2);
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    expect([...first.items, ...second.items].map((p) => p.name).sort()).toEqual(ranked.items.map((p) => p.name).sort());
    // The search page shows the same count.
    const page = await request(`/?q=${encodeURIComponent(`kettle ${w}`)}`);
    expect(await page.text()).toContain("3 products");
  });

  it("follows the catalog as it changes: a renamed product, a new variant SKU, a deleted product", async () => {
    const w = uniqueWord("ch");
    const { id } = await makeVariantProduct({ name: `Lantern ${w}` });
    await env.DB.prepare("UPDATE products SET name = ? WHERE id = ?").bind(`Lamp ${w}`, id).run();
    forgetCatalogVersion(); // a direct write: this isolate reads the new catalog version at once
    expect(await names(`lantern ${w}`)).toEqual([]);
    expect(await names(`lamp ${w}`)).toEqual([`Lamp ${w}`]);
    await env.DB.prepare("INSERT INTO product_variants (id, product_id, sku, option1, price_cents) VALUES (?, ?, ?, 'b', 100)")
      .bind(`var_${w}`, id, `SKU${w}`)
      .run();
    forgetCatalogVersion();
    expect(await names(`sku${w}`)).toEqual([`Lamp ${w}`]);
    await env.DB.prepare("DELETE FROM products WHERE id = ?").bind(id).run();
    forgetCatalogVersion();
    expect(await names(`lamp ${w}`)).toEqual([]);
  });

  it("quotes every word: FTS syntax in the input is only ever words", () => {
    expect(matchExpression('name:x NEAR("a" b) OR c* ^d -e +f (g')).toBe('"name"* "x"* "near"* "a"* "b"* "or"* "c"* "d"*');
    expect(matchExpression('"*()')).toBeNull();
  });

  it("P04 FTS injection: query syntax in the search (NEAR, column filters, quotes, *, parentheses) gives results or nothing, never a 500 or a product that is not active", async () => {
    const w = uniqueWord("sx");
    await makeVariantProduct({ name: `Prototype ${w}`, description: `classified ${w}`, status: "draft", variants: [{ sku: `SEC-${w}` }] });
    await makeVariantProduct({ name: `Retired ${w}`, description: `classified ${w}`, status: "archived" });
    await makeVariantProduct({ name: `Public ${w}`, description: "on sale" });
    const schemaBefore = await schemaSnapshot();
    const rowsBefore = await countRows("products");
    const payloads = [
      `${w}`,
      `classified ${w}`,
      `prototype*`,
      `"${w}"`,
      `${w}*`,
      `NEAR(prototype ${w})`,
      `NEAR(prototype ${w}, 1)`,
      `name:${w}`,
      `description:classified`,
      `{name description}: ${w}`,
      `- name : ${w}`,
      `${w} OR classified`,
      `${w} NOT public`,
      `^${w}`,
      `((${w}`,
      `${w})))`,
      `"unbalanced ${w}`,
      `*`,
      `"`,
      `sec-${w}`,
      `${w} AND status:draft`,
      `product_search MATCH '${w}'`,
      `') OR 1=1 --`,
      `\u0000${w}`,
    ];
    for (const q of payloads) {
      for (const path of [`/api/products?q=${encodeURIComponent(q)}`, `/?q=${encodeURIComponent(q)}`]) {
        const res = await request(path);
        expect(res.status, `${path}`).toBe(200);
        const body = await res.text();
        expect(body, path).not.toContain("Prototype");
        expect(body, path).not.toContain("Retired");
        expect(body, path).not.toContain(`SEC-${w}`);
      }
    }
    // A plain word still finds the public product: the defence does not break search.
    expect(await names(`${w}`)).toEqual([`Public ${w}`]);
    expect(await schemaSnapshot()).toBe(schemaBefore);
    expect(await countRows("products")).toBe(rowsBefore);
  });
});
