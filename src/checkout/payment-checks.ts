import { type ChargeObject, type CheckoutSessionObject, shippingDetailsOf } from "../payments/events";
import { loadConfig } from "../platform/config";
import type { OrderRow } from "./schema";

/**
 * What a payment event must agree with before it pays an order (P15), and what the paid order
 * takes from it. Pure reads of the verified event and the order; fulfilment.ts applies them.
 */

export function intentId(value: CheckoutSessionObject["payment_intent"] | ChargeObject["payment_intent"]): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

/**
 * Why a completed session does not pay (or start paying) its order, or null when everything
 * matches (P15). `no_payment_required` is accepted only for an amount of 0 (checked like any
 * amount); `unpaid` only on `checkout.session.completed` (a delayed method starting), never as a
 * "success".
 */
export function paymentMismatch(env: Env, order: OrderRow, session: CheckoutSessionObject, type: string): { action: string; reason: string } | null {
  if (session.id !== order.paymentSessionId) return { action: "payment.session_mismatch", reason: "session_id" };
  const tax = taxOf(session);
  // Tax only ever comes from Stripe Tax on a session made with it; shipping is the rate we priced.
  if (tax < 0 || (tax > 0 && order.taxMode !== "automatic")) return { action: "payment.amount_mismatch", reason: "amount_tax" };
  if ((session.total_details?.amount_shipping ?? 0) !== order.shippingCents) return { action: "payment.amount_mismatch", reason: "amount_shipping" };
  if (session.amount_total !== order.totalCents + tax) return { action: "payment.amount_mismatch", reason: "amount_total" };
  if (order.shippingRateId !== null && !shipsTo(env, session)) return { action: "payment.shipping_mismatch", reason: "shipping_address" };
  if ((session.currency ?? "").toLowerCase() !== order.currency.toLowerCase()) return { action: "payment.amount_mismatch", reason: "currency" };
  if (session.payment_status === "no_payment_required" && session.amount_total !== 0)
    return { action: "payment.amount_mismatch", reason: "no_payment_required" };
  if (session.payment_status === "unpaid" && type !== "checkout.session.completed") return { action: "payment.unpaid_completion", reason: "payment_status" };
  return null;
}

/** The tax Stripe added (0 without Stripe Tax). */
export function taxOf(session: CheckoutSessionObject): number {
  return session.total_details?.amount_tax ?? 0;
}

/** A shipped order's session must carry an address in a country the shop ships to. */
export function shipsTo(env: Env, session: CheckoutSessionObject): boolean {
  const country = shippingDetailsOf(session)?.address.country?.toUpperCase();
  const loaded = loadConfig(env);
  return country !== undefined && loaded.ok && loaded.config.SHIP_TO_COUNTRIES.includes(country);
}

/** The address stored on a paid order (JSON), from the session's shipping details. */
export function addressJson(session: CheckoutSessionObject): string | null {
  const details = shippingDetailsOf(session);
  if (!details) return null;
  const a = details.address;
  return JSON.stringify({
    name: details.name ?? null,
    line1: a.line1 ?? null,
    line2: a.line2 ?? null,
    city: a.city ?? null,
    state: a.state ?? null,
    postalCode: a.postal_code ?? null,
    country: a.country?.toUpperCase() ?? null,
  });
}

/** Did this event bring money (as opposed to a free order or a delayed method only starting)? */
export function bringsMoney(session: CheckoutSessionObject): boolean {
  return session.payment_status === "paid" && (session.amount_total ?? 0) > 0;
}

/** Audit events carry only the last 4 characters of Stripe ids (enough to match, not to reuse). */
export function stripeTail(id: string | null | undefined): string | null {
  return id ? `…${id.slice(-4)}` : null;
}
