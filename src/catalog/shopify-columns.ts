// Shopify's product CSV columns and the records this shop reads from and writes to them (the
// reading, with its checks, is shopify-csv.ts; https://help.shopify.com/en/manual/products/import-export/using-csv).
import { shopExponent } from "../payments/currency";
import type { ProductStatus } from "./schema";

/** The columns this shop reads and writes, in Shopify's order. */
export const SHOPIFY_COLUMNS = [
  "Handle",
  "Title",
  "Body (HTML)",
  "Vendor",
  "Product Category",
  "Type",
  "Tags",
  "Published",
  "Option1 Name",
  "Option1 Value",
  "Option2 Name",
  "Option2 Value",
  "Option3 Name",
  "Option3 Value",
  "Variant SKU",
  "Variant Grams",
  "Variant Inventory Qty",
  "Variant Price",
  "Variant Compare At Price",
  "Variant Barcode",
  "Image Src",
  "Image Position",
  "Image Alt Text",
  "Variant Image",
  "Status",
] as const;
export type ShopifyColumn = (typeof SHOPIFY_COLUMNS)[number];

/** Shopify's name and value for the one variant of a product without options. */
export const DEFAULT_OPTION_NAME = "Title";
export const DEFAULT_OPTION_VALUE = "Default Title";

export const MAX_OPTIONS = 3;
export const MAX_VARIANTS_PER_PRODUCT = 100;
export const MAX_DESCRIPTION_CHARS = 5000;
export interface ImportedVariant {
  line: number;
  sku: string | null;
  /** Values in the product's option order (empty for a product without options). */
  optionValues: string[];
  priceMinor: number;
  compareAtMinor: number | null;
  grams: number | null;
  stock: number;
  barcode: string | null;
  imageSrc: string | null;
}

export interface ImportedImage {
  line: number;
  src: string;
  position: number | null;
  alt: string | null;
}

export interface ImportedProduct {
  line: number;
  handle: string;
  title: string;
  /** Body (HTML), already sanitised. */
  descriptionHtml: string;
  vendor: string | null;
  /** Shopify's `Type`, as given. */
  productType: string | null;
  /** `Type` as a category slug (the catalog's filter) for a new product. */
  category: string | null;
  tags: string[];
  status: ProductStatus;
  options: { name: string; values: string[] }[];
  variants: ImportedVariant[];
  images: ImportedImage[];
}

/** A row the import refuses, with its line in the file and why (for people). */
export interface RefusedRow {
  line: number;
  handle: string | null;
  reason: string;
}

export interface ParsedCatalog {
  products: ImportedProduct[];
  refused: RefusedRow[];
  /** Header cells this shop does not import (Shopify has many; they are reported, not errors). */
  ignoredColumns: string[];
  rows: number;
}

/** Thrown for a file whose header is not a Shopify product CSV (the import answers 422). */
export class ShopifyHeaderError extends Error {}

/** Minor units as Shopify writes a price ("19.99", "25.00", JPY "500"). */
export function formatPrice(minor: number, currency: string): string {
  const exponent = shopExponent(currency);
  if (exponent === 0) return String(minor);
  const text = String(minor).padStart(exponent + 1, "0");
  return `${text.slice(0, -exponent)}.${text.slice(-exponent)}`;
}

/** One product as export rows: the first row carries the product, the others a variant or an image each. */
export interface ExportProduct {
  handle: string;
  title: string;
  descriptionHtml: string;
  vendor: string | null;
  productType: string | null;
  tags: string[];
  status: ProductStatus;
  currency: string;
  options: { name: string; values: string[] }[];
  variants: Omit<ImportedVariant, "line">[];
  images: { src: string; alt: string | null }[];
}

/** The rows of one product in SHOPIFY_COLUMNS order (cells are raw values; csvRow quotes and neutralises them). */
export function shopifyRowsOf(product: ExportProduct): string[][] {
  const rows: string[][] = [];
  const count = Math.max(product.variants.length, product.images.length, 1);
  for (let i = 0; i < count; i++) {
    const v = product.variants[i];
    const image = product.images[i];
    const cells: Record<ShopifyColumn, string> = Object.fromEntries(SHOPIFY_COLUMNS.map((c) => [c, ""])) as Record<ShopifyColumn, string>;
    cells.Handle = product.handle;
    if (i === 0) {
      cells.Title = product.title;
      cells["Body (HTML)"] = product.descriptionHtml;
      cells.Vendor = product.vendor ?? "";
      cells.Type = product.productType ?? "";
      cells.Tags = product.tags.join(", ");
      cells.Published = product.status === "active" ? "TRUE" : "FALSE";
      cells.Status = product.status;
      if (product.options.length === 0) cells["Option1 Name"] = DEFAULT_OPTION_NAME;
      product.options.forEach((o, n) => {
        cells[`Option${n + 1} Name` as ShopifyColumn] = o.name;
      });
    }
    if (v) {
      if (product.options.length === 0) cells["Option1 Value"] = DEFAULT_OPTION_VALUE;
      v.optionValues.forEach((value, n) => {
        cells[`Option${n + 1} Value` as ShopifyColumn] = value;
      });
      cells["Variant SKU"] = v.sku ?? "";
      cells["Variant Grams"] = v.grams === null ? "" : String(v.grams);
      cells["Variant Inventory Qty"] = String(v.stock);
      cells["Variant Price"] = formatPrice(v.priceMinor, product.currency);
      cells["Variant Compare At Price"] = v.compareAtMinor === null ? "" : formatPrice(v.compareAtMinor, product.currency);
      cells["Variant Barcode"] = v.barcode ?? "";
      cells["Variant Image"] = v.imageSrc ?? "";
    }
    if (image) {
      cells["Image Src"] = image.src;
      cells["Image Position"] = String(i + 1);
      cells["Image Alt Text"] = image.alt ?? "";
    }
    rows.push(SHOPIFY_COLUMNS.map((c) => cells[c]));
  }
  return rows;
}
