// Shopify's product CSV (https://help.shopify.com/en/manual/products/import-export/using-csv):
// one row per variant, the rows of one Handle make one product; the first row of a Handle carries
// the product's own columns, the next rows its other variants and images. This file turns rows
// into grouped product records (and back); writing them is the admin's job (src/admin).
import { restoreFormulaText, type CsvRecord } from "../platform/csv";
import { amountProblem, shopExponent } from "../payments/currency";
import { sanitiseHtml } from "./html-sanitiser";
import { PRODUCT_STATUSES, type ProductStatus } from "./schema";

import {
  DEFAULT_OPTION_NAME,
  DEFAULT_OPTION_VALUE,
  MAX_DESCRIPTION_CHARS,
  MAX_OPTIONS,
  MAX_VARIANTS_PER_PRODUCT,
  SHOPIFY_COLUMNS,
  ShopifyHeaderError,
  type ImportedProduct,
  type ImportedVariant,
  type ParsedCatalog,
  type RefusedRow,
  type ShopifyColumn,
} from "./shopify-columns";

const HANDLE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_HANDLE = 120;
const MAX_TEXT = 255;
const MAX_TAGS = 50;
const MAX_STOCK = 1_000_000;
const MAX_GRAMS = 10_000_000;

class RowProblem extends Error {}

