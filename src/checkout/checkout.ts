import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import type { Config } from "../platform/config";
import { runSteps, type Step } from "../platform/compensating-steps";
import { buyerParts, type Buyer } from "./buyer";
import type { CheckoutAttempt, CheckoutOptions } from "./checkout-attempt";
import {
  cancelWrittenOrder,
  checkStockTaken,
  freezeCart,
  priceCart,
  releaseCoupon,
  reserveCoupon,
  returnGateUnits,
  takeGateUnits,
  totalOrder,
  unfreezeCart,
  writeOrderTakingStock,
} from "./checkout-steps";
import { makePaymentSession, orderPathOf, storeSession } from "./payment-session-steps";
import { SESSION_LIFETIME_SECONDS } from "./lifecycle";
import { replay, ReplayFound, type CheckoutStarted } from "./replay";

export type { CheckoutOptions } from "./checkout-attempt";

/**
 * A checkout, step by step, each with what undoes it (M-014, M-015, M-016, P15). When a step
 * fails, the undos of the steps before it run in reverse (stock, the coupon, the gate's units, the cart),
 * each tried even when another fails, and the shopper gets the step's own error. Storing the
 * session is the point of no return: from then the order lives on (payable, swept when it expires)
 * and nothing is given back.
 */
const CHECKOUT_STEPS: readonly Step<CheckoutAttempt>[] = [
  { name: "freeze the cart", run: freezeCart, undo: unfreezeCart },
  { name: "price the cart from D1", run: priceCart },
  // Cheap refusals first: a shopper who cannot win is told so here, before any D1 write (decision 028).
  { name: "take the units at the stock gate", run: takeGateUnits, undo: returnGateUnits },
  { name: "reserve the coupon", run: reserveCoupon, undo: releaseCoupon },
  { name: "total the order", run: totalOrder },
  { name: "write the order, taking stock", run: writeOrderTakingStock, undo: cancelWrittenOrder },
  { name: "check every line took stock", run: checkStockTaken },
  { name: "make the payment session", run: makePaymentSession },
  { name: "store the session on the order", run: storeSession },
];

/** Starts a checkout for a signed-in account or a guest: a replay of the same key, else `CHECKOUT_STEPS`. */
export async function startCheckout(env: Env, config: Config, buyer: Buyer, options: CheckoutOptions): Promise<CheckoutStarted> {
  const db = getDb(env.DB);
  const { cart, ownerId, email, cartObjectId } = buyerParts(env, buyer);
  if (options.idempotencyKey) {
    const earlier = await replay(env, config.PUBLIC_ORIGIN, db, ownerId, options.idempotencyKey);
    if (earlier) return earlier;
  }
  const attempt: CheckoutAttempt = {
    env,
    config,
    db,
    buyer,
    options,
    orderId: `ord_${crypto.randomUUID().replaceAll("-", "")}`,
    ownerId,
    email,
    cart,
    cartObjectId,
    expiresAt: Math.floor(Date.now() / 1000) + SESSION_LIFETIME_SECONDS,
    frozen: null,
    priced: null,
    couponCustomer: null,
    couponCustomerProven: false,
    promotion: null,
    discountPromotion: null,
    couponHeld: null,
    gateTaken: [],
    order: null,
    everyLineTookStock: false,
    guestPath: null,
    session: null,
  };
  try {
    await runSteps(attempt, CHECKOUT_STEPS, (step, error) =>
      console.error(JSON.stringify({ level: "error", msg: "checkout_release_failed", step, orderId: attempt.orderId, error: String(error) })),
    );
  } catch (error) {
    // A concurrent request with the same key won (found while freezing the cart or writing the order).
    if (error instanceof ReplayFound) return error.result;
    throw error;
  }
  return checkoutStarted(attempt);
}

/** Records the started checkout and answers with its payment page (and a guest's order link). */
async function checkoutStarted(a: CheckoutAttempt): Promise<CheckoutStarted> {
  const { order, session, orderId } = a;
  if (!order || !session) throw new Error("checkout answered before its session was stored");
  await recordAudit(a.env, {
    actor: a.ownerId,
    action: "checkout.started",
    subject: orderId,
    detail: {
      totalCents: order.totalCents,
      currency: order.currency,
      couponCode: order.couponCode,
      shippingCents: order.shippingCents,
      guest: a.buyer.kind === "guest",
      session: `…${session.sessionId.slice(-4)}`,
    },
  });
  const orderUrl = `${a.config.PUBLIC_ORIGIN}${orderPathOf(a).slice(0, -1)}`;
  return a.guestPath ? { orderId, checkoutUrl: session.url, orderUrl } : { orderId, checkoutUrl: session.url };
}
