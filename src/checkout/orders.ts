import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { SessionUser } from "../accounts/session";
import { recordAudit } from "../audit/audit";
import { parseOptionValues } from "../catalog/variants";
import { inList, type Database } from "../db/client";
import { guestCookieOpens, guestKeyOpens } from "./guest-access";
import { orderLines, orderRefundLines, orderRefunds, orders, type OrderLineRow, type OrderRow } from "./schema";

/**
 * Where the money of an order is, as people read it: the stored status, except that a paid order
 * with part of its payment given back is `partially_refunded` (derived, never stored: the status
 * machine of decision 013 is unchanged; docs/decisions/022).
 */
export type PaymentState = OrderRow["status"] | "partially_refunded";

export function paymentStateOf(row: Pick<OrderRow, "status" | "refundedCents">): PaymentState {
  return row.status === "paid" && row.refundedCents > 0 ? "partially_refunded" : row.status;
}

/** A refund as the shopper sees it: how much came back, when, and for which lines. */
export interface OrderRefundView {
  amountCents: number;
  createdAt: string;
  lines: { productId: string; variantId: string; quantity: number }[];
}

/** An order as its owner sees it (API.md "Checkout and orders"). */
export interface Order {
  id: string;
  /** The short number people use (`#1042`), given by the database; null only for a row never numbered. */
  number: number | null;
  status: OrderRow["status"];
  /** `status`, with a partly refunded paid order as `partially_refunded`. */
  paymentState: PaymentState;
  /** What the payment provider says was refunded so far (minor units). */
  refundedCents: number;
  /** Refunds made (the provider took them), oldest first. */
  refunds: OrderRefundView[];
  /** One per variant: its SKU and option values as they were at checkout (frozen on the line). */
  items: {
    productId: string;
    variantId: string;
    name: string;
    sku: string | null;
    options: Record<string, string>;
    quantity: number;
    unitPriceCents: number;
    lineTotalCents: number;
  }[];
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
  currency: string;
  couponCode: string | null;
  createdAt: string;
  paidAt: string | null;
  /** Pending with a delayed payment (bank transfer…) under way: it cannot be cancelled, it settles by itself. */
  paymentProcessing: boolean;
  /** Where the goods are (src/checkout/shipping.ts). */
  shipping: { status: OrderRow["fulfilment"]; carrier: string | null; trackingNumber: string | null; shippedAt: string | null; deliveredAt: string | null };
  /** The chosen shipping rate and its amount (0 when free or nothing ships). */
  shippingCents: number;
  shippingRate: string | null;
  /** The automatic promotion the order got (free shipping) and what it gave, or null. */
  promotion: { name: string; discountCents: number } | null;
  /** The automatic promotion that took money off the goods: part of `discountCents` (decision 030). */
  discountPromotion: { name: string; discountCents: number } | null;
  /** Tax as Stripe charged it (0 without Stripe Tax, or before payment). */
  taxCents: number;
  /** Where the goods go, from the completed payment; null before payment or when nothing ships. */
  shippingAddress: ShippingAddress | null;
  /** Where the receipt went. */
  email: string | null;
}

export interface ShippingAddress {
  name: string | null;
  line1: string | null;
  line2: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
}

/** An address as the lines of a label: name, street, postal code and city, state, country. */
export function addressLines(a: ShippingAddress): string[] {
  return [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(" "), a.state, a.country].filter((l): l is string => Boolean(l));
}

/** The stored address JSON (written by the webhook from Stripe's shipping details), or null. */
export function parseShippingAddress(json: string | null): ShippingAddress | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as ShippingAddress;
  } catch {
    return null;
  }
}

/** Maps rows to the API shape: never the payment ids, idempotency key or provider internals. */
export function toOrder(row: OrderRow, lines: OrderLineRow[], refunds: OrderRefundView[] = []): Order {
  return {
    id: row.id,
    number: row.number,
    status: row.status,
    paymentState: paymentStateOf(row),
    refundedCents: row.refundedCents,
    refunds,
    items: lines.map((l) => ({
      productId: l.productId,
      variantId: l.variantId,
      name: l.name,
      sku: l.sku,
      options: parseOptionValues(l.optionValues),
      quantity: l.quantity,
      unitPriceCents: l.unitPriceCents,
      lineTotalCents: l.unitPriceCents * l.quantity,
    })),
    subtotalCents: row.subtotalCents,
    discountCents: row.discountCents,
    totalCents: row.totalCents,
    currency: row.currency,
    couponCode: row.couponCode,
    createdAt: row.createdAt,
    paidAt: row.paidAt,
    paymentProcessing: row.status === "pending" && row.paymentInFlight,
    shipping: { status: row.fulfilment, carrier: row.carrier, trackingNumber: row.trackingNumber, shippedAt: row.shippedAt, deliveredAt: row.deliveredAt },
    shippingCents: row.shippingCents,
    shippingRate: row.shippingRateName,
    promotion: row.promotionName ? { name: row.promotionName, discountCents: row.promotionDiscountCents } : null,
    discountPromotion: row.discountPromotionName ? { name: row.discountPromotionName, discountCents: row.discountPromotionCents } : null,
    taxCents: row.taxCents,
    shippingAddress: parseShippingAddress(row.shippingAddress),
    email: row.customerEmail,
  };
}

async function withLines(db: Database, row: OrderRow): Promise<Order> {
  const [lines, refunds] = await Promise.all([
    db.select().from(orderLines).where(eq(orderLines.orderId, row.id)).orderBy(sql`rowid`), // insertion order = cart order
    refundViews(db, [row.id]),
  ]);
  return toOrder(row, lines, refunds.get(row.id));
}

