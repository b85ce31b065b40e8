import { DurableObject } from "cloudflare:workers";
import type { PricingVariant } from "../catalog/pricing-queries";
import { getDb } from "../db/client";
import { checkCouponLimits, couponDefinitionRefusal, type CouponRefusal } from "../coupons/coupons";
import type { CouponRow } from "../coupons/schema";
import { migratedDefaultVariantId } from "../catalog/variants";
import { upgradeCartState } from "./cart-storage";
import { cartCurrency, loadPricingRows, priceFromRows, type Cart, type PricingRows } from "./pricing";
import { variantForAdd } from "./variant-choice";
import { addToLine, findLine, isProductId, isQuantity, mergeLines, removeBought } from "./line-rules";
import type { BeginCheckoutResult, CartLine, CartMutation, CartRefusal, CartSnapshot, CartState, EndCheckoutResult } from "./types";

export type { BeginCheckoutResult, CartCheckoutState, CartLine, CartMutation, CartRefusal, CartSnapshot, CartState, EndCheckoutResult } from "./types";

/** Refusals of a priced mutation: the cart's own, and what D1's product rows say. */
export type PricedRefusal = CartRefusal | CouponRefusal | "product_not_found" | "variant_not_found" | "out_of_stock" | "currency_mismatch";

/** Result of a priced read or mutation: the cart priced from D1 after the change, or why nothing changed. */
export type PricedCartResult = { ok: true; cart: Cart } | { ok: false; code: PricedRefusal };

/** A change applied with the D1 rows of the cart's products at hand; "unchanged" writes nothing. */
type PricedChange = (cart: CartState, variants: Map<string, PricingVariant>, coupon: CouponRow | null) => PricedRefusal | "unchanged" | null;

const STATE_KEY = "cart";
const COMPLETED_KEY = "completedOrders";

