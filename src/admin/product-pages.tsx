import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { decimalAmount, minorUnits } from "../web/format";
import { Layout } from "../web/layout";
import { firstIssue, formInto } from "./forms";
import { clientIp, staffUser } from "./guard";
import { ImageUploadForm } from "./image-pages";
import { VariantsSection } from "./variant-pages";
import { money, StaffNav } from "./page-parts";
import { ProductCreateBody, ProductPatchBody } from "./product-routes";
import { createProductAudited, findAdminProduct, listAllProducts, updateProductAudited, type AdminProduct } from "./products";

function ProductForm(props: { product?: AdminProduct; action: string; error?: string }) {
  const p = props.product;
  return (
    <form method="post" action={props.action} class="form">
      {props.error ? <p role="alert">{props.error}</p> : null}
      <label>
        Slug <input name="slug" required pattern="[a-z0-9]+(-[a-z0-9]+)*" maxlength={120} value={p?.slug ?? ""} />
      </label>
      <label>
        Name <input name="name" required maxlength={200} value={p?.name ?? ""} />
      </label>
      <label>
        Description{" "}
        <textarea name="description" maxlength={5000}>
          {p?.description ?? ""}
        </textarea>
      </label>
      {p && (p.options.length > 0 || p.variants.length > 1) ? (
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
          <input name="price" inputmode="decimal" pattern="[0-9]+([.,][0-9]{1,3})?" required value={p ? decimalAmount(p.priceCents, p.currency) : ""} />
        </label>
      )}
      <label>
        Currency <input name="currency" pattern="[A-Z]{3}" value={p?.currency ?? "USD"} />
      </label>
      {p && (p.options.length > 0 || p.variants.length > 1) ? null : (
        <label>
          On hand (units on the shelf) <input name="stock" type="number" min={0} step={1} value={String(p?.stock ?? 0)} />
        </label>
      )}
      {p ? (
        <p class="hint" data-stock-held={p.held} data-stock-sellable={p.sellable}>
          {p.held} held by unpaid orders · {p.sellable} sellable. Count what is on the shelf: held units are on it until their orders close.
        </p>
      ) : null}
      <label>
        Image (a path on this shop: an upload below, or /images/…){" "}
        <input name="imageUrl" type="text" maxlength={300} pattern="/(media|images)/.+" value={p?.imageUrl ?? ""} />
      </label>
      <label>
        Category (e.g. kitchen; blank for none) <input name="category" maxlength={40} pattern="[a-z0-9]+(-[a-z0-9]+)*" value={p?.category ?? ""} />
      </label>
      <label>
        Stripe Tax code (blank: the account's default) <input name="taxCode" maxlength={13} pattern="txcd_[0-9]{8}" value={p?.taxCode ?? ""} />
      </label>
      <label>
        <input name="hidden" type="checkbox" value="on" checked={p?.hidden ?? false} /> Hidden from shoppers
      </label>
      <button type="submit">{p ? "Save" : "Create"}</button>
    </form>
  );
}

/** Turns a product form into the API's body: only known fields, numbers as numbers. */
/**
 * The product form as a browser posts it (text fields; the checkbox "on" or absent), turned into
 * the API's body, which the API's own schema then checks: one set of rules for both.
 */
const ProductFormFields = z
  .object({
    slug: z.string().default(""),
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
    return {
      slug: f.slug,
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
const ProductCreateForm = formInto(ProductFormFields, ProductCreateBody);
const ProductPatchForm = formInto(ProductFormFields, ProductPatchBody);

/** Staff pages for products (admin). Mounted inside `adminPages`, after its staff guard. */
export const productPages = new Hono<AppEnv>()
  .get("/admin/products", async (c) => {
    const cursor = c.req.query("cursor")?.slice(0, 200) ?? null;
    const page = await listAllProducts(getDb(c.env.DB), cursor, 50);
    return c.html(
      <Layout title="Staff: products">
        <StaffNav />
        <h1>Products</h1>
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Slug</th>
              <th scope="col">Price</th>
              <th scope="col">Stock</th>
              <th scope="col">Visible</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((p) => (
              <tr>
                <td>{p.name}</td>
                <td>{p.slug}</td>
                <td>{money(p.priceCents, p.currency)}</td>
                <td>
                  {p.stock}
                  {p.held > 0 ? ` (${p.held} held)` : ""}
                </td>
                <td>{p.hidden ? "hidden" : "visible"}</td>
                <td>
                  <a href={`/admin/products/${encodeURIComponent(p.id)}`}>Edit</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.nextCursor ? <a href={`/admin/products?cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</a> : null}
        <h2>New product</h2>
        <ProductForm action="/admin/products" />
      </Layout>,
    );
  })
  .post(
    "/admin/products",
    zValidator("form", ProductCreateForm, (result, c) => {
      if (!result.success)
        return c.html(
          <Layout title="Staff: new product">
            <StaffNav />
            <ProductForm action="/admin/products" error={firstIssue(result.error)} />
          </Layout>,
          422,
        );
    }),
    async (c) => {
      let row: Awaited<ReturnType<typeof createProductAudited>>;
      try {
        row = await createProductAudited(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, c.req.valid("form"));
      } catch (error) {
        // A price the provider cannot charge in its currency, or a currency the shop does not sell in.
        if (error instanceof ProblemError && error.status === 422) {
          return c.html(
            <Layout title="Staff: new product">
              <StaffNav />
              <ProductForm action="/admin/products" error={error.detail ?? error.code} />
            </Layout>,
            422,
          );
        }
        throw error;
      }
      if (row === "slug_taken")
        return c.html(
          <Layout title="Staff: new product">
            <StaffNav />
            <ProductForm action="/admin/products" error="Another product has this slug." />
          </Layout>,
          409,
        );
      return c.redirect(`/admin/products/${encodeURIComponent(row.id)}`, 303);
    },
  )
  .get("/admin/products/:id", async (c) => {
    const product = await findAdminProduct(getDb(c.env.DB), c.req.param("id"));
    if (!product) throw new ProblemError(404, "product_not_found", "No product has this id.");
    return c.html(
      <Layout title={`Staff: ${product.name}`}>
        <StaffNav />
        <h1>{product.name}</h1>
        <ProductForm product={product} action={`/admin/products/${encodeURIComponent(product.id)}`} />
        {c.req.query("variant_error") ? <p role="alert">{c.req.query("variant_error")?.slice(0, 300)}</p> : null}
        <VariantsSection product={product} />
        <ImageUploadForm productId={product.id} error={c.req.query("image_error")} />
      </Layout>,
    );
  })
  .post(
    "/admin/products/:id",
    zValidator("form", ProductPatchForm, async (result, hookContext) => {
      if (result.success) return;
      const c = hookContext as unknown as Context<AppEnv>;
      const id = c.req.param("id") ?? "";
      const current = await findAdminProduct(getDb(c.env.DB), id);
      if (!current) throw new ProblemError(404, "product_not_found", "No product has this id.");
      return c.html(
        <Layout title="Staff: edit">
          <StaffNav />
          <ProductForm product={current} action={`/admin/products/${encodeURIComponent(id)}`} error={firstIssue(result.error)} />
        </Layout>,
        422,
      );
    }),
    async (c) => {
      const id = c.req.param("id");
      const db = getDb(c.env.DB);
      const current = await findAdminProduct(db, id);
      if (!current) throw new ProblemError(404, "product_not_found", "No product has this id.");
      const action = `/admin/products/${encodeURIComponent(id)}`;
      let after: Awaited<ReturnType<typeof updateProductAudited>>;
      try {
        after = await updateProductAudited(c.env, db, { id: staffUser(c).id, ip: clientIp(c) }, id, c.req.valid("form"));
      } catch (error) {
        if (error instanceof ProblemError && (error.code === "stock_below_held" || error.status === 422)) {
          return c.html(
            <Layout title="Staff: edit">
              <StaffNav />
              <ProductForm product={current} action={action} error={error.detail ?? error.code} />
            </Layout>,
            error.status === 422 ? 422 : 409,
          );
        }
        throw error;
      }
      if (after === "slug_taken")
        return c.html(
          <Layout title="Staff: edit">
            <StaffNav />
            <ProductForm product={current} action={action} error="Another product has this slug." />
          </Layout>,
          409,
        );
      return c.redirect(action, 303);
    },
  );
