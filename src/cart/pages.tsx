import { zValidator } from "@hono/zod-validator";
import { z } from "@hono/zod-openapi";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { formatMoney } from "../web/format";
import { currentShopSettings } from "../settings/shop-settings";
import { Layout } from "../web/layout";
import { resolveCart, type Cart, type CartItem } from "./cart";
import { getSessionUser } from "../accounts/session";
import { variantIdForOptions } from "../catalog/pricing-queries";
import { optionsLabel, variantTitle } from "../catalog/variants";
import { getDb } from "../db/client";
import { checkoutTotalCents, deliveryEstimate, offeredRates, type OfferedRate } from "../shipping/checkout-pricing";
import { MAX_QUANTITY } from "./line-rules";
import { promotedCart, type CartPromotions } from "./cart-promotions";
import { MailboxProofPanel, PROOF_MESSAGES } from "./mailbox-proof-pages";
import { PromotionsPanel } from "./promotions-panel";
import { promotionCustomer, type PromotionCustomer } from "./promotion-identity";
import { addToCart, applyCartCoupon, COUPON_MESSAGES, readCart, removeCartCoupon, removeFromCart, setCartQuantity } from "./operations";

/**
 * What the page may say after a redirect. The query string only ever carries one of these keys,
 * and the page shows our fixed text for it: nothing from the request is echoed.
 */
const MESSAGES: Record<string, { text: string; error: boolean }> = {
  added: { text: "Added to your cart.", error: false },
  updated: { text: "Your cart was updated.", error: false },
  removed: { text: "The item was removed.", error: false },
  coupon_applied: { text: "Coupon applied.", error: false },
  coupon_removed: { text: "Coupon removed.", error: false },
  cart_full: { text: "A cart holds at most 50 different products.", error: true },
  cart_item_not_found: { text: "That product is not in your cart.", error: true },
  product_not_found: { text: "That product is no longer available.", error: true },
  out_of_stock: { text: "That product is out of stock.", error: true },
  currency_mismatch: { text: "That product is priced in another currency than your cart.", error: true },
  validation_failed: { text: "Quantities are whole numbers from 1 to 99.", error: true },
  ...Object.fromEntries(Object.entries(COUPON_MESSAGES).map(([code, text]) => [code, { text, error: true }])),
  ...PROOF_MESSAGES,
  checkout_in_progress: { text: "A checkout for this cart is already in progress.", error: true },
  cart_empty: { text: "Your cart is empty.", error: true },
  shipping_rate_required: { text: "Choose how your order is shipped.", error: true },
  shipping_rate_invalid: { text: "That shipping rate is no longer offered; choose another.", error: true },
  email_required: { text: "Give the email address your receipt should go to.", error: true },
  currency_not_accepted: { text: "This shop does not sell in your cart's currency.", error: true },
  variant_required: { text: "Choose the options of that product first.", error: true },
  variant_not_found: { text: "That combination of options is not available.", error: true },
};

// Form fields are strings: a quantity is 1–2 digits, then 1–99 (P13). Nothing else is read.
const FormQuantity = z
  .string()
  .trim()
  .regex(/^\d{1,2}$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(MAX_QUANTITY));
const FormProductId = z.string().min(1).max(100);
const FormOptionValue = z.string().max(100).optional();
/** The product page's form: a variant id (a product without options), or the option values chosen in its selects. */
const AddForm = z.object({
  productId: FormProductId,
  variantId: FormProductId.optional(),
  o1: FormOptionValue,
  o2: FormOptionValue,
  o3: FormOptionValue,
  quantity: FormQuantity,
});
const QuantityForm = z.object({ quantity: FormQuantity });
const CouponForm = z.object({ code: z.string().min(1).max(64) });

/** What the checkout form offers: the shop's rates for this cart, and whether the shopper is a guest. */
interface CheckoutChoices {
  rates: OfferedRate[];
  /** The rate checked on the page (the first, or the one `?rate=` names); its shipping is in the total shown. */
  chosenRateId: string | null;
  guest: boolean;
  /** STRIPE_TAX=automatic: the payment page adds tax, the cart says so. */
  taxAtPayment: boolean;
  /** A fresh key per rendered form: a double submit or a retried post is the same checkout. */
  idempotencyKey: string;
}

