import type { CartObject } from "../cart/cart-object";
import type { Database } from "../db/client";
import type { CheckoutOrder } from "../payments/provider";
import type { Config } from "../platform/config";
import type { GateTaken } from "../stock-gate/gate";
import type { Buyer } from "./buyer";
import type { PricedCart } from "./order-pricing";
import type { OrderPromotion } from "./order-promotions";

/** What a checkout asks for besides the cart: a replay key and the shipping rate the shopper chose. */
export interface CheckoutOptions {
  idempotencyKey: string | null;
  shippingRateId: string | null;
  /** The client's network address key (IPv6 /64), for the hoarding bound per address; null: not bounded by address. */
  clientAddressKey?: string | null;
}

/** One checkout in the making: who, for which new order, and what each step has done so far. */
export interface CheckoutAttempt {
  readonly env: Env;
  readonly config: Config;
  readonly db: Database;
  readonly buyer: Buyer;
  readonly options: CheckoutOptions;
  readonly orderId: string;
  /** orders.user_id: the account, or the guest cart's owner id. */
  readonly ownerId: string;
  readonly email: string;
  readonly cart: DurableObjectStub<CartObject>;
  readonly cartObjectId: string;
  /** The session's expiry, which we set: every hold of this order is sized from it. */
  readonly expiresAt: number;
  /** The cart's snapshot as its object froze it (checked when priced). */
  frozen: unknown;
  priced: PricedCart | null;
  /** Who the coupon ledger counts this order for: the proven customer's key, or a key of nobody (`anon_<order>`). */
  couponCustomer: string | null;
  /** Whether `couponCustomer` is a proven customer (verified account, or the mailbox this cart proved). */
  couponCustomerProven: boolean;
  /** The automatic promotion this order got (free shipping), or null. */
  promotion: OrderPromotion | null;
  /** The units this order took at the stock gate, by shard (given back by the undo). */
  gateTaken: GateTaken[];
  /** The automatic promotion that took money off the goods (decision 030), or null. */
  discountPromotion: OrderPromotion | null;
  /** The coupon reserved for this order: its normalised code and the discount on this subtotal. */
  couponHeld: { code: string; discountCents: number } | null;
  order: CheckoutOrder | null;
  /** False when a product was deleted between pricing and the write: nothing to take its stock from. */
  everyLineTookStock: boolean;
  /** The guest's order link (path and query), or null for an account's order. */
  guestPath: string | null;
  session: { sessionId: string; url: string } | null;
}

/** What an earlier step must have left on the attempt; missing means the steps ran out of order. */
export function left<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`checkout step ran before ${what} was set`);
  return value;
}
