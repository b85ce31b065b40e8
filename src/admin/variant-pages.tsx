import { Hono } from "hono";
import type { Context } from "hono";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { decimalAmount, minorUnits } from "../web/format";
import { clientIp, staffUser } from "./guard";
import { mailLowStockAlerts } from "./low-stock";
import type { AdminProduct } from "./products";
import { findProductWithVariants, forgetCatalogCopies } from "./products";
import { addVariantAudited, setOptionsAudited, updateVariantAudited } from "./product-variants";
import { OptionsSchema, VariantCreateBody, VariantPatchBody } from "./variant-routes";

// The staff product page's variants (decision 025): options as lines of text ("Color: Green, Navy"),
// a form per variant (price, stock on hand, SKU, threshold…) and one to add a variant. Each form
// goes through the API's own schema and functions, so the page and the API follow one set of rules.

/** Options as staff type them: one per line, "Name: value, value". */
export function optionsText(options: AdminProduct["options"]): string {
  return options.map((o) => `${o.name}: ${o.values.join(", ")}`).join("\n");
}

function parseOptionsText(text: string): unknown {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = "", values = ""] = line.split(/:(.*)/s);
      return {
        name: name.trim(),
        values: values
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean),
      };
    });
}

/** A decimal amount typed by staff in minor units; "" is null; anything else NaN (the API's schema refuses it). */
function amount(raw: string | undefined, currency: string): number | null {
  if (raw === undefined || raw.trim() === "") return null;
  return minorUnits(raw, currency) ?? Number.NaN;
}
function whole(raw: string | undefined): number | null {
  if (raw === undefined || raw.trim() === "") return null;
  return /^\d{1,7}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
}
function text(raw: string | undefined): string | null {
  return raw === undefined || raw.trim() === "" ? null : raw.trim();
}

/** The fields of a variant form as the API's body (option values from o1–o3 by the product's options). */
function variantBody(form: Record<string, string>, product: { currency: string; options: AdminProduct["options"] }) {
  const options = Object.fromEntries(product.options.map((o, i) => [o.name, form[`o${i + 1}`] ?? ""]));
  return {
    sku: text(form.sku),
    options,
    priceCents: amount(form.price, product.currency) ?? Number.NaN,
    compareAtPriceCents: amount(form.compareAt, product.currency),
    stock: whole(form.stock) ?? 0,
    weightGrams: whole(form.weightGrams),
    barcode: text(form.barcode),
    lowStockThreshold: whole(form.lowStockThreshold),
  };
}

