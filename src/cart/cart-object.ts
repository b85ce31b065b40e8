import { DurableObject } from "cloudflare:workers";
import type { PricingProduct } from "../catalog/queries";
import { getDb } from "../db/client";
import { checkCouponLimits, couponDefinitionRefusal, type CouponRefusal } from "../coupons/coupons";
import type { CouponRow } from "../coupons/schema";
import { cartCurrency, loadPricingRows, priceFromRows, type Cart, type PricingRows } from "./pricing";
import { addToLine, emptyCart, isProductId, isQuantity, mergeLines, removeBought } from "./line-rules";
import type { BeginCheckoutResult, CartLine, CartMutation, CartRefusal, CartSnapshot, CartState, EndCheckoutResult } from "./types";

export type { BeginCheckoutResult, CartCheckoutState, CartLine, CartMutation, CartRefusal, CartSnapshot, CartState, EndCheckoutResult } from "./types";

/** Refusals of a priced mutation: the cart's own, and what D1's product rows say. */
export type PricedRefusal = CartRefusal | CouponRefusal | "product_not_found" | "out_of_stock" | "currency_mismatch";

/** Result of a priced read or mutation: the cart priced from D1 after the change, or why nothing changed. */
export type PricedCartResult = { ok: true; cart: Cart } | { ok: false; code: PricedRefusal };

/** A change applied with the D1 rows of the cart's products at hand; "unchanged" writes nothing. */
type PricedChange = (cart: CartState, products: Map<string, PricingProduct>, coupon: CouponRow | null) => PricedRefusal | "unchanged" | null;

const STATE_KEY = "cart";
const COMPLETED_KEY = "completedOrders";

/**
 * One shopper's cart (guest `guest:<random id>` or account `user:<id>`, chosen by the server,
 * never by the request: P12). State lives in the object's synchronous KV storage
 * (`ctx.storage.kv`, with a copy in memory): each RPC method reads, changes and writes it with no
 * `await` in between, so concurrent requests apply one at a time and never lose an update (T08,
 * M-016). The priced methods the shop's routes use await one D1 read first, then check that the
 * cart did not change in a way the read does not cover before that same synchronous step.
 *
 * While a checkout holds the cart, mutations are still allowed and bump `version`: the order
 * was built from the snapshot `beginCheckout` returned, so nothing the shopper does afterwards
 * can change what they pay for (T08, M-014). `completeCheckout` then removes exactly what was
 * bought, so items added meanwhile stay in the cart.
 */
export class CartObject extends DurableObject<Env> {
  private stored: CartState | undefined;

  /** The current state (an empty open cart when nothing was stored yet). */
  getState(): CartState {
    // Read from storage once per object lifetime: this object is the cart's only writer, so the
    // copy in memory is the stored state (a copy is handed out, so a refused change never leaks).
    this.stored ??= this.ctx.storage.kv.get<CartState>(STATE_KEY) ?? emptyCart();
    return structuredClone(this.stored);
  }

  /** Adds `quantity` to the product's line (a new line when absent); the sum is clamped at 99. */
  addItem(productId: string, quantity: number): CartMutation {
    if (!isProductId(productId)) return { ok: false, code: "invalid_product" };
    if (!isQuantity(quantity)) return { ok: false, code: "invalid_quantity" };
    return this.mutate((cart) => addToLine(cart, productId, quantity));
  }

  /** Holds one coupon code (already checked by the caller); a second one replaces the first. */
  applyCoupon(code: string): CartMutation {
    return this.mutate((cart) => {
      cart.couponCode = code;
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
      mergeLines(cart, lines, couponCode);
      return null;
    });
  }

