import type { Product } from "../catalog/queries";
import type { VariantChoice } from "../catalog/variants";
import { formatMoney } from "./format";

// The product page's choice of options (decision 025). Without JavaScript the selects post with
// the add-to-cart form (the server finds the variant from the values), and "Check availability"
// reloads the page for the chosen values (GET, o1–o3). With our script (app.js) the price, the
// availability and the button follow the selects at once, from `data-variants`.

/** The variants as app.js needs them: id, values in option order, formatted price, availability. */
function variantData(product: Product): string {
  return JSON.stringify(
    product.variants.map((v) => ({
      id: v.id,
      values: product.options.map((o) => v.options[o.name] ?? ""),
      price: formatMoney(v.priceCents, product.currency),
      compareAt: v.compareAtPriceCents !== null && v.compareAtPriceCents > v.priceCents ? formatMoney(v.compareAtPriceCents, product.currency) : "",
      inStock: v.inStock,
      lowStock: v.lowStock,
      sku: v.sku ?? "",
    })),
  );
}

/** "In stock", "Only 3 left" or "Out of stock" (app.js says the same). */
function availabilityText(v: { inStock: boolean; lowStock: number | null }): string {
  return !v.inStock ? "Out of stock" : v.lowStock !== null ? `Only ${v.lowStock} left` : "In stock";
}

/** Price, "was" price, availability and SKU of the chosen variant (or "not available"). */
export function VariantSummary({ product, choice }: { product: Product; choice: VariantChoice }) {
  const v = choice.variant;
  const compareAt = v && v.compareAtPriceCents !== null && v.compareAtPriceCents > v.priceCents ? v.compareAtPriceCents : null;
  const status = !v ? "unavailable" : !v.inStock ? "out" : v.lowStock !== null ? "low" : "in";
  return (
    <>
      <p class="price">
        <span data-variant-price>{formatMoney(v?.priceCents ?? product.priceCents, product.currency)}</span>{" "}
        <s class="compare-at" data-variant-compare-at>
          {compareAt !== null ? formatMoney(compareAt, product.currency) : ""}
        </s>
      </p>
      <p class={status === "unavailable" ? "stock out" : `stock ${status}`} data-stock data-variant-status role="status">
        {v === null ? "This combination is not available." : availabilityText(v)}
      </p>
      <p class="sku muted" data-variant-sku>
        {v?.sku ? `SKU ${v.sku}` : ""}
      </p>
    </>
  );
}

/** The add-to-cart form with a select per option. */
export function AddToCartForm({ product, choice }: { product: Product; choice: VariantChoice }) {
  const v = choice.variant;
  const buyable = v?.inStock === true;
  return (
    <form class="add-to-cart" method="post" action="/cart/items" data-add-to-cart data-variants={variantData(product)}>
      <input type="hidden" name="productId" value={product.id} />
      {product.options.length === 0 && v ? <input type="hidden" name="variantId" value={v.id} /> : null}
      {product.options.length > 0 ? (
        <div class="variant-options">
          {product.options.map((option, i) => (
            <label class="variant-option">
              <span>{option.name}</span>
              <select name={`o${i + 1}`} data-option-index={String(i)}>
                {option.values.map((value) => (
                  <option value={value} selected={choice.values[i] === value}>
                    {value}
                  </option>
                ))}
              </select>
            </label>
          ))}
          <button type="submit" class="secondary" formmethod="get" formaction={`/products/${product.slug}`} data-check-availability>
            Check availability
          </button>
        </div>
      ) : null}
      <label for="qty">Quantity</label>
      <input id="qty" name="quantity" type="number" min="1" max="99" value="1" inputmode="numeric" />
      <button type="submit" disabled={!buyable} data-add-button>
        {buyable ? "Add to cart" : v ? "Sold out" : "Not available"}
      </button>
      <p class="form-message" role="status" aria-live="polite"></p>
      <a class="button secondary view-cart" href="/cart" data-view-cart hidden>
        View cart
      </a>
    </form>
  );
}
