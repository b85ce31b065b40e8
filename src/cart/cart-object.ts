import { DurableObject } from "cloudflare:workers";

/** Quantities per line are integers 1–99 (API.md). */
export const MAX_QUANTITY = 99;
/** A cart holds at most 50 lines (API.md). */
export const MAX_LINES = 50;
/**
 * A checkout that was neither completed nor cancelled within this time no longer blocks a new
 * one (the payment session expired and its webhook was lost). Matches the coupon reservation TTL.
 */
export const CHECKOUT_HOLD_MS = 35 * 60 * 1000;

/** One line of a cart: which product and how many. Never a price (P11): prices come from D1. */
export interface CartLine {
  productId: string;
  quantity: number;
}

/** What checkout copies (M-014, M-015): the lines and coupon at one version. */
export interface CartSnapshot {
  lines: CartLine[];
  couponCode: string | null;
  version: number;
}

/** Open, or held by a checkout for `orderId` since `startedAt` (epoch ms). */
export type CartCheckoutState = { status: "open" } | { status: "checking_out"; orderId: string; startedAt: number; snapshot: CartSnapshot };

/** The whole state of one cart. `version` goes up on every change. */
export interface CartState {
  lines: CartLine[];
  couponCode: string | null;
  version: number;
  state: CartCheckoutState;
}

/** Refusals of a cart mutation. */
export type CartRefusal = "cart_full" | "invalid_quantity" | "invalid_product" | "cart_item_not_found";

/** Result of a cart mutation: the new state, or why nothing changed. */
export type CartMutation = { ok: true; cart: CartState } | { ok: false; code: CartRefusal };

/** Result of `beginCheckout`. */
export type BeginCheckoutResult = { ok: true; snapshot: CartSnapshot } | { ok: false; code: "cart_empty" | "checkout_in_progress" };

/** Result of `completeCheckout` / `cancelCheckout`. */
export type EndCheckoutResult = { ok: true; cart: CartState } | { ok: false; code: "not_checking_out" };

const STATE_KEY = "cart";
const COMPLETED_KEY = "completedOrders";

function isQuantity(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_QUANTITY;
}

function isProductId(id: unknown): id is string {
  return typeof id === "string" && id.length >= 1 && id.length <= 100;
}

function emptyState(): CartState {
  return { lines: [], couponCode: null, version: 0, state: { status: "open" } };
}

/**
 * One shopper's cart (guest `guest:<random id>` or account `user:<id>`, chosen by the server,
 * never by the request: P12). State lives in the object's synchronous KV storage
 * (`ctx.storage.kv`): each RPC method reads, changes and writes it with no `await` in between,
 * so concurrent requests apply one at a time and never lose an update (T08, M-016).
 *
 * While a checkout holds the cart, mutations are still allowed and bump `version`: the order
 * was built from the snapshot `beginCheckout` returned, so nothing the shopper does afterwards
 * can change what they pay for (T08, M-014). `completeCheckout` then removes exactly what was
 * bought, so items added meanwhile stay in the cart.
 */
export class CartObject extends DurableObject<Env> {
  /** The current state (an empty open cart when nothing was stored yet). */
  getState(): CartState {
    return this.ctx.storage.kv.get<CartState>(STATE_KEY) ?? emptyState();
  }

  /** Adds `quantity` to the product's line (a new line when absent); the sum is clamped at 99. */
  addItem(productId: string, quantity: number): CartMutation {
    if (!isProductId(productId)) return { ok: false, code: "invalid_product" };
    if (!isQuantity(quantity)) return { ok: false, code: "invalid_quantity" };
    return this.mutate((cart) => {
      const line = cart.lines.find((l) => l.productId === productId);
      if (line) {
        line.quantity = Math.min(MAX_QUANTITY, line.quantity + quantity);
        return null;
      }
      if (cart.lines.length >= MAX_LINES) return "cart_full";
      cart.lines.push({ productId, quantity });
      return null;
    });
  }

  /** Sets an existing line's quantity (1–99). */
  setQuantity(productId: string, quantity: number): CartMutation {
    if (!isProductId(productId)) return { ok: false, code: "invalid_product" };
    if (!isQuantity(quantity)) return { ok: false, code: "invalid_quantity" };
    return this.mutate((cart) => {
      const line = cart.lines.find((l) => l.productId === productId);
      if (!line) return "cart_item_not_found";
      line.quantity = quantity;
      return null;
    });
  }

  /** Removes a line; removing an absent line changes nothing and is not an error. */
  removeItem(productId: string): CartMutation {
    const cart = this.getState();
    if (!cart.lines.some((l) => l.productId === productId)) return { ok: true, cart };
    return this.mutate((c) => {
      c.lines = c.lines.filter((l) => l.productId !== productId);
      return null;
    });
  }

  /** Drops lines whose product no longer exists or is hidden (the caller checked D1). */
  removeItems(productIds: string[]): CartMutation {
    const gone = new Set(productIds);
    const cart = this.getState();
    if (!cart.lines.some((l) => gone.has(l.productId))) return { ok: true, cart };
    return this.mutate((c) => {
      c.lines = c.lines.filter((l) => !gone.has(l.productId));
      return null;
    });
  }