/** What an operation needs read besides the cart's own lines: variants by id, products by id (all their variants). */
interface Extra {
  variantIds?: string[];
  productIds?: string[];
}

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
    // Stored before variants (layout 1) reads upgraded (cart-storage.ts); it is written in layout 2 at the next change.
    this.stored ??= upgradeCartState(this.ctx.storage.kv.get<unknown>(STATE_KEY));
    return structuredClone(this.stored);
  }

  /**
   * Adds `quantity` to the variant's line (a new line when absent); the sum is clamped at 99.
   * Unpriced (tests). Without `variantId`: the default variant id a product from before variants has.
   */
  addItem(productId: string, quantity: number, variantId: string = migratedDefaultVariantId(productId)): CartMutation {
    if (!isProductId(productId) || !isProductId(variantId)) return { ok: false, code: "invalid_product" };
    if (!isQuantity(quantity)) return { ok: false, code: "invalid_quantity" };
    return this.mutate((cart) => addToLine(cart, productId, variantId, quantity));
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

  /** The cart priced from D1; lines whose variant is gone or whose product is not active are dropped from storage. */
  getPriced(): Promise<PricedCartResult> {
    return this.withPrices({}, null);
  }

  /**
   * Adds `quantity` of an in-stock variant of an active product (the sum is clamped at 99),
   * refused when it is priced in another currency than the cart's lines. `variantId` null: the
   * product's default variant (a product with options needs one: `variant_required`).
   */
  addItemPriced(productId: string, quantity: number, variantId: string | null = null): Promise<PricedCartResult> {
    if (!isProductId(productId) || (variantId !== null && !isProductId(variantId))) return Promise.resolve({ ok: false, code: "invalid_product" });
    if (!isQuantity(quantity)) return Promise.resolve({ ok: false, code: "invalid_quantity" });
    const extra = variantId === null ? { productIds: [productId] } : { variantIds: [variantId] };
    return this.withPrices(extra, (cart, variants) => {
      const variant = variantForAdd(variants, productId, variantId);
      if (typeof variant === "string") return variant;
      if (variant.stock <= 0) return "out_of_stock";
      const currency = cartCurrency(cart.lines, variants);
      if (currency !== null && currency !== variant.currency) return "currency_mismatch";
      return addToLine(cart, variant.productId, variant.variantId, quantity);
    });
  }

  /** Sets an existing line's quantity (1–99), priced; `lineId` is its variant id (or its product's id, `findLine`). */
  setQuantityPriced(lineId: string, quantity: number): Promise<PricedCartResult> {
    if (!isProductId(lineId)) return Promise.resolve({ ok: false, code: "invalid_product" });
    if (!isQuantity(quantity)) return Promise.resolve({ ok: false, code: "invalid_quantity" });
    return this.withPrices({}, (cart) => {
      const line = findLine(cart, lineId);
      if (typeof line === "string") return line;
      line.quantity = quantity;
      return null;
    });
  }

  /** Removes a line by its variant id, or every line of a product by its id (absent changes nothing and is not an error), priced. */
  removeItemPriced(lineId: string): Promise<PricedCartResult> {
    return this.withPrices({}, (cart) => {
      const byVariant = cart.lines.some((l) => l.variantId === lineId);
      const keep = cart.lines.filter((l) => (byVariant ? l.variantId !== lineId : l.productId !== lineId));
      if (keep.length === cart.lines.length) return "unchanged";
      cart.lines = keep;
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
    const ids = new Set(seen.lines.map((l) => l.variantId));
    const rows = await loadPricingRows(getDb(this.env.DB), [...ids], code);
    const definition = rows.coupon;
    const refusal = definition ? couponDefinitionRefusal(definition, now) : "coupon_invalid";
    if (refusal) return { ok: false, code: refusal };
    const limits = await checkCouponLimits(this.env, definition!, userId, now);
    if (!limits.ok) return { ok: false, code: limits.code };
    return this.withPrices(
      {},
      (cart, variants, coupon) => {
        const inCurrency = coupon ? couponDefinitionRefusal(coupon, now, cartCurrency(cart.lines, variants)) : "coupon_invalid";
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
      {},
      (cart) => {
        if (cart.couponCode === null) return "unchanged";
        cart.couponCode = null;
        return null;
      },
      null,
    );
  }

  /**
   * Reads the D1 rows of the cart's variants (and `extra`'s variants and products) and its coupon,
   * then applies `change`, drops lines whose variant is gone, writes once, and prices the result. The read,
   * change and write after the D1 await run with no await in between, so no other call to this
   * cart interleaves with them (T08). Another call may have run during the D1 await: when it
   * added a line or swapped the coupon the rows do not cover, the whole step runs again under
   * `blockConcurrencyWhile`, where nothing can run during the await (so it always completes).
   */
  private async withPrices(
    extra: Extra,
    change: PricedChange | null,
    couponToLoad?: string | null,
    preloaded?: { ids: Set<string>; rows: PricingRows },
  ): Promise<PricedCartResult> {
    const first = await this.pricedStep(extra, change, couponToLoad, preloaded);
    if (first !== "retry") return first;
    // A throw inside blockConcurrencyWhile would reset the object: errors are carried out instead.
    const outcome = await this.ctx.blockConcurrencyWhile(async () => {
      try {
        return { result: await this.pricedStep(extra, change, couponToLoad) };
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
    extra: Extra,
    change: PricedChange | null,
    couponToLoad: string | null | undefined,
    preloaded?: { ids: Set<string>; rows: PricingRows },
  ): Promise<PricedCartResult | "retry"> {
    const seen = this.getState();
    const ids = preloaded?.ids ?? new Set([...(extra.variantIds ?? []), ...seen.lines.map((l) => l.variantId)]);
    const code = couponToLoad === undefined ? seen.couponCode : couponToLoad;
    // Rows the caller just read for `ids` (the coverage check below still applies to them).
    const rows = preloaded?.rows ?? (await loadPricingRows(getDb(this.env.DB), [...ids], code, Date.now(), extra.productIds ?? []));
    const cart = this.getState();
    const covered =
      cart.lines.every((l) => ids.has(l.variantId) || rows.variants.some((v) => v.variantId === l.variantId)) &&
      (couponToLoad !== undefined || cart.couponCode === code);
    if (!covered) return "retry";
    const variants = new Map(rows.variants.map((r) => [r.variantId, r]));
    const verdict = change ? change(cart, variants, rows.coupon) : "unchanged";
    if (verdict !== null && verdict !== "unchanged") return { ok: false, code: verdict };
    const { cart: priced, goneVariantIds } = priceFromRows(cart, rows, new Date());
    if (verdict === null || goneVariantIds.length > 0) {
      const gone = new Set(goneVariantIds);
      cart.lines = cart.lines.filter((l) => !gone.has(l.variantId));
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
