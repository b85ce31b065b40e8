import { createRoute, z } from "@hono/zod-openapi";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { actorOf } from "./guard";
import { exportProductsCsv } from "./product-export";
import { importProductCsv } from "./product-import-run";
import { guarded, jsonContent } from "./staff-api";

const Counts = z.object({ created: z.number().int(), updated: z.number().int(), unchanged: z.number().int() });

export const ImportReportSchema = z
  .object({
    dryRun: z.boolean().openapi({ description: "true: a preview, nothing was written" }),
    rows: z.number().int().openapi({ description: "Data rows read (the header excluded)" }),
    products: Counts,
    variants: Counts,
    refused: z
      .array(z.object({ line: z.number().int(), handle: z.string().nullable(), reason: z.string() }))
      .openapi({ description: "Rows not imported, with their line in the file (the header is line 1) and why" }),
    images: z.object({
      stored: z.number().int(),
      failed: z
        .array(z.object({ line: z.number().int(), url: z.string(), reason: z.string() }))
        .openapi({ description: "Image URLs that could not be fetched (never fatal)" }),
    }),
    ignoredColumns: z.array(z.string()).openapi({ description: "Header cells this shop does not import" }),
  })
  .openapi("ProductImportReport");

const csvBody = { "text/csv": { schema: z.string().openapi({ description: "Shopify's product CSV (UTF-8, RFC 4180)" }) } };

const importRoute = createRoute({
  method: "post",
  path: "/admin/product-imports",
  operationId: "adminImportProducts",
  tags: ["Staff"],
  summary: "Import products from Shopify's product CSV (admin); dryRun=true previews the report",
  description:
    "Rows of one Handle are one product (Handle = slug); each variant is matched by its SKU, else by its option values, so importing the " +
    "same file twice creates nothing new. Prices are decimal amounts of the shop's currency. A refused row is reported with its line and " +
    "why and does not stop the others; a file that is not CSV (malformed quoting, not UTF-8) imports nothing. Body (HTML) is sanitised to " +
    "a safe subset. Image URLs that cannot be fetched are reported. At most 8 MiB and 10,000 rows.",
  request: {
    query: z.object({ dryRun: z.enum(["true", "false"]).optional().openapi({ description: "true: plan and report, write nothing" }) }),
    body: { content: csvBody, required: true },
  },
  responses: {
    200: { description: "The report", content: jsonContent(ImportReportSchema) },
    409: problemResponseSpec("`import_conflict`: the catalog changed during the import; nothing was written"),
    413: problemResponseSpec("`payload_too_large` (over 8 MiB) or `too_many_rows` (over 10,000)"),
    415: problemResponseSpec("`unsupported_media_type`: not text/csv"),
    422: problemResponseSpec("`csv_malformed` (with the line), `csv_not_shopify` (no Handle/Title header)"),
    ...guarded,
  },
});

const exportRoute = createRoute({
  method: "get",
  path: "/admin/product-exports",
  operationId: "adminExportProducts",
  tags: ["Staff"],
  summary: "Every product as Shopify's product CSV (admin); importing it changes nothing",
  description: "Cells a spreadsheet would run as formulas (=, +, -, @, tab, CR first) are prefixed with ' (OWASP CSV injection); an import removes it again.",
  responses: {
    200: { description: "The CSV", content: { "text/csv": { schema: z.string() } } },
    ...guarded,
  },
});

/** Staff product CSV import and export (admin). The import's body is CSV: the JSON body guard skips its path (images.ts). */
export const productImportApi = createApiApp();
productImportApi
  .openapi(importRoute, async (c) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "text/csv") throw new ProblemError(415, "unsupported_media_type", "Send the file as text/csv.");
    const declared = c.req.header("content-length");
    if (declared && /^\d+$/.test(declared) && Number(declared) > 8 * 1024 * 1024)
      throw new ProblemError(413, "payload_too_large", "Product CSV files are limited to 8 MiB.");
    const body = c.req.raw.body;
    if (!body) throw new ProblemError(422, "csv_not_shopify", "The file is empty: it needs Shopify's product CSV header and rows.");
    const report = await importProductCsv(c.env, actorOf(c), body, { dryRun: c.req.valid("query").dryRun === "true" });
    return c.json(report, 200);
  })
  .openapi(exportRoute, async (c) => {
    const actor = actorOf(c);
    await recordAudit(c.env, { actor: actor.id, ip: actor.ip, action: "product.exported", subject: "products" });
    const stamp = new Date().toISOString().slice(0, 10);
    return c.body(exportProductsCsv(getDb(c.env.DB), c.var.config.PUBLIC_ORIGIN), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="products-${stamp}.csv"`,
      "cache-control": "no-store",
      // A stream, not a typed JSON answer: zod-openapi has no response type for text/csv.
    }) as never;
  });