/** The refunds the provider took, per order (oldest first), with the lines each gave money back for. */
export async function refundViews(db: Database, orderIds: string[]): Promise<Map<string, OrderRefundView[]>> {
  const byOrder = new Map<string, OrderRefundView[]>();
  if (orderIds.length === 0) return byOrder;
  const [refunds, lines] = await Promise.all([
    db
      .select({ id: orderRefunds.id, orderId: orderRefunds.orderId, amountCents: orderRefunds.amountCents, createdAt: orderRefunds.createdAt })
      .from(orderRefunds)
      .where(and(inList(orderRefunds.orderId, orderIds), eq(orderRefunds.state, "done")))
      .orderBy(orderRefunds.createdAt),
    db
      .select({
        refundId: orderRefundLines.refundId,
        productId: orderRefundLines.productId,
        variantId: orderRefundLines.variantId,
        quantity: orderRefundLines.quantity,
      })
      .from(orderRefundLines)
      .where(inList(orderRefundLines.orderId, orderIds)),
  ]);
  for (const r of refunds) {
    const list = byOrder.get(r.orderId) ?? [];
    list.push({
      amountCents: r.amountCents,
      createdAt: r.createdAt,
      lines: lines.filter((l) => l.refundId === r.id).map((l) => ({ productId: l.productId, variantId: l.variantId, quantity: l.quantity })),
    });
    byOrder.set(r.orderId, list);
  }
  return byOrder;
}

/** What opens a guest order: the link's key, or the cookie a key was exchanged for (guest-access.ts). */
export type GuestProof = { key: string } | { cookie: string };

/**
 * A guest order opened by its link's key or cookie (P12), or null: unknown id, not a guest order
 * (or claimed into an account), a wrong, expired, revoked or non-canonical key — one answer for
 * all, so the id alone tells nothing.
 */
export async function findOrderByGuestKey(env: Env, db: Database, orderId: string, proof: GuestProof): Promise<Order | null> {
  const row = await guestOrderRow(env, db, orderId, proof);
  return row ? withLines(db, row) : null;
}

/** The order row a guest's key or cookie opens, or null (the same rule as `findOrderByGuestKey`). */
export async function guestOrderRow(env: Env, db: Database, orderId: string, proof: GuestProof): Promise<OrderRow | null> {
  if (orderId.length > 100) return null;
  const [row] = await db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
  if (!row) return null;
  const opens = "key" in proof ? await guestKeyOpens(env, row, proof.key) : await guestCookieOpens(env, row, proof.cookie);
  return opens ? row : null;
}

/**
 * Staff revoke a guest order's links (a leaked mail, a shopper's request): the key version moves
 * on, so every link and cookie issued before stops opening the order; the next mail carries a new
 * link. Audited. False when there is no such guest order.
 */
export async function revokeGuestLinks(env: Env, db: Database, actor: { id: string; ip: string | null }, orderId: string): Promise<boolean> {
  const [row] = await db
    .update(orders)
    .set({ guestKeyVersion: sql`${orders.guestKeyVersion} + 1` })
    .where(and(eq(orders.id, orderId), sql`substr(${orders.userId}, 1, 6) = 'guest_'`))
    .returning({ id: orders.id, version: orders.guestKeyVersion });
  if (!row) return false;
  await recordAudit(env, { actor: actor.id, ip: actor.ip, action: "order.guest_links_revoked", subject: orderId, detail: { keyVersion: row.version } });
  return true;
}

/**
 * Guest orders paid with this account's address join the account, once it is signed in with that
 * address verified (never because someone typed an address: an unverified sign-up with a victim's
 * address gets nothing). Matched on the exact address, lower-cased. Returns how many joined.
 */
export async function claimGuestOrders(env: Env, db: Database, user: SessionUser): Promise<number> {
  if (!user.emailVerified) return 0;
  const claimed = await db
    .update(orders)
    // The key version moves on: the guest links and cookies stop opening an order that is now an account's.
    .set({ userId: user.id, guestKeyVersion: sql`${orders.guestKeyVersion} + 1` })
    .where(
      and(sql`substr(${orders.userId}, 1, 6) = 'guest_'`, eq(orders.customerEmail, user.email.toLowerCase()), inArray(orders.status, ["paid", "refunded"])),
    )
    .returning({ id: orders.id });
  if (claimed.length > 0) {
    await recordAudit(env, { actor: user.id, action: "order.claimed", detail: { orders: claimed.map((o) => o.id) } });
  }
  return claimed.length;
}

/** Newest first; 100 at most (a shopper's history, not an export). */
const HISTORY_LIMIT = 100;

/** The caller's own orders, newest first. The user id comes from the session, never the request. */
export async function listOrdersForUser(db: Database, userId: string): Promise<Order[]> {
  const rows = await db.select().from(orders).where(eq(orders.userId, userId)).orderBy(desc(orders.createdAt), desc(orders.id)).limit(HISTORY_LIMIT);
  if (rows.length === 0) return [];
  const lines = await db
    .select()
    .from(orderLines)
    .where(
      inList(
        orderLines.orderId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(sql`rowid`);
  const refunds = await refundViews(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) =>
    toOrder(
      row,
      lines.filter((l) => l.orderId === row.id),
      refunds.get(row.id),
    ),
  );
}

/**
 * One order of this user, or null when it does not exist *or belongs to someone else* (P12):
 * ownership is part of the query, so the two cases cannot be told apart.
 */
export async function findOrderForUser(db: Database, userId: string, orderId: string): Promise<Order | null> {
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), eq(orders.userId, userId)))
    .limit(1);
  return row ? withLines(db, row) : null;
}
