import { env } from "cloudflare:workers";
import { ORIGIN, request } from "./http";
import { makePaidOrder } from "./orders";

/**
 * A paid order (makePaidOrder: 2 units at 12.50, 10 % off → 22.50 paid) that was delivered
 * `deliveredDaysAgo` days ago (shipped and delivered straight in D1: the fulfilment steps have tests of their own).
 */
export async function makeDeliveredOrder(deliveredDaysAgo = 1) {
  const paid = await makePaidOrder();
  const deliveredAt = new Date(Date.now() - deliveredDaysAgo * 86_400_000).toISOString();
  await env.DB.prepare("UPDATE orders SET fulfilment = 'delivered', carrier = 'UPS', tracking_number = '1Z999', shipped_at = ?, delivered_at = ? WHERE id = ?")
    .bind(deliveredAt, deliveredAt, paid.orderId)
    .run();
  return paid;
}

/** A JSON request with a cookie from the shop's own origin. */
export function jsonRequest(cookie: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(path, {
    method,
    headers: { cookie, origin: ORIGIN, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Everything a return step could change about an order: returns, their lines, refund claims and lines, the order, stock, webhook events. */
export async function returnState(orderId: string, productId: string) {
  const all = async (sql: string) => (await env.DB.prepare(sql).bind(orderId).all()).results;
  return {
    returns: await all("SELECT id, status, refusal_reason, refund_cents FROM return_requests WHERE order_id = ? ORDER BY created_at, id"),
    lines: await all("SELECT return_id, variant_id, quantity, restock FROM return_lines WHERE order_id = ? ORDER BY return_id, variant_id"),
    claims: await all("SELECT amount_cents, state FROM order_refunds WHERE order_id = ? ORDER BY created_at"),
    refundLines: await all("SELECT variant_id, quantity, restock, restocked_at IS NOT NULL AS restocked FROM order_refund_lines WHERE order_id = ?"),
    order: await all("SELECT status, refunded_cents, fulfilment FROM orders WHERE id = ?"),
    stock: (await env.DB.prepare("SELECT stock FROM products WHERE id = ?").bind(productId).first<{ stock: number }>())?.stock,
    events: (await env.DB.prepare("SELECT type, key FROM webhook_events WHERE key LIKE ? ORDER BY key").bind(`%${orderId}%`).all()).results,
  };
}
