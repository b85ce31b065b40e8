import { recordAudit } from "../audit/audit";
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { productsByIdsQuery } from "../catalog/queries";
import type { ProductRow } from "../catalog/schema";
import { couponByCodeQuery, normaliseCouponCode } from "../coupons/coupons";
import type { CouponRow } from "../coupons/schema";
import { products } from "../catalog/schema";
import { getDb, type Database } from "../db/client";
import type { CheckoutLine, CheckoutOrder } from "../payments/provider";
import { paymentProvider } from "../payments/provider";
import { assertChargeable } from "../payments/currency";
import type { Config } from "../platform/config";
import { ProblemError } from "../platform/problem";
import { beginCartCheckout, cancelCartCheckout, holdCoupon, releaseCouponHold, type CartSnapshot } from "./effects";
import { couponCustomerKey } from "../coupons/customer";
import { shippingRates, type ShippingRateRow } from "../shipping/schema";
import { checkoutTotalCents, shippingAmountFor } from "../shipping/checkout-pricing";
import { guestOrderPath } from "./guest-access";
import type { BeginCheckoutResult, CartObject } from "../cart/cart-object";
import { closePendingOrder, COUPON_HOLD_MARGIN_SECONDS, insertOrderLines, SESSION_LIFETIME_SECONDS, SETUP_WINDOW_MS } from "./lifecycle";
import { orders, paymentEvents } from "./schema";
import { buyerParts, type Buyer } from "./buyer";
import { replay, ReplayFound, SESSION_CREATED, type CheckoutStarted } from "./replay";

/** The snapshot as checkout trusts it: bounded like the cart API (≤ 50 lines, quantities 1–99). */
const Snapshot = z.object({
  lines: z.array(z.object({ productId: z.string().min(1).max(100), quantity: z.number().int().min(1).max(99) })).max(50),
  couponCode: z.string().min(1).max(64).nullable(),
  version: z.number().int(),
});

/**
 * Freezes the cart for `orderId`. A cart still held by an earlier order is freed when that order
 * can no longer be paid (closed in D1, or never written and older than the setup window): the
 * hold lasts as long as its order, with no clock of its own (docs/decisions/013).
 */
async function beginCheckoutFreeingClosed(db: Database, cart: DurableObjectStub<CartObject>, orderId: string): Promise<BeginCheckoutResult> {
  const begun = await beginCartCheckout(cart, orderId);
  if (begun.ok || begun.code !== "checkout_in_progress") return begun;
  const [holder] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, begun.heldBy)).limit(1);
  if (holder?.status === "paid" || holder?.status === "refunded") await cart.completeCheckout(begun.heldBy);
  else if (holder?.status === "expired" || holder?.status === "cancelled") await cart.cancelCheckout(begun.heldBy);
  else if (!holder && Date.now() - begun.startedAt > SETUP_WINDOW_MS) await cart.cancelCheckout(begun.heldBy);
  else return begun;
  return beginCartCheckout(cart, orderId);
}

function isConstraint(error: unknown, name: string): boolean {
  const text = String(error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : error);
  return text.includes(name);
}

/** What a checkout asks for besides the cart: a replay key and the shipping rate the shopper chose. */
export interface CheckoutOptions {
  idempotencyKey: string | null;
  shippingRateId: string | null;
}

/** The chosen rate, checked against the rates staff made for this currency (never a client's price). */
function chooseShippingRate(activeRates: ShippingRateRow[], currency: string, chosen: string | null): ShippingRateRow | null {
  const forCurrency = activeRates.filter((r) => r.currency === currency);
  if (forCurrency.length === 0) {
    if (chosen) throw new ProblemError(422, "shipping_rate_invalid", "This shop does not offer that shipping rate.");
    return null;
  }
  if (!chosen) throw new ProblemError(422, "shipping_rate_required", "Choose how your order is shipped.");
  const rate = forCurrency.find((r) => r.id === chosen);
  if (!rate) throw new ProblemError(422, "shipping_rate_invalid", "This shop does not offer that shipping rate.");
  return rate;
}

