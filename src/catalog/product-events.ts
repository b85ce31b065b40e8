// `product.updated` for outbound webhooks (decision 023): put in the same D1 batch as the staff
// edit, read from the row that edit wrote, and recorded only if that edit took.
import { sql } from "drizzle-orm";
import type { ShopEvent } from "../integrations/events";
import { products } from "./schema";

/**
 * The product as it is after the edit (`stock` is what shoppers can still buy) and the names of
 * the fields staff changed. `updatedAt` is the value the edit writes: one event per edit.
 */
export function productUpdatedEvent(productId: string, updatedAt: string, changed: string[]): ShopEvent {
  return {
    type: "product.updated",
    key: `product.updated:${productId}:${updatedAt}`,
    data: sql`(SELECT json_object(
      'product', json_object('id', p.id, 'slug', p.slug, 'name', p.name, 'priceCents', p.price_cents, 'currency', p.currency,
        'sellable', p.stock, 'hidden', json(CASE WHEN p.status <> 'active' THEN 'true' ELSE 'false' END), 'status', p.status,
        'category', p.category, 'updatedAt', p.updated_at),
      'changed', json(${JSON.stringify(changed)})
    ) FROM ${products} p WHERE p.id = ${productId})`,
    onlyIf: sql`EXISTS (SELECT 1 FROM ${products} p WHERE p.id = ${productId} AND p.updated_at = ${updatedAt})`,
  };
}
