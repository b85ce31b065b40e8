import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import { makeProduct, unique } from "../support/factories";
import { request } from "../support/http";

interface PageJson {
  items: { id: string; name: string; priceCents: number; category: string | null }[];
  nextCursor: string | null;
  total: number;
  offset: number;
}

async function page(query: string): Promise<PageJson> {
  const res = await request(`/api/products?${query}`);
  expect(res.status, query).toBe(200);
  return (await res.json()) as PageJson;
}

/** Every product of a listing, following its cursors; checks the offsets and the total on the way. */
async function walk(query: string): Promise<PageJson["items"]> {
  const seen: PageJson["items"] = [];
  let cursor: string | null = null;
  let total: number | null = null;
  do {
    const p = await page(`${query}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    expect(p.offset).toBe(seen.length);
    total ??= p.total;
    expect(p.total).toBe(total);
    seen.push(...p.items);
    cursor = p.nextCursor;
  } while (cursor);
  expect(seen).toHaveLength(total!);
  return seen;
}

/** Five products sharing a search word and a category, with distinct prices and creation times. */
async function catalogOfFive() {
  const word = unique("browse");
  const category = `cat-${word.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`.slice(0, 40).replace(/-+$/, "");
  const prices = [3000, 1000, 5000, 2000, 4000];
  const made = [];
  for (const [i, priceCents] of prices.entries()) {
    made.push(await makeProduct({ name: `${word} ${"ABCDE"[i]}`, priceCents, category, createdAt: `2026-01-0${i + 1}T00:00:00.000Z` }));
  }
  // Two that must never show: another category, and a hidden one in this category.
  await makeProduct({ name: `${word} other`, priceCents: 100, category: "elsewhere" });
  await makeProduct({ name: `${word} hidden`, priceCents: 100, category, hidden: true });
  forgetCatalogVersion();
  return { word, category, made };
}

describe("browsing the catalog: categories, sort, count and pages", () => {
  it("filters by category, counts every match, and sorts by name, price both ways and newest across pages without repeats or gaps", async () => {
    const { word, category, made } = await catalogOfFive();
    const base = `q=${encodeURIComponent(word)}&category=${category}`;
    const byName = await walk(base);
    expect(byName.map((p) => p.id)).toEqual(made.map((p) => p.id));
    expect(byName.every((p) => p.category === category)).toBe(true);
    expect((await walk(`${base}&sort=price-asc`)).map((p) => p.priceCents)).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect((await walk(`${base}&sort=price-desc`)).map((p) => p.priceCents)).toEqual([5000, 4000, 3000, 2000, 1000]);
    expect((await walk(`${base}&sort=newest`)).map((p) => p.id)).toEqual([...made].reverse().map((p) => p.id));
    // Without the category, the other one shows too; the hidden one never does.
    expect((await page(`q=${encodeURIComponent(word)}`)).total).toBe(6);
    const categories = (await (await request("/api/categories")).json()) as { items: { category: string; count: number }[] };
    expect(categories.items).toContainEqual({ category, count: 5 });
  });

  it("a cursor made for one order starts over under another (never a wrong page)", async () => {
    const { word, category } = await catalogOfFive();
    const first = await page(`q=${encodeURIComponent(word)}&category=${category}&sort=price-asc&limit=2`);
    const switched = await page(`q=${encodeURIComponent(word)}&category=${category}&sort=name&limit=2&cursor=${first.nextCursor}`);
    expect(switched.offset).toBe(0);
    expect(switched.items.map((p) => p.name.slice(-1))).toEqual(["A", "B"]);
  });

  it("P04 catalog filters are data, never SQL: hostile categories, sorts and cursors are refused with 400 or match nothing; hidden rows stay hidden", async () => {
    const { word, category } = await catalogOfFive();
    const before = await env.DB.prepare("SELECT count(*) AS n, sum(status <> 'active') AS h FROM products").first<{ n: number; h: number }>();
    for (const hostile of ["x' OR '1'='1", "kitchen;DROP TABLE products", "a%", "../etc", "KITCHEN", "x".repeat(41)]) {
      const res = await request(`/api/products?category=${encodeURIComponent(hostile)}`);
      expect(res.status, hostile).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    for (const sort of ["price", "name desc", "price_cents; --", "hidden"]) {
      expect((await request(`/api/products?sort=${encodeURIComponent(sort)}`)).status, sort).toBe(400);
    }
    // A forged cursor naming a key of the wrong type, or a hidden product's position: 400 or an honest page.
    const forged = btoa(JSON.stringify(["price-asc", "1 OR 1=1", "x", 0])).replaceAll("=", "");
    expect((await request(`/api/products?sort=price-asc&cursor=${forged}`)).status).toBe(400);
    const search = await page(`q=${encodeURIComponent(`${word}' OR hidden = 1 --`)}&category=${category}`);
    expect(search.total).toBe(0);
    // The storefront takes the same values from links: a bad one is ignored, never an error page.
    const html = await request(`/?category=${encodeURIComponent("x' OR '1'='1")}&sort=${encodeURIComponent("price; --")}`);
    expect(html.status).toBe(200);
    const after = await env.DB.prepare("SELECT count(*) AS n, sum(status <> 'active') AS h FROM products").first<{ n: number; h: number }>();
    expect(after).toEqual(before);
  });

  it("the home page shows categories, the result count, a sort control and proper next/first links", async () => {
    const { word, category } = await catalogOfFive();
    const first = await request(`/?q=${encodeURIComponent(word)}&category=${category}&sort=price-desc`);
    expect(first.status).toBe(200);
    const html = await first.text();
    expect(html).toContain("5 products");
    expect(html).toContain('<option value="price-desc" selected="">');
    expect(html).toMatch(new RegExp(`<a href="/\\?q=${encodeURIComponent(word)}&amp;category=${category}&amp;sort=price-desc" aria-current="page">`));
    expect(html).not.toContain('rel="next"'); // 5 fit on one page of 24
    expect(html).toContain('name="robots" content="noindex"');
  });
});