function CheckoutForm({ cart, choices, money }: { cart: Cart; choices: CheckoutChoices; money: (cents: number) => string }) {
  return (
    <form method="post" action="/checkout" class="form checkout-form">
      <input type="hidden" name="idempotencyKey" value={choices.idempotencyKey} />
      {choices.rates.length > 0 ? (
        <fieldset>
          <legend>Shipping</legend>
          {choices.rates.map((rate) => {
            const estimate = deliveryEstimate(rate);
            return (
              <label class="choice">
                {/* The page's script swaps the totals above to this rate's (the same amounts checkout charges). */}
                <input
                  type="radio"
                  name="shippingRateId"
                  value={rate.id}
                  checked={rate.id === choices.chosenRateId}
                  required
                  data-shipping-text={rate.amountCents === 0 ? "Free" : money(rate.amountCents)}
                  data-shipping-name={rate.name}
                  data-total-text={money(checkoutTotalCents(cart.totalCents, rate.amountCents))}
                />
                <span>
                  {rate.name} — <strong>{rate.amountCents === 0 ? "Free" : money(rate.amountCents)}</strong>
                  {estimate ? <span class="muted"> ({estimate})</span> : null}
                  {rate.freeAboveCents !== null && rate.amountCents > 0 ? <span class="muted"> · free from {money(rate.freeAboveCents)}</span> : null}
                </span>
              </label>
            );
          })}
          <p class="muted">You give the delivery address on the payment page.</p>
        </fieldset>
      ) : null}
      {choices.guest ? (
        <>
          <label for="checkout-email">Email for your receipt</label>
          <input id="checkout-email" name="email" type="email" autocomplete="email" maxlength={254} required />
          <p class="muted">
            No account needed. Already have one? <a href="/sign-in?next=/cart">Sign in</a> to keep your orders together.
          </p>
        </>
      ) : null}
      <button type="submit" disabled={cart.items.length === 0}>
        Checkout
      </button>
    </form>
  );
}

/** One cart line, stacked so it fits a phone: thumbnail, name and unit price, line total, then the quantity stepper and Remove. */
function CartLine({ item, money }: { item: CartItem; money: (cents: number) => string }) {
  const action = `/cart/items/${encodeURIComponent(item.variantId)}`;
  const optionText = optionsLabel(item.options);
  // Two sizes of one shirt are two lines: their buttons must not share a name.
  const label = variantTitle(item.name, item.options);
  return (
    <li class="cart-line" data-line={item.variantId}>
      <div class="cart-thumb">
        {item.imageUrl ? <img src={item.imageUrl} alt="" width="64" height="48" loading="lazy" decoding="async" /> : <span class="placeholder" />}
      </div>
      <div class="cart-line-info">
        <a class="cart-line-name" href={`/products/${item.slug}`}>
          {item.name}
        </a>
        {optionText ? <span class="muted">{optionText}</span> : null}
        <span class="muted">{money(item.unitPriceCents)} each</span>
      </div>
      <p class="cart-line-total" data-line-total>
        {money(item.lineTotalCents)}
      </p>
      <div class="cart-line-actions">
        <div class="stepper">
          <form method="post" action={`${action}/quantity`}>
            <input type="hidden" name="quantity" value={String(item.quantity - 1)} />
            <button type="submit" class="secondary step" aria-label={`One fewer ${label}`} disabled={item.quantity <= 1}>
              −
            </button>
          </form>
          <form method="post" action={`${action}/quantity`} class="stepper-value">
            <label class="visually-hidden" for={`qty-${item.variantId}`}>
              Quantity of {label}
            </label>
            <input
              id={`qty-${item.variantId}`}
              name="quantity"
              type="number"
              min="1"
              max={String(MAX_QUANTITY)}
              value={String(item.quantity)}
              inputmode="numeric"
            />
            <button type="submit" class="secondary">
              Update
            </button>
          </form>
          <form method="post" action={`${action}/quantity`}>
            <input type="hidden" name="quantity" value={String(item.quantity + 1)} />
            <button type="submit" class="secondary step" aria-label={`One more ${label}`} disabled={item.quantity >= MAX_QUANTITY}>
              +
            </button>
          </form>
        </div>
        <form method="post" action={`${action}/remove`}>
          <button type="submit" class="link-button" aria-label={`Remove ${label}`}>
            Remove
          </button>
        </form>
      </div>
    </li>
  );
}