  /**
   * Checkout takes a snapshot (M-014, M-015) and holds the cart for `orderId`. The same order
   * asking again gets the same snapshot (a retried request); another order is refused with
   * `checkout_in_progress` (naming the holder) until the holder completes or is cancelled. The
   * hold has no clock of its own: it lasts as long as its order can be paid, which only checkout
   * knows (docs/decisions/013), so checkout ends a hold whose order closed and asks again.
   */
  beginCheckout(orderId: string, now: number = Date.now()): BeginCheckoutResult {
    const cart = this.getState();
    if (cart.state.status === "checking_out") {
      if (cart.state.orderId === orderId) return { ok: true, snapshot: cart.state.snapshot };
      return { ok: false, code: "checkout_in_progress", heldBy: cart.state.orderId, startedAt: cart.state.startedAt };
    }
    if (cart.lines.length === 0) return { ok: false, code: "cart_empty" };
    const snapshot: CartSnapshot = { lines: cart.lines.map((l) => ({ ...l })), couponCode: cart.couponCode, version: cart.version };
    cart.state = { status: "checking_out", orderId, startedAt: now, snapshot };
    this.save(cart);
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
    removeBought(cart, cart.state.snapshot);
    cart.state = { status: "open" };
    cart.version += 1;
    this.save(cart);
    this.ctx.storage.kv.put(COMPLETED_KEY, [...completed, orderId].slice(-20));
    return { ok: true, cart };
  }

  /** The checkout failed or expired: the cart is open again with its lines. */
  cancelCheckout(orderId: string): EndCheckoutResult {
    const cart = this.getState();
    if (cart.state.status !== "checking_out" || cart.state.orderId !== orderId) return { ok: false, code: "not_checking_out" };
    cart.state = { status: "open" };
    cart.version += 1;
    this.save(cart);
    return { ok: true, cart };
  }

  // ---- Priced operations: what the shop's cart routes use. One RPC call does the change and
  // returns the cart priced from D1 (the object reads D1 itself, in one round trip), instead of
  // a worker reading the state, reading D1, mutating and reading D1 again: cart add was the
  // costliest route of the shop (docs/benchmarks.md).

  /** The cart priced from D1; lines whose product is hidden or gone are dropped from storage. */
  getPriced(): Promise<PricedCartResult> {
    return this.withPrices([], null);
  }

  /**
   * Adds `quantity` of a visible, in-stock product (the sum is clamped at 99), refused when the
   * product is priced in another currency than the cart's lines.
   */
  addItemPriced(productId: string, quantity: number): Promise<PricedCartResult> {
    if (!isProductId(productId)) return Promise.resolve({ ok: false, code: "invalid_product" });
    if (!isQuantity(quantity)) return Promise.resolve({ ok: false, code: "invalid_quantity" });
    return this.withPrices([productId], (cart, products) => {
      const product = products.get(productId);
      if (!product) return "product_not_found";
      if (product.stock <= 0) return "out_of_stock";
      const currency = cartCurrency(cart.lines, products);
      if (currency !== null && currency !== product.currency) return "currency_mismatch";
      return addToLine(cart, productId, quantity);
    });
  }

  /** Sets an existing line's quantity (1–99), priced. */
  setQuantityPriced(productId: string, quantity: number): Promise<PricedCartResult> {
    if (!isProductId(productId)) return Promise.resolve({ ok: false, code: "invalid_product" });
    if (!isQuantity(quantity)) return Promise.resolve({ ok: false, code: "invalid_quantity" });
    return this.withPrices([], (cart) => {
      const line = cart.lines.find((l) => l.productId === productId);
      if (!line) return "cart_item_not_found";
      line.quantity = quantity;
      return null;
    });
  }

  /** Removes a line (an absent line changes nothing and is not an error), priced. */
  removeItemPriced(productId: string): Promise<PricedCartResult> {
    return this.withPrices([], (cart) => {
      if (!cart.lines.some((l) => l.productId === productId)) return "unchanged";
      cart.lines = cart.lines.filter((l) => l.productId !== productId);
      return null;
    });
  }

  /**
   * The check and hold of `PUT /api/cart/coupon` (M-012, first of two checks; checkout reserves):
   * the code's D1 definition at the server's clock and in the cart's currency, then its ledger's
   * limits for `userId` (a guest: the total only), then the cart holds it (one coupon per cart:
   * it replaces any other) and answers priced. The definition and the lines' prices come from one
   * D1 round trip; an unknown, inactive or expired code wakes no ledger.
   */
  async applyCouponChecked(code: string, userId: string | null): Promise<PricedCartResult> {
    const now = new Date();
    const seen = this.getState();
    const ids = new Set(seen.lines.map((l) => l.productId));
    const rows = await loadPricingRows(getDb(this.env.DB), [...ids], code);
    const definition = rows.coupon;
    const refusal = definition ? couponDefinitionRefusal(definition, now) : "coupon_invalid";
    if (refusal) return { ok: false, code: refusal };
    const limits = await checkCouponLimits(this.env, definition!, userId, now);
    if (!limits.ok) return { ok: false, code: limits.code };
    return this.withPrices(
      [],
      (cart, products, coupon) => {
        const inCurrency = coupon ? couponDefinitionRefusal(coupon, now, cartCurrency(cart.lines, products)) : "coupon_invalid";
        if (inCurrency) return inCurrency;
        cart.couponCode = coupon!.code;
        return null;
      },
      code,
      { ids, rows },
    );
  }