/** The variants section of the staff product page. */
export function VariantsSection({ product }: { product: AdminProduct }) {
  const base = `/admin/products/${encodeURIComponent(product.id)}`;
  const money = (cents: number | null) => (cents === null ? "" : decimalAmount(cents, product.currency));
  return (
    <section class="panel staff-variants">
      <h2>Options and variants</h2>
      <form method="post" action={`${base}/options`} class="form">
        <label>
          Options (up to three, one per line: "Color: Green, Navy")
          <textarea name="options" rows={3} maxlength={2000}>
            {optionsText(product.options)}
          </textarea>
        </label>
        <button type="submit" class="secondary">
          Save options
        </button>
      </form>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Variant</th>
              <th scope="col">SKU</th>
              <th scope="col">Price</th>
              <th scope="col">Compare at</th>
              <th scope="col">On hand</th>
              <th scope="col">Low stock at</th>
              <th scope="col">
                <span class="visually-hidden">Save</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {product.variants.map((v) => {
              const formId = `variant-${v.id}`;
              return (
                <tr>
                  <td>
                    {Object.values(v.options).join(" / ") || "Default"}
                    <form id={formId} method="post" action={`${base}/variants/${encodeURIComponent(v.id)}`} />
                    {product.options.map((o, i) => (
                      <input type="hidden" form={formId} name={`o${i + 1}`} value={v.options[o.name] ?? ""} />
                    ))}
                    <div class="muted">
                      {v.held} held · {v.sellable} sellable
                    </div>
                  </td>
                  <td>
                    <input form={formId} name="sku" maxlength={100} value={v.sku ?? ""} aria-label="SKU" size={10} />
                  </td>
                  <td>
                    <input form={formId} name="price" inputmode="decimal" required value={money(v.priceCents)} aria-label="Price" size={6} />
                  </td>
                  <td>
                    <input form={formId} name="compareAt" inputmode="decimal" value={money(v.compareAtPriceCents)} aria-label="Compare-at price" size={6} />
                  </td>
                  <td>
                    <input form={formId} name="stock" type="number" min={0} value={String(v.stock)} aria-label="On hand" />
                  </td>
                  <td>
                    <input
                      form={formId}
                      name="lowStockThreshold"
                      type="number"
                      min={0}
                      value={v.lowStockThreshold === null ? "" : String(v.lowStockThreshold)}
                      aria-label="Low-stock threshold"
                    />
                  </td>
                  <td>
                    <button type="submit" form={formId} class="secondary">
                      Save
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {product.options.length > 0 ? (
        <form method="post" action={`${base}/variants`} class="form">
          <h3>Add a variant</h3>
          {product.options.map((o, i) => (
            <label>
              {o.name}{" "}
              <select name={`o${i + 1}`}>
                {o.values.map((value) => (
                  <option value={value}>{value}</option>
                ))}
              </select>
            </label>
          ))}
          <label>
            SKU <input name="sku" maxlength={100} />
          </label>
          <label>
            Price <input name="price" inputmode="decimal" required />
          </label>
          <label>
            On hand <input name="stock" type="number" min={0} value="0" />
          </label>
          <button type="submit">Add variant</button>
        </form>
      ) : null}
    </section>
  );
}

/** Runs a variant form; a refusal goes back to the product page with its message. */
async function formAction(
  c: Context<AppEnv>,
  run: (product: NonNullable<Awaited<ReturnType<typeof findProductWithVariants>>>) => Promise<void>,
): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const db = getDb(c.env.DB);
  const product = await findProductWithVariants(db, id);
  if (!product) throw new ProblemError(404, "product_not_found", "No product has this id.");
  const back = `/admin/products/${encodeURIComponent(id)}`;
  try {
    await run(product);
  } catch (error) {
    if (error instanceof ProblemError && error.status < 500) return c.redirect(`${back}?variant_error=${encodeURIComponent(error.detail ?? error.code)}`, 303);
    throw error;
  }
  forgetCatalogCopies(c.env.DB);
  c.executionCtx.waitUntil(mailLowStockAlerts(c.env));
  return c.redirect(back, 303);
}

function checked<T>(result: { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }): T {
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ProblemError(422, "validation_failed", issue ? `${issue.path.map(String).join(".") || "form"}: ${issue.message}` : "The form breaks a rule.");
}

/** Staff form handlers for options and variants (mounted inside `adminPages`, after its staff guard). */
export const variantPages = new Hono<AppEnv>()
  .post("/admin/products/:id/options", async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string>;
    return formAction(c, async (product) => {
      const options = checked(OptionsSchema.safeParse(parseOptionsText(String(form.options ?? ""))));
      await setOptionsAudited(
        c.env,
        getDb(c.env.DB),
        { id: staffUser(c).id, ip: clientIp(c) },
        { productId: product.row.id, before: product.options, variants: product.variants, options },
      );
    });
  })
  .post("/admin/products/:id/variants", async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string>;
    return formAction(c, async (product) => {
      const fields = checked(VariantCreateBody.safeParse(variantBody(form, { currency: product.row.currency, options: product.options })));
      await addVariantAudited(
        c.env,
        getDb(c.env.DB),
        { id: staffUser(c).id, ip: clientIp(c) },
        { productId: product.row.id, currency: product.row.currency, options: product.options, fields },
      );
    });
  })
  .post("/admin/products/:id/variants/:variantId", async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string>;
    return formAction(c, async (product) => {
      const patch = checked(VariantPatchBody.safeParse(variantBody(form, { currency: product.row.currency, options: product.options })));
      const updated = await updateVariantAudited(
        c.env,
        getDb(c.env.DB),
        { id: staffUser(c).id, ip: clientIp(c) },
        {
          productId: product.row.id,
          currency: product.row.currency,
          options: product.options,
          variantId: c.req.param("variantId"),
          patch,
        },
      );
      if (!updated) throw new ProblemError(404, "variant_not_found", "This product has no variant with this id.");
    });
  });
