import { syncGateCreditsOfRef } from "../stock-gate/credits";
import { recordAudit } from "../audit/audit";
import { forgetCatalogVersion } from "../catalog/page-cache";
import { forgetPricingRows } from "../catalog/shared-pricing";
import { MAX_IMAGE_BYTES, readLimited, storeProductImage } from "../catalog/images";
import { ShopifyHeaderError } from "../catalog/shopify-columns";
import { groupShopifyRows } from "../catalog/shopify-csv";
import { getDb } from "../db/client";
import { loadConfig } from "../platform/config";
import { CsvSyntaxError, readCsv, type CsvRecord } from "../platform/csv";
import { ProblemError } from "../platform/problem";
import { planImport, type ImageResolver, type ImportReport } from "./product-import";
import { writeImport } from "./product-import-write";
import type { StaffActor } from "./products";

/** The largest CSV an import reads (5,000 rows of Shopify's columns are about 2 MiB). */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;
/** The most rows one import takes: the work stays within one request's CPU and D1 budget. */
export const MAX_IMPORT_ROWS = 10_000;
/** Image downloads per import (each is a subrequest; the rest are reported, never fatal). */
const MAX_IMAGE_FETCHES = 20;
const IMAGE_TIMEOUT_MS = 5000;

/** A same-origin image path a product may name (as product-routes' IMAGE_PATH). */
const OWN_IMAGE = /^\/(?:media\/products\/[0-9a-f]{64}\.(?:png|jpg|gif|webp|avif|svg)|images\/[a-z0-9][a-z0-9-]{0,100}\.(?:svg|png|jpg|webp|avif))$/;

/** Counts bytes as they stream and refuses the body past `limit` (413), so a huge upload never sits in memory. */
function limited(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  let total = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > limit) throw new ProblemError(413, "payload_too_large", `Product CSV files are limited to ${limit / 1024 / 1024} MiB.`);
        controller.enqueue(chunk);
      },
    }),
  );
}

async function readRecords(body: ReadableStream<Uint8Array>): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  try {
    for await (const record of readCsv(limited(body, MAX_IMPORT_BYTES))) {
      records.push(record);
      if (records.length > MAX_IMPORT_ROWS + 1)
        throw new ProblemError(413, "too_many_rows", `An import takes at most ${MAX_IMPORT_ROWS} rows; split the file.`);
    }
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      throw new ProblemError(422, "csv_malformed", `The file is not valid CSV: line ${error.line}: ${error.reason}. Nothing was imported.`, {
        errors: [{ path: `line ${error.line}`, message: error.reason }],
      });
    }
    throw error;
  }
  return records;
}

/**
 * Images named by URL: this shop's own (an export re-imported) are used as they are; others are
 * downloaded (at most MAX_IMAGE_FETCHES, https only, type read from the bytes) and stored like an
 * upload. One that cannot be fetched is reported and the product keeps its image.
 */
function imageResolver(env: Env, origin: string, dryRun: boolean, failed: ImportReport["images"]["failed"], stored: { n: number }): ImageResolver {
  let budget = MAX_IMAGE_FETCHES;
  const seen = new Map<string, string | null>();
  return async (line, url) => {
    const parsed = new URL(url);
    if (parsed.origin === origin && OWN_IMAGE.test(parsed.pathname) && !parsed.search) return parsed.pathname;
    if (seen.has(url)) return seen.get(url)!;
    let result: string | null = null;
    if (dryRun) result = null;
    else if (parsed.protocol !== "https:") failed.push({ line, url, reason: "only https images are fetched" });
    else if (budget <= 0) failed.push({ line, url, reason: `not fetched: an import fetches at most ${MAX_IMAGE_FETCHES} images` });
    else {
      budget--;
      try {
        const res = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(IMAGE_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`the server answered ${res.status}`);
        result = (await storeProductImage(env.PRODUCT_IMAGES, await readLimited(res.body, MAX_IMAGE_BYTES))).url;
        stored.n++;
      } catch (error) {
        failed.push({
          line,
          url,
          reason:
            error instanceof ProblemError ? (error.detail ?? error.code) : `could not be fetched (${error instanceof Error ? error.message : String(error)})`,
        });
      }
    }
    seen.set(url, result);
    return result;
  };
}

/**
 * Imports (or, dry run, previews) a Shopify product CSV: parse and check every row first (a file
 * that is not CSV changes nothing), then write the whole plan in one batch, then one audit event.
 */
export async function importProductCsv(env: Env, actor: StaffActor, body: ReadableStream<Uint8Array>, options: { dryRun: boolean }): Promise<ImportReport> {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new ProblemError(503, "misconfigured", "The shop is not configured.");
  const currency = loaded.config.SHOP_CURRENCY ?? "USD";
  const records = await readRecords(body);
  let parsed: ReturnType<typeof groupShopifyRows>;
  try {
    parsed = groupShopifyRows(records, currency);
  } catch (error) {
    if (error instanceof ShopifyHeaderError) throw new ProblemError(422, "csv_not_shopify", error.message);
    throw error;
  }
  const db = getDb(env.DB);
  const failed: ImportReport["images"]["failed"] = [];
  const stored = { n: 0 };
  const resolver = imageResolver(env, loaded.config.PUBLIC_ORIGIN, options.dryRun, failed, stored);
  const importId = `imp_${crypto.randomUUID().replaceAll("-", "")}`;
  const { report, writes } = await planImport(db, parsed, currency, resolver);
  const full: ImportReport = {
    dryRun: options.dryRun,
    rows: parsed.rows,
    ...report,
    images: { stored: stored.n, failed },
    ignoredColumns: parsed.ignoredColumns,
  };
  if (options.dryRun) return full;
  await writeImport(env.DB, writes, actor.id, importId);
  await syncGateCreditsOfRef(env, importId);
  if (report.products.created + report.products.updated + report.variants.created + report.variants.updated > 0) {
    forgetCatalogVersion();
    forgetPricingRows(env.DB);
  }
  await recordAudit(env, {
    actor: actor.id,
    ip: actor.ip,
    action: "product.imported",
    subject: importId,
    detail: { rows: full.rows, products: full.products, variants: full.variants, refused: full.refused.length, imagesFailed: failed.length },
  });
  return full;
}