/**
 * Starts a checkout for a signed-in account or a guest (M-014, M-015, M-016, P15):
 * the cart object freezes a snapshot → lines are priced from D1 (hidden products excluded) →
 * the coupon is reserved → stock is taken and the order written in ONE batch (the products
 * CHECK stock >= 0 aborts the whole batch when any line lacks stock) → the provider session is
 * made from the order's own amounts → its id is stored only while the order is still pending
 * with no session (a cancel meanwhile wins: the session is expired at the provider and the
 * shopper gets 409 `order_cancelled`). Any failure before that gives back what was taken.
 */
export async function startCheckout(env: Env, config: Config, buyer: Buyer, options: CheckoutOptions): Promise<CheckoutStarted> {
  const db = getDb(env.DB);
  const { idempotencyKey } = options;
  const { cart, ownerId, email, cartObjectId } = buyerParts(env, buyer);
  const user = { id: ownerId };
  if (idempotencyKey) {
    const earlier = await replay(env, config.PUBLIC_ORIGIN, db, user.id, idempotencyKey);
    if (earlier) return earlier;
  }
  const orderId = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
  const begun = await beginCheckoutFreeingClosed(db, cart, orderId);
  if (!begun.ok) {
    // Two requests with one key race: the loser finds the winner's answer here.
    const earlier = idempotencyKey && begun.code === "checkout_in_progress" ? await replay(env, config.PUBLIC_ORIGIN, db, user.id, idempotencyKey) : null;
    if (earlier) return earlier;
    throw new ProblemError(409, begun.code, begun.code === "cart_empty" ? "Your cart is empty." : "A checkout for this cart is already in progress.");
  }
  let couponReserved: string | null = null;
  let orderWritten = false;
  let sessionStored = false;
  // The session's expiry, which we set: every hold of this order is sized from it.
  const expiresAt = Math.floor(Date.now() / 1000) + SESSION_LIFETIME_SECONDS;
  try {
    const snapshot: CartSnapshot = Snapshot.parse(begun.snapshot);
    // The products and the coupon's definition, fresh from D1 in one round trip.
    const productIds = snapshot.lines.map((l) => l.productId);
    const couponCode = snapshot.couponCode ? normaliseCouponCode(snapshot.couponCode) : null;
    let rows: ProductRow[];
    let couponDefinition: CouponRow | null = null;
    // The active shipping rates ride in the same batch (a small table; the cart's currency is not known yet).
    const ratesQuery = db.select().from(shippingRates).where(eq(shippingRates.active, true));
    let activeRates: ShippingRateRow[];
    if (couponCode) {
      const [productRows, couponRows, rateRows] = await db.batch([productsByIdsQuery(db, productIds), couponByCodeQuery(db, couponCode), ratesQuery]);
      rows = productRows;
      couponDefinition = couponRows[0] ?? null;
      activeRates = rateRows;
    } else {
      [rows, activeRates] = await db.batch([productsByIdsQuery(db, productIds), ratesQuery]);
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    // Prices, names and currency come from D1 only; hidden or deleted products are not sold (P04).
    const lines: CheckoutLine[] = snapshot.lines.flatMap((l) => {
      const p = byId.get(l.productId);
      return p ? [{ productId: p.id, name: p.name, unitPriceCents: p.priceCents, quantity: l.quantity, taxCode: p.taxCode }] : [];
    });
    if (lines.length === 0) throw new ProblemError(409, "cart_empty", "Your cart has nothing that can be bought.");
    const currencies = new Set(lines.map((l) => byId.get(l.productId)!.currency));
    if (currencies.size !== 1) throw new ProblemError(422, "currency_mismatch", "Items in different currencies cannot be bought together.");
    const currency = [...currencies][0]!;
    if (config.SHOP_CURRENCY && currency !== config.SHOP_CURRENCY) {
      throw new ProblemError(422, "currency_not_accepted", `This shop sells in ${config.SHOP_CURRENCY} only.`);
    }
    const rate = chooseShippingRate(activeRates, currency, options.shippingRateId);
    const couponCustomer = await couponCustomerKey(email);
    for (const l of lines) {
      if (byId.get(l.productId)!.stock < l.quantity) throw new ProblemError(422, "out_of_stock", `${l.name} does not have enough stock.`);
    }
    const subtotalCents = lines.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);

    let discountCents = 0;
    if (snapshot.couponCode) {
      const holdUntil = (expiresAt + COUPON_HOLD_MARGIN_SECONDS) * 1000;
      const held = await holdCoupon(env, {
        code: snapshot.couponCode,
        orderId,
        userId: couponCustomer,
        currency,
        subtotalCents,
        definition: couponDefinition,
        holdUntil,
      });
      if (!held.ok) throw new ProblemError(422, held.code, "This coupon cannot be used.");
      couponReserved = held.code;
      discountCents = held.discountCents;
    }
    const goodsCents = subtotalCents - discountCents;
    const shipping = rate
      ? { rateId: rate.id, name: rate.name, amountCents: shippingAmountFor(rate, goodsCents), minDays: rate.minDays, maxDays: rate.maxDays }
      : null;
    const order: CheckoutOrder = {
      id: orderId,
      userId: user.id,
      currency,
      subtotalCents,
      discountCents,
      shippingCents: shipping?.amountCents ?? 0,
      totalCents: checkoutTotalCents(goodsCents, shipping?.amountCents ?? 0),
      couponCode: couponReserved,
      customerEmail: email,
      shipping,
      taxMode: config.STRIPE_TAX,
      shipToCountries: config.SHIP_TO_COUNTRIES,
    };
    // 0 is a no-cost order (completed with no_payment_required); below the minimum, above the
    // maximum or off the currency's step Stripe would refuse the session: a 422 now, never a 502.
    assertChargeable(currency, order.totalCents);

    try {
      const insertOrder = db.insert(orders).values({
        id: order.id,
        userId: order.userId,
        currency,
        subtotalCents,
        discountCents,
        totalCents: order.totalCents,
        couponCode: order.couponCode,
        customerEmail: email,
        couponCustomer: couponReserved ? couponCustomer : null,
        cartObjectId,
        shippingRateId: shipping?.rateId ?? null,
        shippingRateName: shipping?.name ?? null,
        shippingCents: order.shippingCents,
        taxMode: config.STRIPE_TAX,
        // What the session allows is what its payment is checked against later, whatever the config says then.
        shipToCountries: shipping ? JSON.stringify(config.SHIP_TO_COUNTRIES) : null,
        cartVersion: snapshot.version,
        provider: config.PAYMENTS_PROVIDER,
        idempotencyKey,
        paymentExpiresAt: expiresAt,
      });
      // Lines in chunks: D1 binds at most 100 parameters per statement (a 50-line cart is 250).
      const insertLines = insertOrderLines(
        db,
        lines.map((l) => ({ orderId, ...l })),
      );
      const takeStock = lines.map((l) =>
        db
          .update(products)
          .set({ stock: sql`${products.stock} - ${l.quantity}` })
          .where(eq(products.id, l.productId)),
      );
      const results = await db.batch([insertOrder, ...insertLines, ...takeStock]);
      orderWritten = true;
      if (results.slice(1 + insertLines.length).some((r) => (r as D1Result).meta.changes === 0)) {
        // A product was deleted after pricing: nothing to take stock from.
        throw new ProblemError(422, "out_of_stock", "An item in your cart is no longer available.");
      }
    } catch (error) {
      if (isConstraint(error, "products_stock_nonnegative")) {
        throw new ProblemError(422, "out_of_stock", "An item in your cart does not have enough stock.");
      }
      if (idempotencyKey && isConstraint(error, "orders.idempotency_key")) {
        const earlier = await replay(env, config.PUBLIC_ORIGIN, db, user.id, idempotencyKey);
        if (earlier) throw new ReplayFound(earlier);
      }
      throw error;
    }

    const origin = config.PUBLIC_ORIGIN;
    // A guest comes back through the order's own link (Stripe already holds everything the order holds).
    // New orders start at key version 1 (the column's default); the link carries its own expiry.
    const guestPath = await guestOrderPath(env, { id: orderId, userId: user.id, guestKeyVersion: 1 });
    const orderPath = guestPath ? `${guestPath}&` : `/orders/${orderId}?`;
    let session: { sessionId: string; url: string };
    try {
      session = await paymentProvider(config, db).createCheckoutSession({
        order,
        lines,
        // From config, never from the Host header: a forged Host cannot redirect shoppers (P03).
        successUrl: `${origin}${orderPath}status=success`,
        cancelUrl: `${origin}${orderPath}status=cancelled`,
        idempotencyKey: `checkout:${orderId}`,
        expiresAt,
      });
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "payment_session_failed", orderId, error: String(error) }));
      throw new ProblemError(502, "payment_unavailable", "The payment provider could not be reached. Nothing was charged; please try again.");
    }
    // Stored only on a still-pending order without a session: a cancel (or the sweeper) that
    // closed it meanwhile wins, and this session must never become payable (issue 20 §2).
    const detail = JSON.stringify({ sessionId: session.sessionId, url: session.url });
    const [stored] = await db.batch([
      db
        .update(orders)
        .set({ paymentSessionId: session.sessionId })
        .where(and(eq(orders.id, orderId), eq(orders.status, "pending"), isNull(orders.paymentSessionId))),
      // The replay row only when the session was stored (INSERT … SELECT over the order row).
      db.insert(paymentEvents).select(
        db
          .select({
            id: sql<string>`${`pev_session_${orderId}`}`.as("id"),
            orderId: orders.id,
            kind: sql<string>`${SESSION_CREATED}`.as("kind"),
            detail: sql<string>`${detail}`.as("detail"),
            createdAt: sql<string>`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`.as("created_at"),
          })
          .from(orders)
          .where(and(eq(orders.id, orderId), eq(orders.paymentSessionId, session.sessionId))),
      ),
    ]);
    if ((stored.meta.changes ?? 0) === 0) {
      await fenceSession(env, config, db, user.id, orderId, session.sessionId);
      throw new ProblemError(409, "order_cancelled", "This order was cancelled while its payment page was being prepared. Nothing can be paid for it.");
    }
    sessionStored = true;
    await recordAudit(env, {
      actor: user.id,
      action: "checkout.started",
      subject: orderId,
      detail: {
        totalCents: order.totalCents,
        currency: order.currency,
        couponCode: order.couponCode,
        shippingCents: order.shippingCents,
        guest: buyer.kind === "guest",
        session: `…${session.sessionId.slice(-4)}`,
      },
    });
    return guestPath ? { orderId, checkoutUrl: session.url, orderUrl: `${origin}${orderPath.slice(0, -1)}` } : { orderId, checkoutUrl: session.url };
  } catch (error) {
    // After the session was stored the order lives on (payable, swept when it expires): nothing to give back.
    if (sessionStored) throw error;
    // Give back everything this attempt took, then answer.
    // Each step is tried even if another fails, so one outage does not keep the rest held.
    // Closing is fenced on "no session stored": it never closes an order that became payable.
    const steps: [string, () => Promise<void>][] = [
      ["stock", async () => void (orderWritten ? await closePendingOrder(db, { orderId, status: "cancelled", session: null }) : undefined)],
      ["coupon", async () => (couponReserved ? releaseCouponHold(env, { code: couponReserved, orderId, userId: await couponCustomerKey(email) }) : undefined)],
      ["cart", () => cancelCartCheckout(cart, orderId)],
    ];
    for (const [step, run] of steps) {
      await run().catch((e: unknown) => console.error(JSON.stringify({ level: "error", msg: "checkout_release_failed", step, orderId, error: String(e) })));
    }
    if (error instanceof ReplayFound) return error.result;
    throw error;
  }
}

/**
 * The order closed while its session was being made: expire that session at the provider (it was
 * never handed out) and record why. A provider that cannot be reached leaves it to expire on its own
 * at `expires_at`; a payment to it would arrive as `payment.after_close`, for staff to refund.
 */
async function fenceSession(env: Env, config: Config, db: Database, userId: string, orderId: string, sessionId: string): Promise<void> {
  let expired: boolean | "unreachable";
  try {
    expired = await paymentProvider(config, db).expireSession(sessionId);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "fenced_session_expire_failed", orderId, error: String(error) }));
    expired = "unreachable";
  }
  await recordAudit(env, { actor: userId, action: "checkout.session_fenced", subject: orderId, detail: { session: `…${sessionId.slice(-4)}`, expired } });
}
