import { z } from "zod";
import { chargeableCurrencies } from "../payments/currency";
import { loadConfig } from "../platform/config";
import { readShopSettings } from "../settings/shop-settings";
import { decimalAmount, minorUnits } from "../web/format";
import { formInto } from "./forms";
import { ProductCreateBody, ProductPatchBody } from "./product-routes";
import type { AdminProduct } from "./products";

/** What the currency select offers: the one currency of a single-currency shop, else every chargeable one; and which is chosen first. */
export interface CurrencyChoice {
  currencies: string[];
  defaultCurrency: string;
}

/** The currencies a product may be priced in here, the shop's default (settings) chosen first. */
export async function currencyChoice(env: Env): Promise<CurrencyChoice> {
  const loaded = loadConfig(env);
  const only = loaded.ok ? loaded.config.SHOP_CURRENCY : undefined;
  if (only) return { currencies: [only], defaultCurrency: only };
  const currencies = chargeableCurrencies();
  const wanted = (await readShopSettings(env.DB)).defaultCurrency;
  return { currencies, defaultCurrency: currencies.includes(wanted) ? wanted : "USD" };
}

/** A posted form's text fields (files left out), to show again what staff typed when it is refused. */
export type TypedValues = Record<string, string>;

export function typedValues(form: FormData | Record<string, unknown>): TypedValues {
  const entries = form instanceof FormData ? [...form.entries()] : Object.entries(form);
  return Object.fromEntries(entries.filter((e): e is [string, string] => typeof e[1] === "string").map(([k, v]) => [k, v.slice(0, 5000)]));
}

/**
 * The product form. `typed` (a refused post) wins over the product's values, so nothing staff
 * typed is lost. A new product's form takes an image file too (multipart), and its slug follows
 * the name as staff type (public/assets/staff.js; the server makes it when left empty).
 */
