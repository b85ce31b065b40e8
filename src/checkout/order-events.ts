// Order events for outbound webhooks (decision 023): built here, beside the orders table, and put
// by the code that changes an order into the same D1 batch as its change (the outbox pattern).
import { type SQL, sql } from "drizzle-orm";
import type { ShopEvent, ShopEventType } from "../integrations/events";
import { orderLines, orders } from "./schema";

/**
 * An order as integrations receive it, read from the row in the same batch as the change (so it is
 * the state just written). Amounts in minor units of `currency`. No email: the receiver asks the
 * shop's staff API when it needs to contact the buyer; the shipping address is there for fulfilment.
 */
function orderData(orderId: string): SQL {
  return sql`(SELECT json_object(
    'id', o.id, 'status', o.status, 'fulfilment', o.fulfilment, 'currency', o.currency,
    'subtotalCents', o.subtotal_cents, 'discountCents', o.discount_cents, 'shippingCents', o.shipping_cents,
    'taxCents', o.tax_cents, 'totalCents', o.total_cents, 'refundedCents', o.refunded_cents,
    'couponCode', o.coupon_code, 'shippingRateName', o.shipping_rate_name,
    'shippingAddress', json(o.shipping_address), 'carrier', o.carrier, 'trackingNumber', o.tracking_number,
    'createdAt', o.created_at, 'paidAt', o.paid_at, 'shippedAt', o.shipped_at,
    'lines', json((SELECT json_group_array(json_object('productId', l.product_id, 'variantId', l.variant_id, 'sku', l.sku, 'options', json(l.option_values), 'name', l.name, 'unitPriceCents', l.unit_price_cents, 'quantity', l.quantity))
      FROM ${orderLines} l WHERE l.order_id = o.id))
  ) FROM ${orders} o WHERE o.id = ${orderId})`;
}

/** An order event recorded only when the order is in `state` (the change happened) after the batch's writes. */
function orderEvent(type: ShopEventType, orderId: string, key: string, state: SQL, extra?: SQL): ShopEvent {
  return {
    type,
    key,
    data: sql`json_patch(json_object('order', json(${orderData(orderId)})), ${extra ?? sql`'{}'`})`,
    onlyIf: sql`EXISTS (SELECT 1 FROM ${orders} o WHERE o.id = ${orderId} AND ${state})`,
  };
}

/** `order.paid`: once per order (an order is paid once). */
export function orderPaidEvent(orderId: string): ShopEvent {
  return orderEvent("order.paid", orderId, `order.paid:${orderId}`, sql`o.status = 'paid' AND o.paid_at IS NOT NULL`);
}

/** `order.refunded`: once per refunded total the order reaches (a partial refund, then the rest: two events). */
export function orderRefundedEvent(orderId: string, refundedCents: number): ShopEvent {
  return orderEvent("order.refunded", orderId, `order.refunded:${orderId}:${refundedCents}`, sql`o.refunded_cents = ${refundedCents} AND ${refundedCents} > 0`);
}

/** `order.shipped`: once per order. */
export function orderShippedEvent(orderId: string): ShopEvent {
  return orderEvent("order.shipped", orderId, `order.shipped:${orderId}`, sql`o.fulfilment = 'shipped'`);
}

/**
 * `order.returned`: goods of an order came back (for the returns flow: put it in the batch that
 * marks the return received). `returnId` makes it once per return; `lines` are what came back.
 */
export function orderReturnedEvent(
  orderId: string,
  returnReceived: { returnId: string; lines: { productId: string; quantity: number; restocked?: boolean }[]; refundCents?: number | null; onlyIf?: SQL },
): ShopEvent {
  const extra = sql`${JSON.stringify({ return: { id: returnReceived.returnId, lines: returnReceived.lines, refundCents: returnReceived.refundCents ?? null } })}`;
  return orderEvent("order.returned", orderId, `order.returned:${orderId}:${returnReceived.returnId}`, returnReceived.onlyIf ?? sql`1`, extra);
}