  /** Drops the coupon, priced. */
  removeCouponPriced(): Promise<PricedCartResult> {
    return this.withPrices(
      [],
      (cart) => {
        if (cart.couponCode === null) return "unchanged";
        cart.couponCode = null;
        return null;
      },
      null,
    );
  }

  /**
   * Reads the D1 rows of the cart's products (and `extraIds`) and its coupon, then applies
   * `change`, drops lines whose product is gone, writes once, and prices the result. The read,
   * change and write after the D1 await run with no await in between, so no other call to this
   * cart interleaves with them (T08). Another call may have run during the D1 await: when it
   * added a line or swapped the coupon the rows do not cover, the whole step runs again under
   * `blockConcurrencyWhile`, where nothing can run during the await (so it always completes).
   */
  private async withPrices(
    extraIds: string[],
    change: PricedChange | null,
    couponToLoad?: string | null,
    preloaded?: { ids: Set<string>; rows: PricingRows },
  ): Promise<PricedCartResult> {
    const first = await this.pricedStep(extraIds, change, couponToLoad, preloaded);
    if (first !== "retry") return first;
    // A throw inside blockConcurrencyWhile would reset the object: errors are carried out instead.
    const outcome = await this.ctx.blockConcurrencyWhile(async () => {
      try {
        return { result: await this.pricedStep(extraIds, change, couponToLoad) };
      } catch (error) {
        return { error };
      }
    });
    if ("error" in outcome) throw outcome.error;
    if (outcome.result === "retry") throw new Error("the cart changed while blocked (cannot happen)");
    return outcome.result;
  }

  /** One attempt of `withPrices`; "retry" when the cart changed in ways the rows do not cover. */
  private async pricedStep(
    extraIds: string[],
    change: PricedChange | null,
    couponToLoad: string | null | undefined,
    preloaded?: { ids: Set<string>; rows: PricingRows },
  ): Promise<PricedCartResult | "retry"> {
    const seen = this.getState();
    const ids = preloaded?.ids ?? new Set([...extraIds, ...seen.lines.map((l) => l.productId)]);
    const code = couponToLoad === undefined ? seen.couponCode : couponToLoad;
    // Rows the caller just read for `ids` (the coverage check below still applies to them).
    const rows = preloaded?.rows ?? (await loadPricingRows(getDb(this.env.DB), [...ids], code));
    const cart = this.getState();
    const covered = cart.lines.every((l) => ids.has(l.productId)) && (couponToLoad !== undefined || cart.couponCode === code);
    if (!covered) return "retry";
    const products = new Map(rows.products.map((r) => [r.id, r]));
    const verdict = change ? change(cart, products, rows.coupon) : "unchanged";
    if (verdict !== null && verdict !== "unchanged") return { ok: false, code: verdict };
    const { cart: priced, goneProductIds } = priceFromRows(cart, rows, new Date());
    if (verdict === null || goneProductIds.length > 0) {
      const gone = new Set(goneProductIds);
      cart.lines = cart.lines.filter((l) => !gone.has(l.productId));
      cart.version += 1;
      this.save(cart);
      priced.version = cart.version;
    }
    return { ok: true, cart: priced };
  }

  /** Writes the state (and keeps it as the copy in memory). */
  private save(cart: CartState): void {
    this.ctx.storage.kv.put(STATE_KEY, cart);
    this.stored = structuredClone(cart);
  }

  /** Applies `change` to the stored state; a refusal code leaves storage untouched. */
  private mutate(change: (cart: CartState) => CartRefusal | null): CartMutation {
    const cart = this.getState();
    const refusal = change(cart);
    if (refusal) return { ok: false, code: refusal };
    cart.version += 1;
    this.save(cart);
    return { ok: true, cart };
  }
}