function CartPage(props: {
  cart: Cart;
  message: { text: string; error: boolean } | null;
  choices: CheckoutChoices;
  customer: PromotionCustomer | null;
  promotions: CartPromotions;
}) {
  const { cart, message, choices } = props;
  // An empty cart has no currency of its own: it shows the shop's default (settings).
  const currency = cart.items.length > 0 ? cart.currency : currentShopSettings().defaultCurrency;
  const money = (cents: number) => formatMoney(cents, currency);
  const chosen = choices.rates.find((r) => r.id === choices.chosenRateId) ?? null;
  return (
    <Layout title="Your cart">
      <h1 class="page-title">Your cart</h1>
      {message ? (
        <p class={message.error ? "form-message error" : "form-message ok"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      ) : null}
      {cart.items.length === 0 ? (
        <div class="empty">
          <p>Your cart is empty.</p>
          <p>
            <a class="button" href="/">
              Continue shopping
            </a>
          </p>
        </div>
      ) : (
        <section class="panel">
          <ul class="cart-lines" aria-label="Items in your cart">
            {cart.items.map((item) => (
              <CartLine item={item} money={money} />
            ))}
          </ul>
        </section>
      )}
      <section class="panel">
        <h2>Coupon</h2>
        {cart.coupon ? (
          <form method="post" action="/cart/coupon/remove" class="form">
            <p>
              Coupon <strong>{cart.coupon.code}</strong>: −{money(cart.coupon.discountCents)}
            </p>
            <button type="submit" class="secondary">
              Remove coupon
            </button>
          </form>
        ) : (
          <form method="post" action="/cart/coupon" class="form">
            {cart.couponNotice ? <p class="error-text">{COUPON_MESSAGES[cart.couponNotice]}</p> : null}
            <label for="coupon-code">Coupon code</label>
            <input id="coupon-code" name="code" type="text" maxlength={64} autocomplete="off" required />
            <button type="submit">Apply</button>
          </form>
        )}
      </section>
      <PromotionsPanel promotions={props.promotions} currency={cart.currency} />
      {cart.items.length > 0 ? <MailboxProofPanel customer={props.customer} signedIn={!props.choices.guest} /> : null}
      <section class="panel cart-totals">
        <dl>
          <dt>Subtotal</dt>
          <dd data-subtotal>{money(cart.subtotalCents)}</dd>
          {/* No "Discount −$0.00" line for a cart without one. */}
          {cart.coupon && cart.coupon.discountCents > 0 ? (
            <>
              <dt>Discount</dt>
              <dd data-discount>−{money(cart.coupon.discountCents)}</dd>
            </>
          ) : null}
          {cart.promotion ? (
            <>
              <dt>Promotion ({cart.promotion.name})</dt>
              <dd data-promotion-discount>−{money(cart.promotion.discountCents)}</dd>
            </>
          ) : null}
          {chosen ? (
            <>
              <dt>
                Shipping (<span data-shipping-name>{chosen.name}</span>)
              </dt>
              <dd data-shipping>{chosen.amountCents === 0 ? "Free" : money(chosen.amountCents)}</dd>
            </>
          ) : null}
          {choices.taxAtPayment && cart.items.length > 0 ? (
            <>
              <dt>Tax</dt>
              <dd data-tax>Calculated at payment</dd>
            </>
          ) : null}
          <dt>Total</dt>
          <dd data-total>
            <strong>{money(checkoutTotalCents(cart.totalCents, chosen?.amountCents ?? 0))}</strong>
          </dd>
        </dl>
        {cart.items.length > 0 ? <CheckoutForm cart={cart} choices={choices} money={money} /> : null}
      </section>
    </Layout>
  );
}

/**
 * The forms on this page post without cookies the first time (a guest's first "Add to cart"),
 * which the global CSRF check lets through; these handlers also require our own origin so another
 * site cannot fill a visitor's cart by making their browser post a form.
 */
function requireSameOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header("origin");
  const ok = origin !== undefined ? origin === c.var.config.PUBLIC_ORIGIN : c.req.header("sec-fetch-site") === "same-origin";
  if (!ok) throw new ProblemError(403, "csrf_origin_mismatch", "This request did not come from the shop's own pages.");
}

