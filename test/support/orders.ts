import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { orderLines, orders, type OrderRow } from "../../src/checkout/schema";
import { getDb } from "../../src/db/client";
import { makeProduct, unique } from "./factories";

/** A pending order straight in D1, with one line whose product exists (stock already taken). */
export async function makePendingOrder(overrides: Partial<typeof orders.$inferInsert> & { quantity?: number; stockLeft?: number } = {}): Promise<{ order: OrderRow; productId: string }> {
  const quantity = overrides.quantity ?? 2;
  const product = await makeProduct({ priceCents: 1250, stock: overrides.stockLeft ?? 5 });
  const id = overrides.id ?? unique("ord");
  const total = overrides.totalCents ?? product.priceCents * quantity;
  const db = getDb(env.DB);
  await db.insert(orders).values({
    id,
    userId: overrides.userId ?? unique("usr"),
    status: overrides.status ?? "pending",
    currency: overrides.currency ?? "USD",
    subtotalCents: overrides.subtotalCents ?? total,
    discountCents: overrides.discountCents ?? 0,
    totalCents: total,
    couponCode: overrides.couponCode ?? null,
    provider: "simulator",
    paymentSessionId: overrides.paymentSessionId === undefined ? `cs_test_${unique("s").replaceAll("-", "")}` : overrides.paymentSessionId,
    paymentIntentId: overrides.paymentIntentId ?? null,
  });
  await db.insert(orderLines).values({ orderId: id, productId: product.id, name: product.name, unitPriceCents: product.priceCents, quantity });
  return { order: (await orderRow(id))!, productId: product.id };
}

/** The order row as D1 has it now. */
export async function orderRow(id: string): Promise<OrderRow | null> {
  const [row] = await getDb(env.DB).select().from(orders).where(eq(orders.id, id));
  return row ?? null;
}

/** Stock of a product now. */
export async function stockOf(productId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT stock FROM products WHERE id = ?").bind(productId).first<{ stock: number }>();
  return row?.stock ?? -1;
}

/** How many times an event id was recorded (0 or 1). */
export async function processedCount(eventId?: string): Promise<number> {
  const row = eventId
    ? await env.DB.prepare("SELECT count(*) AS n FROM processed_webhook_events WHERE event_id = ?").bind(eventId).first<{ n: number }>()
    : await env.DB.prepare("SELECT count(*) AS n FROM processed_webhook_events").first<{ n: number }>();
  return row?.n ?? 0;
}

/** payment_events rows of an order, as kinds, oldest first. */
export async function timelineKinds(orderId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT kind FROM payment_events WHERE order_id = ? ORDER BY created_at, id").bind(orderId).all<{ kind: string }>();
  return results.map((r) => r.kind);
}
