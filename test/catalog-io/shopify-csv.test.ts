import { describe, expect, it } from "vitest";
import { parseCsv } from "../../src/platform/csv";
import { formatPrice, SHOPIFY_COLUMNS, shopifyRowsOf } from "../../src/catalog/shopify-columns";
import { groupShopifyRows, parsePrice } from "../../src/catalog/shopify-csv";
import sample from "./fixtures/shopify-product-template.csv?raw";

const HEADER = SHOPIFY_COLUMNS.join(",");

/** A CSV in this shop's columns from rows of named cells. */
function csvOf(rows: Partial<Record<(typeof SHOPIFY_COLUMNS)[number], string>>[]): string {
  const lines = rows.map((r) =>
    SHOPIFY_COLUMNS.map((c) => (r[c] ?? "").replaceAll('"', '""'))
      .map((v) => `"${v}"`)
      .join(","),
  );
  return [HEADER, ...lines].join("\r\n");
}

describe("Shopify product CSV → products", () => {
  it("groups Shopify's published sample: 3 products, 16 variants, prices, stock and statuses", () => {
    const parsed = groupShopifyRows(parseCsv(sample), "USD");
    expect(parsed.refused).toEqual([]);
    expect(parsed.rows).toBe(17);
    expect(parsed.products.map((p) => [p.handle, p.status, p.variants.length])).toEqual([
      ["example-shirt", "active", 12],
      ["example-pants", "draft", 3],
      ["example-hat", "archived", 1],
    ]);
    const [shirt, pants, hat] = parsed.products;
    expect(shirt!.options).toEqual([
      { name: "Color", values: ["Green", "Blue", "Gray", "Purple"] },
      { name: "Size", values: ["S", "M", "L"] },
    ]);
    expect(shirt!.variants[0]).toMatchObject({
      sku: "SRT_COT_111",
      optionValues: ["Green", "S"],
      priceMinor: 2500,
      stock: 0,
      grams: 145,
      barcode: "365275101829",
    });
    expect(shirt!.tags).toEqual(["Made to Order", "Shirt Tag"]);
    expect(shirt!.vendor).toBe("Acme");
    expect(shirt!.category).toBe("shirts");
    expect(shirt!.images).toHaveLength(6);
    expect(pants!.variants.map((v) => [v.sku, v.priceMinor, v.compareAtMinor, v.stock, v.grams])).toEqual([
      ["PNT_DEN_285", 9500, 6495, 20, 227],
      ["PNT_DEN_305", 9500, 6495, 15, 283],
      ["PNT_DEN_405", 9500, 6495, 10, 397],
    ]);
    expect(pants!.images).toHaveLength(4);
    expect(hat!.options).toEqual([]);
    expect(hat!.variants[0]).toMatchObject({ sku: "HAT_GRY_275", optionValues: [], priceMinor: 1799, compareAtMinor: 2299, stock: 50 });
    expect(parsed.ignoredColumns).toContain("Variant Inventory Policy");
  });

  it("refuses each bad row with its line and why, and keeps the good ones", () => {
    const parsed = groupShopifyRows(
      parseCsv(
        csvOf([
          { Handle: "mug", Title: "Mug", "Option1 Name": "Color", "Option1 Value": "Red", "Variant SKU": "MUG-R", "Variant Price": "12.50" },
          { Handle: "mug", "Option1 Value": "Blue", "Variant SKU": "MUG-B", "Variant Price": "-1.00" },
          { Handle: "mug", "Option1 Value": "Green", "Variant SKU": "MUG-G", "Variant Price": "twelve" },
          { Handle: "mug", "Option1 Value": "Red", "Variant SKU": "MUG-R2", "Variant Price": "1" },
          { Handle: "mug", "Option1 Value": "Black", "Variant SKU": "mug-r", "Variant Price": "1" },
          { Handle: "mug", "Option1 Value": "Teal", "Variant SKU": "MUG-T", "Variant Price": "1.999" },
          { Handle: "cup", Title: "Cup", "Variant Price": "3", Status: "published" },
          { Handle: "cup", "Variant SKU": "CUP-2", "Variant Price": "3" },
          { Handle: "Bad Handle", Title: "x", "Variant Price": "1" },
          { Handle: "bowl", Title: "Bowl", "Variant Price": "4", "Variant Inventory Qty": "-3" },
          { Handle: "plate", Title: "Plate", "Variant Price": "4", "Variant Inventory Qty": "2.5" },
          { Handle: "", Title: "Nameless", "Variant Price": "4" },
          { Handle: "jug", Title: "Jug", "Option2 Value": "x", "Variant Price": "4" },
        ]),
      ),
      "USD",
    );
    expect(parsed.products.map((p) => [p.handle, p.variants.map((v) => v.sku)])).toEqual([["mug", ["MUG-R"]]]);
    expect(parsed.refused.map((r) => [r.line, r.reason.split(" ").slice(0, 3).join(" ")])).toEqual([
      [3, "Variant Price is"],
      [4, "Variant Price is"],
      [5, "the same options"],
      [6, "Variant SKU mug-r"],
      [7, "Variant Price 1.999"],
      [8, 'Status "published" is'],
      [9, "the product cup"],
      [10, "Handle must be"],
      [11, "Variant Inventory Qty"],
      [12, "Variant Inventory Qty"],
      [13, "Handle is empty"],
      [14, "an option value"],
    ]);
    expect(parsed.refused[0]!.reason).toMatch(/negative/);
    expect(parsed.refused[1]!.reason).toMatch(/not a number/);
  });

  it("refuses a fourth option", () => {
    const text = `${HEADER},Option4 Name,Option4 Value\r\nx,X,,,,,,,A,1,B,2,C,3,,,,5,,,,,,,active,D,4\r\n`;
    const parsed = groupShopifyRows(parseCsv(text), "USD");
    expect(parsed.products).toEqual([]);
    expect(parsed.refused).toEqual([{ line: 2, handle: "x", reason: "too many options: a product has at most 3" }]);
  });

  it("reads prices in the shop currency's minor units (JPY whole yen, KWD fils in steps of 10)", () => {
    expect(parsePrice("500", "JPY", "Variant Price")).toBe(500);
    expect(() => parsePrice("500.5", "JPY", "Variant Price")).toThrow(/more decimals/);
    expect(parsePrice("5.120", "KWD", "Variant Price")).toBe(5120);
    expect(() => parsePrice("5.125", "KWD", "Variant Price")).toThrow(/multiples of 10/);
    expect(formatPrice(5, "USD")).toBe("0.05");
    expect(formatPrice(500, "JPY")).toBe("500");
  });

  it("writes products back as rows that group into the same products", () => {
    const parsed = groupShopifyRows(parseCsv(sample), "USD");
    const rows = parsed.products.flatMap((p) =>
      shopifyRowsOf({ ...p, currency: "USD", images: [...p.images].sort((a, b) => (a.position ?? 1e9) - (b.position ?? 1e9)) }),
    );
    const again = groupShopifyRows(parseCsv([HEADER, ...rows.map((r) => r.map((c) => `"${c.replaceAll('"', '""')}"`).join(","))].join("\n")), "USD");
    expect(again.refused).toEqual([]);
    expect(
      again.products.map(({ line: _l, variants, images, ...p }) => ({ ...p, variants: variants.map(({ line: _v, ...v }) => v), images: images.length })),
    ).toEqual(
      parsed.products.map(({ line: _l, variants, images, ...p }) => ({ ...p, variants: variants.map(({ line: _v, ...v }) => v), images: images.length })),
    );
  });
});
