import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { listProductImages } from "../catalog/product-images";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { Layout } from "../web/layout";
import { firstIssue } from "./forms";
import { clientIp, staffUser } from "./guard";
import { ImagesSection, imageMessage, readImageForm, storeFormImage } from "./image-pages";
import { VariantsSection } from "./variant-pages";
import { money, StaffNav } from "./page-parts";
import { AltText, currencyChoice, ProductCreateForm, ProductForm, ProductPatchForm, typedValues, type TypedValues } from "./product-form";
import { editProductImage } from "./product-images";
import { createProductAudited, findAdminProduct, listAllProducts, updateProductAudited } from "./products";

/** The new-product form again, with what staff typed and why it was refused. */
async function newProductAgain(c: Context<AppEnv>, typed: TypedValues, error: string, status: 409 | 413 | 415 | 422) {
  return c.html(
    <Layout title="Staff: new product">
      <StaffNav />
      <h1>New product</h1>
      <ProductForm action="/admin/products" error={error} typed={typed} currency={await currencyChoice(c.env)} />
    </Layout>,
    status,
  );
}

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
        <ProductForm action="/admin/products" currency={await currencyChoice(c.env)} />
      </Layout>,
    );
  })
  .post("/admin/products", async (c) => {
    // Multipart (the form may carry an image): read with the body capped, then checked by the API's schema.
    const form = await readImageForm(c);
    if (form === "image_too_large") return newProductAgain(c, {}, imageMessage(form), 413);
    const typed = typedValues(form);
    const parsed = ProductCreateForm.safeParse(typed);
    if (!parsed.success) return newProductAgain(c, typed, firstIssue(parsed.error), 422);
    const alt = AltText.safeParse(typed.imageAlt ?? "");
    if (!alt.success) return newProductAgain(c, typed, "imageAlt: at most 300 characters.", 422);
    const db = getDb(c.env.DB);
    const actor = { id: staffUser(c).id, ip: clientIp(c) };
    let row: Awaited<ReturnType<typeof createProductAudited>>;
    try {
      // The image is stored first: a refused image refuses the product, nothing half-made.
      const uploaded = await storeFormImage(c.env.PRODUCT_IMAGES, form.get("image"));
      // Kept with the form if the product is refused below: staff need not choose the file again.
      if (uploaded) typed.imageUrl = uploaded;
      row = await createProductAudited(c.env, db, actor, { ...parsed.data, imageUrl: uploaded ?? parsed.data.imageUrl });
    } catch (error) {
      // An image that is not one, a price the provider cannot charge in its currency, or a currency the shop does not sell in.
      if (error instanceof ProblemError && (error.status === 413 || error.status === 415))
        return newProductAgain(c, typed, imageMessage(error.code), error.status);
      if (error instanceof ProblemError && error.status === 422) return newProductAgain(c, typed, error.detail ?? error.code, 422);
      throw error;
    }
    if (row === "slug_taken") return newProductAgain(c, typed, "Another product has this slug: choose another (what you typed is kept).", 409);
    const [first] = row.imageUrl && alt.data ? await listProductImages(db, row.id) : [];
    if (first) await editProductImage(c.env, db, actor, row.id, first.id, { kind: "alt", alt: alt.data });
    return c.redirect(`/admin/products/${encodeURIComponent(row.id)}`, 303);
  })
  .get("/admin/products/:id", async (c) => {
    const db = getDb(c.env.DB);
    const product = await findAdminProduct(db, c.req.param("id"));
    if (!product) throw new ProblemError(404, "product_not_found", "No product has this id.");
    const action = `/admin/products/${encodeURIComponent(product.id)}`;
    return c.html(
      <Layout title={`Staff: ${product.name}`}>
        <StaffNav />
        <h1>{product.name}</h1>
        <ProductForm product={product} action={action} currency={await currencyChoice(c.env)} />
        {c.req.query("variant_error") ? <p role="alert">{c.req.query("variant_error")?.slice(0, 300)}</p> : null}
        <VariantsSection product={product} />
        <ImagesSection productId={product.id} images={await listProductImages(db, product.id)} error={c.req.query("image_error")?.slice(0, 40)} />
      </Layout>,
    );
  })
  .post(
    "/admin/products/:id",
    zValidator("form", ProductPatchForm, async (result, hookContext) => {
      if (result.success) return;
      const c = hookContext as unknown as Context<AppEnv>;
      return editAgain(c, typedValues(await c.req.parseBody()), firstIssue(result.error), 422);
    }),
    async (c) => {
      const id = c.req.param("id");
      const typed = typedValues(await c.req.parseBody());
      let after: Awaited<ReturnType<typeof updateProductAudited>>;
      try {
        after = await updateProductAudited(c.env, getDb(c.env.DB), { id: staffUser(c).id, ip: clientIp(c) }, id, c.req.valid("form"));
      } catch (error) {
        if (error instanceof ProblemError && (error.code === "stock_below_held" || error.status === 422)) {
          return editAgain(c, typed, error.detail ?? error.code, error.status === 422 ? 422 : 409);
        }
        throw error;
      }
      if (after === "slug_taken") return editAgain(c, typed, "Another product has this slug: choose another (what you typed is kept).", 409);
      if (!after) throw new ProblemError(404, "product_not_found", "No product has this id.");
      return c.redirect(`/admin/products/${encodeURIComponent(id)}`, 303);
    },
  );

/** The edit form again, with what staff typed and why it was refused. */
async function editAgain(c: Context<AppEnv>, typed: TypedValues, error: string, status: 409 | 422) {
  const id = c.req.param("id") ?? "";
  const current = await findAdminProduct(getDb(c.env.DB), id);
  if (!current) throw new ProblemError(404, "product_not_found", "No product has this id.");
  return c.html(
    <Layout title="Staff: edit">
      <StaffNav />
      <h1>{current.name}</h1>
      <ProductForm product={current} action={`/admin/products/${encodeURIComponent(id)}`} error={error} typed={typed} currency={await currencyChoice(c.env)} />
    </Layout>,
    status,
  );
}