  /** Holds one coupon code (already checked by the caller); a second one replaces the first. */
  applyCoupon(code: string): CartMutation {
    return this.mutate((cart) => {
      cart.couponCode = code;
      return null;
    });
  }

  /** Drops the coupon. */
  removeCoupon(): CartMutation {
    const cart = this.getState();
    if (cart.couponCode === null) return { ok: true, cart };
    return this.mutate((c) => {
      c.couponCode = null;
      return null;
    });
  }

  /** Empties the cart (a merged guest cart is retired this way). */
  clear(): CartMutation {
    return this.mutate((cart) => {
      cart.lines = [];
      cart.couponCode = null;
      cart.state = { status: "open" };
      return null;
    });
  }

  /**
   * Adds a guest cart's lines into this one (sign-in merge): quantities add up and clamp at 99,
   * lines beyond 50 are dropped, invalid lines are ignored. The guest's coupon is kept only when
   * this cart has none (it is checked again at checkout).
   */
  mergeFrom(lines: CartLine[], couponCode: string | null): CartMutation {
    return this.mutate((cart) => {
      for (const incoming of lines) {
        if (!isProductId(incoming.productId) || !isQuantity(incoming.quantity)) continue;
        const line = cart.lines.find((l) => l.productId === incoming.productId);
        if (line) line.quantity = Math.min(MAX_QUANTITY, line.quantity + incoming.quantity);
        else if (cart.lines.length < MAX_LINES) cart.lines.push({ productId: incoming.productId, quantity: incoming.quantity });
      }
      if (cart.couponCode === null && couponCode) cart.couponCode = couponCode;
      return null;
    });
  }

  /**
   * Checkout takes a snapshot (M-014, M-015) and holds the cart for `orderId`. The same order
   * asking again gets the same snapshot (a retried request); another order is refused with
   * `checkout_in_progress` until this one completes, is cancelled, or is older than CHECKOUT_HOLD_MS.
   */
  beginCheckout(orderId: string, now: number = Date.now()): BeginCheckoutResult {
    const cart = this.getState();
    if (cart.state.status === "checking_out") {
      if (cart.state.orderId === orderId) return { ok: true, snapshot: cart.state.snapshot };
      if (now - cart.state.startedAt < CHECKOUT_HOLD_MS) return { ok: false, code: "checkout_in_progress" };
    }
    if (cart.lines.length === 0) return { ok: false, code: "cart_empty" };
    const snapshot: CartSnapshot = { lines: cart.lines.map((l) => ({ ...l })), couponCode: cart.couponCode, version: cart.version };
    cart.state = { status: "checking_out", orderId, startedAt: now, snapshot };
    this.ctx.storage.kv.put(STATE_KEY, cart);
    return { ok: true, snapshot };
  }

  /**
   * The order was paid: removes what the snapshot bought (everything, unless the shopper added
   * items since), clears the coupon it used, new version, state open. Idempotent per order.
   */
  completeCheckout(orderId: string): EndCheckoutResult {
    const cart = this.getState();
    const completed = this.ctx.storage.kv.get<string[]>(COMPLETED_KEY) ?? [];
    if (completed.includes(orderId)) return { ok: true, cart };
    if (cart.state.status !== "checking_out" || cart.state.orderId !== orderId) return { ok: false, code: "not_checking_out" };
    const snapshot = cart.state.snapshot;
    for (const bought of snapshot.lines) {
      const line = cart.lines.find((l) => l.productId === bought.productId);
      if (line) line.quantity -= bought.quantity;
    }
    cart.lines = cart.lines.filter((l) => l.quantity > 0);
    if (cart.couponCode === snapshot.couponCode) cart.couponCode = null;
    cart.state = { status: "open" };
    cart.version += 1;
    this.ctx.storage.kv.put(STATE_KEY, cart);
    this.ctx.storage.kv.put(COMPLETED_KEY, [...completed, orderId].slice(-20));
    return { ok: true, cart };
  }

  /** The checkout failed or expired: the cart is open again with its lines. */
  cancelCheckout(orderId: string): EndCheckoutResult {
    const cart = this.getState();
    if (cart.state.status !== "checking_out" || cart.state.orderId !== orderId) return { ok: false, code: "not_checking_out" };
    cart.state = { status: "open" };
    cart.version += 1;
    this.ctx.storage.kv.put(STATE_KEY, cart);
    return { ok: true, cart };
  }

  /** Applies `change` to the stored state; a refusal code leaves storage untouched. */
  private mutate(change: (cart: CartState) => CartRefusal | null): CartMutation {
    const cart = this.getState();
    const refusal = change(cart);
    if (refusal) return { ok: false, code: refusal };
    cart.version += 1;
    this.ctx.storage.kv.put(STATE_KEY, cart);
    return { ok: true, cart };
  }
}
