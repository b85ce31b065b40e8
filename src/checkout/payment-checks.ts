import { type CheckoutSessionObject, shippingDetailsOf } from "../payments/events";
import { loadConfig } from "../platform/config";
import type { OrderRow } from "./schema";

/**
 * What a payment event must agree with before it pays an order (P15), and what the paid order
 * takes from it. Pure reads of the payment and the order; reconcile.ts applies them.
 */

/**
 * Why a completed, paid session does not pay its order, or null when everything matches (P15).
 * `no_payment_required` is accepted only for an amount of 0 (checked like any amount). The address
 * is checked against the countries the session allowed (`countries`), not today's config.
 */
export function paymentMismatch(order: OrderRow, session: CheckoutSessionObject, countries: string[]): { action: string; reason: string } | null {
  if (session.id !== order.paymentSessionId) return { action: "payment.session_mismatch", reason: "session_id" };
  const tax = taxOf(session);
  // Tax only ever comes from Stripe Tax on a session made with it; shipping is the rate we priced.
  if (tax < 0 || (tax > 0 && order.taxMode !== "automatic")) return { action: "payment.amount_mismatch", reason: "amount_tax" };
  if ((session.total_details?.amount_shipping ?? 0) !== order.shippingCents) return { action: "payment.amount_mismatch", reason: "amount_shipping" };
  if (session.amount_total !== order.totalCents + tax) return { action: "payment.amount_mismatch", reason: "amount_total" };
  if (order.shippingRateId !== null && !shipsTo(countries, session)) return { action: "payment.shipping_mismatch", reason: "shipping_address" };
  if ((session.currency ?? "").toLowerCase() !== order.currency.toLowerCase()) return { action: "payment.amount_mismatch", reason: "currency" };
  if (session.payment_status === "no_payment_required" && session.amount_total !== 0)
    return { action: "payment.amount_mismatch", reason: "no_payment_required" };
  return null;
}

/** The tax Stripe added (0 without Stripe Tax). */
export function taxOf(session: CheckoutSessionObject): number {
  return session.total_details?.amount_tax ?? 0;
}

/** A shipped order's session must carry an address in one of the countries it allowed. */
export function shipsTo(countries: string[], session: CheckoutSessionObject): boolean {
  const country = shippingDetailsOf(session)?.address.country?.toUpperCase();
  return country !== undefined && countries.includes(country);
}

/**
 * The countries the order's session allowed an address in: frozen on the order at checkout, or
 * (orders from before that) the shop's countries today.
 */
export function allowedCountries(env: Env, order: Pick<OrderRow, "shipToCountries">): string[] {
  if (order.shipToCountries) {
    try {
      const parsed: unknown = JSON.parse(order.shipToCountries);
      if (Array.isArray(parsed)) return parsed.filter((c): c is string => typeof c === "string").map((c) => c.toUpperCase());
    } catch {
      // an unreadable value falls back to today's countries
    }
  }
  const loaded = loadConfig(env);
  return loaded.ok ? loaded.config.SHIP_TO_COUNTRIES : [];
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

/** Audit events carry only the last 4 characters of Stripe ids (enough to match, not to reuse). */
export function stripeTail(id: string | null | undefined): string | null {
  return id ? `…${id.slice(-4)}` : null;
}
