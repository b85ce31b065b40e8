import { describe, expect, it } from "vitest";
import { request } from "../support/http";
import { countRows, makeProduct, schemaSnapshot, unique } from "../support/factories";

/** Classic and SQLite-specific injection payloads. */
const PAYLOADS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "%' OR hidden=1 --",
  '" OR ""="',
  "'; DROP TABLE products; --",
  "x') UNION SELECT id, slug, name, description, price_cents, currency, stock, 0, image_url, created_at, updated_at FROM products --",
  "1; UPDATE products SET hidden=0 --",
  "' AND (SELECT count(*) FROM sqlite_master) > 0 --",
  "%",
  "_",
  "\\",
  "\u0000",
  "' || (SELECT group_concat(name) FROM products WHERE hidden=1) || '",
];

interface PageJson {
  items: Array<{ id: string; name: string }>;
  nextCursor: string | null;
}

describe("P04 SQL injection on the catalog", () => {
  it("P04 SQL injection: payloads in q, cursor, limit and slug never reveal a hidden product, never 500, never change the schema", async () => {
    const marker = unique("classified");
    const hidden = await makeProduct({ name: `Prototype ${marker}`, description: `Unreleased ${marker}`, hidden: true });
    await makeProduct({ name: `Public ${unique("visible")}` });
    const schemaBefore = await schemaSnapshot();
    const rowsBefore = await countRows("products");

    for (const payload of PAYLOADS) {
      const enc = encodeURIComponent(payload);
      const encB64 = btoa(unescape(encodeURIComponent(JSON.stringify([payload, payload])))).replaceAll("=", "");
      const attempts = [
        `/api/products?q=${enc}`,
        `/api/products?q=${enc}&limit=100`,
        `/api/products?cursor=${enc}`,
        `/api/products?cursor=${encB64}`,
        `/api/products?limit=${enc}`,
        `/api/products/${enc}`,
        `/?q=${enc}`,
        `/?cursor=${enc}`,
        `/products/${enc}`,
      ];
      for (const path of attempts) {
        const res = await request(path);
        expect(res.status, `${path} → ${res.status}`).toBeLessThan(500);
        const text = await res.text();
        expect(text, path).not.toContain(marker);
        expect(text, path).not.toContain(hidden.id);
        expect(text, path).not.toMatch(/SQLITE_[A-Z]+|D1_ERROR|no such (table|column)|syntax error|\.ts:\d+:\d+/);
      }
    }

    expect(await schemaSnapshot()).toBe(schemaBefore);
    expect(await countRows("products")).toBe(rowsBefore);
    const stillHidden = await request(`/api/products/${hidden.slug}`);
    expect(stillHidden.status).toBe(404);
  });

  it("P04 SQL injection: LIKE wildcards are no wildcards, so '%' cannot list the whole catalog", async () => {
    // Search is by words (the FTS5 index, src/catalog/search.ts): `%` and `_` are not words, so
    // alone they match nothing, and beside a word they do not widen it.
    const word = unique("literal");
    const withPercent = await makeProduct({ name: `100% ${word}` });
    const plain = await makeProduct({ name: `Plain ${word}` });
    for (const q of ["%", "_", "%%", "%_%"]) {
      const res = (await (await request(`/api/products?q=${encodeURIComponent(q)}`)).json()) as PageJson;
      expect(res.items, q).toEqual([]);
    }
    const res = (await (await request(`/api/products?q=${encodeURIComponent(`% ${word}`)}`)).json()) as PageJson;
    expect(res.items.map((i) => i.id).sort()).toEqual([withPercent.id, plain.id].sort());
  });

  it("P04 SQL injection: a malformed or forged cursor is a 400 problem, not a query", async () => {
    for (const cursor of ["not-base64!", "AAAA", btoa('{"a":1}').replaceAll("=", ""), "x".repeat(900)]) {
      const res = await request(`/api/products?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const body = (await res.json()) as { code: string };
      expect(["invalid_cursor", "invalid_parameter"]).toContain(body.code);
    }
  });
});