/** Runs a form action, then sends the shopper back to the cart with a message key (303). */
async function formAction(c: Context<AppEnv>, action: () => Promise<unknown>, success: string): Promise<Response> {
  requireSameOrigin(c);
  try {
    await action();
    return c.redirect(`/cart?m=${success}`, 303);
  } catch (error) {
    if (error instanceof ProblemError && MESSAGES[error.code]) return c.redirect(`/cart?m=${error.code}`, 303);
    throw error;
  }
}

/** The form's fields by `schema` (@hono/zod-validator); a form that breaks it goes back to the cart with a message. */
const cartForm = <T extends z.ZodType>(schema: T) =>
  zValidator("form", schema, (result, c) => {
    if (result.success) return;
    // The validator's hook sees Hono's generic context; this app's is AppEnv (the config it needs).
    requireSameOrigin(c as unknown as Context<AppEnv>);
    return c.redirect("/cart?m=validation_failed", 303);
  });

/** The cart page and its no-JS form handlers (each answers 303 back to /cart). */
export const cartPages = new Hono<AppEnv>()
  .get("/cart", async (c) => {
    const key = c.req.query("m");
    const message = key !== undefined && Object.hasOwn(MESSAGES, key) ? MESSAGES[key]! : null;
    const [priced, user] = await Promise.all([readCart(c), getSessionUser(c)]);
    // A cart with items has a well-formed owner already: resolving it again creates nothing.
    const ref = priced.items.length > 0 ? await resolveCart(c, { create: false }) : null;
    const customer = ref ? await promotionCustomer(c, ref) : null;
    // The automatic discount is in the cart's totals from here on (decision 030), as checkout will charge it.
    const { cart, promotions } = await promotedCart(c, priced, { customer });
    const offered = cart.items.length > 0 ? await offeredRates(getDb(c.env.DB), cart.currency, cart.totalCents) : [];
    // A free-shipping promotion makes every rate free at checkout (checkout-steps.ts): the cart says so, so its total is what is charged.
    const freeShipping = promotions.applied.some((p) => p.kind === "free_shipping");
    const rates = freeShipping ? offered.map((r) => ({ ...r, amountCents: 0 })) : offered;
    // The checked rate: the one the page was asked for (a link back from elsewhere), else the first.
    const asked = c.req.query("rate");
    const chosenRateId = (rates.find((r) => r.id === asked) ?? rates[0])?.id ?? null;
    const choices: CheckoutChoices = {
      rates,
      chosenRateId,
      guest: user === null,
      taxAtPayment: c.var.config.STRIPE_TAX === "automatic",
      idempotencyKey: crypto.randomUUID(),
    };
    return c.html(<CartPage cart={cart} message={message} choices={choices} customer={customer} promotions={promotions} />);
  })
  .post("/cart/items", cartForm(AddForm), (c) =>
    formAction(
      c,
      async () => {
        const { productId, variantId, o1, o2, o3, quantity } = c.req.valid("form");
        // Without JavaScript the selects post their values: the variant is the one D1 sells for them.
        const chosen = variantId ?? (o1 !== undefined ? await variantIdForOptions(getDb(c.env.DB), productId, [o1, o2 ?? "", o3 ?? ""]) : undefined);
        if (chosen === null) throw new ProblemError(404, "variant_not_found", "That combination of options is not available.");
        return addToCart(c, { productId, variantId: chosen, quantity });
      },
      "added",
    ),
  )
  .post("/cart/items/:productId/quantity", cartForm(QuantityForm), (c) =>
    formAction(c, () => setCartQuantity(c, c.req.param("productId"), c.req.valid("form").quantity), "updated"),
  )
  .post("/cart/items/:productId/remove", (c) => formAction(c, () => removeFromCart(c, c.req.param("productId")), "removed"))
  .post("/cart/coupon", cartForm(CouponForm), (c) => formAction(c, () => applyCartCoupon(c, c.req.valid("form").code), "coupon_applied"))
  .post("/cart/coupon/remove", (c) => formAction(c, () => removeCartCoupon(c), "coupon_removed"));