/** A decimal amount ("19.99", "25") in the currency's minor units; refuses what it cannot represent. */
export function parsePrice(raw: string, currency: string, column: string): number {
  const text = raw.trim();
  if (/^-/.test(text)) throw new RowProblem(`${column} is negative (${text})`);
  const m = /^(\d{1,12})(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RowProblem(`${column} is not a number (${JSON.stringify(text.slice(0, 40))})`);
  const exponent = shopExponent(currency);
  const decimals = (m[2] ?? "").replace(/0+$/, "");
  if (decimals.length > exponent) throw new RowProblem(`${column} ${text} has more decimals than ${currency} has (${exponent})`);
  const minor = Number(m[1]) * 10 ** exponent + Number(decimals.padEnd(exponent, "0") || "0");
  const problem = amountProblem(currency, minor);
  if (problem) throw new RowProblem(`${column}: ${problem.detail}`);
  return minor;
}

function parseWholeNumber(raw: string, column: string, max: number): number {
  const text = raw.trim();
  if (/^-\d/.test(text)) throw new RowProblem(`${column} is negative (${text})`);
  if (!/^\d{1,9}$/.test(text)) throw new RowProblem(`${column} is not a whole number (${JSON.stringify(text.slice(0, 40))})`);
  const n = Number(text);
  if (n > max) throw new RowProblem(`${column} is above ${max}`);
  return n;
}

function parseGrams(raw: string): number {
  const text = raw.trim();
  if (/^-\d/.test(text)) throw new RowProblem(`Variant Grams is negative (${text})`);
  if (!/^\d{1,9}(?:\.\d+)?$/.test(text)) throw new RowProblem(`Variant Grams is not a number (${JSON.stringify(text.slice(0, 40))})`);
  const n = Math.round(Number(text));
  if (n > MAX_GRAMS) throw new RowProblem(`Variant Grams is above ${MAX_GRAMS}`);
  return n;
}

function text(raw: string, column: string, max = MAX_TEXT): string | null {
  const value = raw.trim();
  if (value.length > max) throw new RowProblem(`${column} is longer than ${max} characters`);
  return value === "" ? null : value;
}

/** `Type` as a category slug: lower-case words joined by hyphens, at most 40 characters. */
export function categoryOf(type: string | null): string | null {
  if (!type) return null;
  const slug = type
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return slug || null;
}

function parseTags(raw: string): string[] {
  const tags: string[] = [];
  for (const part of raw.split(",")) {
    const tag = part.trim();
    if (!tag || tags.includes(tag)) continue;
    if (tag.length > MAX_TEXT) throw new RowProblem(`a tag is longer than ${MAX_TEXT} characters`);
    tags.push(tag);
  }
  if (tags.length > MAX_TAGS) throw new RowProblem(`more than ${MAX_TAGS} tags`);
  return tags;
}

function parseStatus(raw: string): ProductStatus {
  const value = raw.trim().toLowerCase();
  if (value === "") return "active";
  if (!(PRODUCT_STATUSES as readonly string[]).includes(value))
    throw new RowProblem(`Status ${JSON.stringify(raw.slice(0, 40))} is not active, draft or archived`);
  return value as ProductStatus;
}

function parseImageUrl(raw: string, column: string): string | null {
  const value = raw.trim();
  if (value === "") return null;
  if (value.length > 2000 || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new RowProblem(`${column} is not an http(s) URL`);
  }
  return value;
}

/** Reads the header: which column index holds each known column; refuses a file without Handle. */
function headerOf(record: CsvRecord): { index: Map<ShopifyColumn, number>; ignored: string[]; extraOptions: number[] } {
  const index = new Map<ShopifyColumn, number>();
  const ignored: string[] = [];
  const extraOptions: number[] = [];
  record.fields.forEach((cell, i) => {
    const name = cell.trim();
    const known = SHOPIFY_COLUMNS.find((c) => c.toLowerCase() === name.toLowerCase());
    if (known && !index.has(known)) index.set(known, i);
    else if (/^option\s*([4-9]|\d{2,})\s+(name|value)$/i.test(name)) extraOptions.push(i);
    else if (name) ignored.push(name);
  });
  if (!index.has("Handle")) throw new ShopifyHeaderError("The first row must be Shopify's product CSV header, with a Handle column.");
  if (!index.has("Title")) throw new ShopifyHeaderError("The header has no Title column.");
  return { index, ignored, extraOptions };
}

/**
 * Groups a Shopify product CSV's records into products. A row that breaks a rule is refused with
 * its line and why; a product whose first row is refused is refused whole (its later rows too).
 * `currency` is the shop's: prices are read as its decimal amounts.
 */
export function groupShopifyRows(records: Iterable<CsvRecord>, currency: string): ParsedCatalog {
  let header: ReturnType<typeof headerOf> | null = null;
  const products = new Map<string, ImportedProduct>();
  const refusedHandles = new Set<string>();
  const skus = new Map<string, number>();
  const refused: RefusedRow[] = [];
  let rows = 0;
  for (const record of records) {
    if (!header) {
      header = headerOf(record);
      continue;
    }
    rows++;
    const h = header;
    const cell = (column: ShopifyColumn): string => {
      const i = h.index.get(column);
      return i === undefined ? "" : restoreFormulaText(record.fields[i] ?? "");
    };
    const handle = cell("Handle").trim();
    try {
      if (!handle) throw new RowProblem("Handle is empty");
      if (handle.length > MAX_HANDLE || !HANDLE.test(handle))
        throw new RowProblem("Handle must be lower-case letters, digits and single hyphens (at most 120)");
      if (refusedHandles.has(handle)) throw new RowProblem(`the product ${handle} was refused on an earlier line`);
      if (h.extraOptions.some((i) => (record.fields[i] ?? "").trim() !== "")) throw new RowProblem(`too many options: a product has at most ${MAX_OPTIONS}`);
      let product = products.get(handle);
      const first = !product;
      if (!product) {
        const title = text(cell("Title"), "Title", 200);
        if (!title) throw new RowProblem("the first row of a product needs a Title");
        const descriptionHtml = sanitiseHtml(cell("Body (HTML)"));
        if (descriptionHtml.length > MAX_DESCRIPTION_CHARS) throw new RowProblem(`Body (HTML) is longer than ${MAX_DESCRIPTION_CHARS} characters`);
        const options: { name: string; values: string[] }[] = [];
        for (const n of [1, 2, 3] as const) {
          const name = text(cell(`Option${n} Name`), `Option${n} Name`);
          if (name) options.push({ name, values: [] });
        }
        if (new Set(options.map((o) => o.name.toLowerCase())).size !== options.length) throw new RowProblem("two options have the same name");
        // Shopify's "Title: Default Title" is a product without options.
        const onlyDefault = options.length === 1 && options[0]!.name === DEFAULT_OPTION_NAME && cell("Option1 Value").trim() === DEFAULT_OPTION_VALUE;
        const productType = text(cell("Type"), "Type");
        product = {
          line: record.line,
          handle,
          title,
          descriptionHtml,
          vendor: text(cell("Vendor"), "Vendor"),
          productType,
          category: categoryOf(productType),
          tags: parseTags(cell("Tags")),
          status: parseStatus(cell("Status")),
          options: onlyDefault ? [] : options,
          variants: [],
          images: [],
        };
      } else {
        for (const n of [1, 2, 3] as const) {
          const name = cell(`Option${n} Name`).trim();
          if (name && name !== product.options[n - 1]?.name)
            throw new RowProblem(`Option${n} Name ${JSON.stringify(name)} differs from the product's first row`);
        }
      }
      const image = parseImageUrl(cell("Image Src"), "Image Src");
      const position = cell("Image Position").trim() ? parseWholeNumber(cell("Image Position"), "Image Position", 1000) : null;
      const values = [1, 2, 3].map((n) => cell(`Option${n} Value` as ShopifyColumn).trim());
      const hasVariant = values.some(Boolean) || cell("Variant SKU").trim() !== "" || cell("Variant Price").trim() !== "";
      let variant: ImportedVariant | null = null;
      if (hasVariant || first) {
        const optionValues = product.options.map((option, i) => {
          const value = values[i]!;
          if (!value) throw new RowProblem(`Option${i + 1} Value is empty (the product has the option ${option.name})`);
          if (value.length > MAX_TEXT) throw new RowProblem(`Option${i + 1} Value is longer than ${MAX_TEXT} characters`);
          return value;
        });
        if (product.options.length === 0 && values.slice(1).some(Boolean)) throw new RowProblem("an option value without an option name");
        if (product.options.length > 0 && values.slice(product.options.length).some(Boolean)) throw new RowProblem("an option value without an option name");
        if (product.options.length === 0 && product.variants.length > 0)
          throw new RowProblem("a product without options has one variant; name its options to add more");
        const same = product.variants.find((v) => v.optionValues.join("\u0000") === optionValues.join("\u0000"));
        if (same) throw new RowProblem(`the same options as line ${same.line}`);
        if (product.variants.length >= MAX_VARIANTS_PER_PRODUCT) throw new RowProblem(`a product has at most ${MAX_VARIANTS_PER_PRODUCT} variants`);
        const sku = text(cell("Variant SKU"), "Variant SKU", 100);
        if (sku && skus.has(sku.toLowerCase())) throw new RowProblem(`Variant SKU ${sku} is already on line ${skus.get(sku.toLowerCase())}`);
        const priceRaw = cell("Variant Price");
        if (!priceRaw.trim()) throw new RowProblem("Variant Price is empty");
        const compareRaw = cell("Variant Compare At Price").trim();
        const qtyRaw = cell("Variant Inventory Qty").trim();
        const gramsRaw = cell("Variant Grams").trim();
        variant = {
          line: record.line,
          sku,
          optionValues,
          priceMinor: parsePrice(priceRaw, currency, "Variant Price"),
          compareAtMinor: compareRaw ? parsePrice(compareRaw, currency, "Variant Compare At Price") : null,
          grams: gramsRaw ? parseGrams(gramsRaw) : null,
          stock: qtyRaw ? parseWholeNumber(qtyRaw, "Variant Inventory Qty", MAX_STOCK) : 0,
          barcode: text(cell("Variant Barcode"), "Variant Barcode", 100),
          imageSrc: parseImageUrl(cell("Variant Image"), "Variant Image"),
        };
        if (sku) skus.set(sku.toLowerCase(), record.line);
      } else if (!image) {
        throw new RowProblem("the row has neither a variant nor an image");
      }
      // Everything checked: only now does the row change the product.
      if (first) products.set(handle, product);
      if (variant) {
        product.variants.push(variant);
        variant.optionValues.forEach((value, i) => {
          const option = product.options[i]!;
          if (!option.values.includes(value)) option.values.push(value);
        });
      }
      if (image && !product.images.some((im) => im.src === image)) {
        product.images.push({ line: record.line, src: image, position, alt: text(cell("Image Alt Text"), "Image Alt Text", 512) });
      }
    } catch (error) {
      if (!(error instanceof RowProblem)) throw error;
      if (handle && !products.has(handle) && HANDLE.test(handle)) refusedHandles.add(handle);
      refused.push({ line: record.line, handle: handle || null, reason: error.message });
    }
  }
  if (!header) throw new ShopifyHeaderError("The file is empty: it needs Shopify's product CSV header and rows.");
  return { products: [...products.values()], refused, ignoredColumns: header.ignored, rows };
}
