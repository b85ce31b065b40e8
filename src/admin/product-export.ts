import { and, asc, eq, gt, sql } from "drizzle-orm";
import { imagesOfProducts } from "../catalog/product-images";
import { orderLines, orders } from "../checkout/schema";
import { inList, type Database } from "../db/client";
import { sanitiseHtml } from "../catalog/html-sanitiser";
import { productOptions, products, productVariants } from "../catalog/schema";
import { SHOPIFY_COLUMNS, shopifyRowsOf } from "../catalog/shopify-columns";
import { csvRow } from "../platform/csv";

/** Products per read while exporting: one page, its options and variants, then the next. */
const PAGE = 200;

/** An image path of this shop as the absolute URL a CSV needs (Shopify refuses relative ones). */
function absolute(origin: string, path: string | null): string | null {
  return path ? new URL(path, origin).href : null;
}

/**
 * Every product (any status) as Shopify product CSV, streamed page by page: the header, then each
 * product's rows. Cells that a spreadsheet would run as formulas are neutralised (csvRow);
 * `Variant Inventory Qty` is on hand (sellable + held), what an import sets back.
 */
export function exportProductsCsv(db: Database, origin: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after: string | null = null;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(csvRow(SHOPIFY_COLUMNS)));
        return;
      }
      const page = await db
        .select()
        .from(products)
        .where(after ? gt(products.id, after) : undefined)
        .orderBy(asc(products.id))
        .limit(PAGE);
      if (page.length === 0) {
        controller.close();
        return;
      }
      after = page.at(-1)!.id;
      const ids = page.map((p) => p.id);
      const options = await db.select().from(productOptions).where(inList(productOptions.productId, ids));
      const variants = await db
        .select()
        .from(productVariants)
        .where(inList(productVariants.productId, ids))
        .orderBy(asc(productVariants.position), asc(productVariants.id));
      const heldRows = await db
        .select({ variantId: orderLines.variantId, held: sql<number>`sum(${orderLines.quantity})` })
        .from(orderLines)
        .innerJoin(orders, eq(orders.id, orderLines.orderId))
        .where(and(inList(orderLines.productId, ids), eq(orders.status, "pending")))
        .groupBy(orderLines.variantId);
      const held = new Map(heldRows.map((r) => [r.variantId, Number(r.held)]));
      const images = await imagesOfProducts(db, ids);
      let text = "";
      for (const p of page) {
        const own = options.filter((o) => o.productId === p.id).sort((a, b) => a.position - b.position);
        const rows = shopifyRowsOf({
          handle: p.slug,
          title: p.name,
          descriptionHtml: sanitiseHtml(p.description),
          vendor: p.vendor,
          productType: p.productType,
          tags: JSON.parse(p.tags) as string[],
          status: p.status,
          currency: p.currency,
          options: own.map((o) => ({ name: o.name, values: JSON.parse(o.values) as string[] })),
          variants: variants
            .filter((v) => v.productId === p.id)
            .map((v) => ({
              sku: v.sku,
              optionValues: [v.option1, v.option2, v.option3].slice(0, own.length),
              priceMinor: v.priceCents,
              compareAtMinor: v.compareAtPriceCents,
              grams: v.weightGrams,
              stock: v.stock + (held.get(v.id) ?? 0),
              barcode: v.barcode,
              imageSrc: absolute(origin, v.imageUrl),
            })),
          // Every image in order with its alt text (Shopify's Image Src, Image Position, Image Alt Text).
          images: (images.get(p.id) ?? []).map((i) => ({ src: absolute(origin, i.url)!, alt: i.alt || null })),
        });
        for (const row of rows) text += csvRow(row);
      }
      controller.enqueue(encoder.encode(text));
    },
  });
}