export function ProductForm(props: {
  product?: AdminProduct;
  action: string;
  error?: string | undefined;
  typed?: TypedValues | undefined;
  currency: CurrencyChoice;
}) {
  const p = props.product;
  const typed = props.typed;
  const value = (name: string, current: string): string => typed?.[name] ?? current;
  const hasVariants = p ? p.options.length > 0 || p.variants.length > 1 : false;
  const currency = value("currency", p?.currency ?? props.currency.defaultCurrency);
  const currencies = props.currency.currencies.includes(currency) ? props.currency.currencies : [currency, ...props.currency.currencies];
  return (
    <form method="post" action={props.action} class="form" enctype={p ? undefined : "multipart/form-data"} data-slug-form={p ? undefined : ""}>
      {props.error ? (
        <p role="alert" class="form-message error">
          {props.error}
        </p>
      ) : null}
      <label>
        Name <input name="name" required maxlength={200} value={value("name", p?.name ?? "")} data-slug-source />
      </label>
      <label>
        Slug (the page's address{p ? "" : "; left empty, made from the name"}){" "}
        <input
          name="slug"
          required={p ? true : undefined}
          pattern="[a-z0-9]+(-[a-z0-9]+)*"
          maxlength={120}
          value={value("slug", p?.slug ?? "")}
          data-slug-target
        />
      </label>
      {p ? null : <input type="hidden" name="slugAuto" value={value("slugAuto", "")} data-slug-auto />}
      <label>
        Description{" "}
        <textarea name="description" maxlength={5000}>
          {value("description", p?.description ?? "")}
        </textarea>
      </label>
      {p && hasVariants ? (
        <>
          {/* Price and stock are each variant's (below); these carry the current values unchanged. */}
          <input type="hidden" name="price" value={decimalAmount(p.priceCents, p.currency)} />
          <input type="hidden" name="stock" value={String(p.stock)} />
          <p class="hint">
            From {decimalAmount(p.priceCents, p.currency)} {p.currency} · {p.stock} on hand in all: price and stock are set on each variant below.
          </p>
        </>
      ) : (
        <label>
          Price (in the currency below, e.g. 19.99){" "}
          <input
            name="price"
            inputmode="decimal"
            pattern="[0-9]+([.,][0-9]{1,3})?"
            required
            value={value("price", p ? decimalAmount(p.priceCents, p.currency) : "")}
          />
        </label>
      )}
      <label>
        Currency{" "}
        <select name="currency">
          {currencies.map((code) => (
            <option value={code} selected={code === currency}>
              {code}
            </option>
          ))}
        </select>
      </label>
      {hasVariants ? null : (
        <label>
          On hand (units on the shelf) <input name="stock" type="number" min={0} step={1} value={value("stock", String(p?.stock ?? 0))} />
        </label>
      )}
      {p ? (
        <p class="hint" data-stock-held={p.held} data-stock-sellable={p.sellable}>
          {p.held} held by unpaid orders · {p.sellable} sellable. Count what is on the shelf: held units are on it until their orders close.
        </p>
      ) : null}
      {p ? (
        <label>
          Main image (a path on this shop: add uploads under Images below, or /images/…){" "}
          <input name="imageUrl" type="text" maxlength={300} pattern="/(media|images)/.+" value={value("imageUrl", p.imageUrl ?? "")} />
        </label>
      ) : (
        <>
          {typed?.imageUrl ? <input type="hidden" name="imageUrl" value={typed.imageUrl} /> : null}
          <label>
            Image (PNG, JPEG, GIF, WebP or AVIF, at most 5 MiB; optional{typed?.imageUrl ? ": the one uploaded is kept unless you choose another" : ""}){" "}
            <input type="file" name="image" accept="image/png,image/jpeg,image/gif,image/webp,image/avif" />
          </label>
          <label>
            Image description (alt text, for people who cannot see it) <input name="imageAlt" maxlength={300} value={value("imageAlt", "")} />
          </label>
        </>
      )}
      <label>
        Category (e.g. kitchen; blank for none){" "}
        <input name="category" maxlength={40} pattern="[a-z0-9]+(-[a-z0-9]+)*" value={value("category", p?.category ?? "")} />
      </label>
      <label>
        Stripe Tax code (blank: the account's default){" "}
        <input name="taxCode" maxlength={13} pattern="txcd_[0-9]{8}" value={value("taxCode", p?.taxCode ?? "")} />
      </label>
      <label class="choice">
        <input name="hidden" type="checkbox" value="on" checked={typed ? typed.hidden === "on" : (p?.hidden ?? false)} /> Hidden from shoppers
      </label>
      <button type="submit">{p ? "Save" : "Create"}</button>
    </form>
  );
}

/** Alt text as staff type it: plain text on one line (it is escaped wherever it is shown). */
export const AltText = z
  .string()
  .max(300)
  .transform((s) => s.replace(/\p{Cc}+/gu, " ").trim());

/**
 * The product form as a browser posts it (text fields; the checkbox "on" or absent), turned into
 * the API's body, which the API's own schema then checks: one set of rules for both. A slug left
 * empty, or the one staff.js made from the name (`slugAuto`), is no slug: the server makes it.
 */
const ProductFormFields = z
  .object({
    slug: z.string().default(""),
    slugAuto: z.string().default(""),
    name: z.string().default(""),
    description: z.string().default(""),
    price: z.string().default(""),
    currency: z.string().default(""),
    stock: z.string().default(""),
    hidden: z.string().optional(),
    imageUrl: z.string().default(""),
    category: z.string().default(""),
    taxCode: z.string().default(""),
  })
  .transform((f) => {
    const currency = f.currency || "USD";
    const slug = f.slug.trim();
    return {
      ...(slug === "" || f.slugAuto === "1" ? {} : { slug }),
      name: f.name,
      description: f.description,
      // Staff type prices as decimals in the currency's own exponent (JPY has none): never cents.
      priceCents: /^[A-Z]{3}$/.test(currency) ? (minorUnits(f.price, currency) ?? Number.NaN) : Number.NaN,
      currency,
      stock: f.stock.trim() === "" ? Number.NaN : Number(f.stock),
      hidden: f.hidden === "on",
      imageUrl: f.imageUrl || null,
      category: f.category.trim() || null,
      taxCode: f.taxCode.trim() || null,
    };
  });
export const ProductCreateForm = formInto(ProductFormFields, ProductCreateBody);
export const ProductPatchForm = formInto(ProductFormFields, ProductPatchBody);
