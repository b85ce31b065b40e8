import { decimalAmount, formatMoney, minorUnits } from "../web/format";
import { Hono, type Context } from "hono";
import { listAuditEvents, openHeadMismatch, recordAuditRestored, verifyAuditLog, type AuditEvent } from "../audit/audit";
import { requireFreshSession } from "../accounts/session";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { Layout } from "../web/layout";
import { firstIssue, formInto } from "./forms";
import { clientIp, staffGuard, staffUser } from "./guard";
import { afterCatalogWrite } from "../catalog/page-cache";
import { createProductAudited, findAdminProduct, listAllProducts, updateProductAudited, type AdminProduct } from "./products";
import { ProductCreateBody, ProductPatchBody } from "./routes";
import { StaffNav, staffPages } from "./staff-pages";
import { ImageUploadForm, imagePages } from "./image-pages";
import { shippingPages } from "./shipping-pages";
import { shippingRatePages } from "./shipping-rate-pages";

function money(cents: number, currency: string): string {
  return formatMoney(cents, currency);
}

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
      <label>
        Price (in the currency below, e.g. 19.99){" "}
        <input name="price" inputmode="decimal" pattern="[0-9]+([.,][0-9]{1,3})?" required value={p ? decimalAmount(p.priceCents, p.currency) : ""} />
      </label>
      <label>
        Currency <input name="currency" pattern="[A-Z]{3}" value={p?.currency ?? "USD"} />
      </label>
      <label>
        On hand (units on the shelf) <input name="stock" type="number" min={0} step={1} value={String(p?.stock ?? 0)} />
      </label>
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

function AuditTable(props: { items: AuditEvent[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">At</th>
          <th scope="col">Actor</th>
          <th scope="col">IP</th>
          <th scope="col">Action</th>
          <th scope="col">Subject</th>
          <th scope="col">Detail</th>
          <th scope="col">Hash</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((e) => (
          <tr>
            <td>{e.id}</td>
            <td>{e.at}</td>
            <td>{e.actor}</td>
            <td>{e.ip ?? ""}</td>
            <td>{e.action}</td>
            <td>{e.subject ?? ""}</td>
            <td>
              <code>{JSON.stringify(e.detail)}</code>
            </td>
            <td>
              <code title={e.hash}>{e.hash.slice(0, 12)}…</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Staff pages (server-rendered, no script): the same guard and the same audited functions as the API. */
export const adminPages = new Hono<AppEnv>();
adminPages.use("/admin", staffGuard);
adminPages.use("/admin/*", staffGuard);
adminPages.use("/admin/products", afterCatalogWrite);
adminPages.use("/admin/products/*", afterCatalogWrite);
// Coupons, orders and users: behind the same guard (registered after it).
adminPages.route("/", staffPages);
adminPages.route("/", imagePages);
adminPages.route("/", shippingPages);
adminPages.route("/", shippingRatePages);

adminPages
  .get("/admin", (c) => c.redirect(staffUser(c).role === "support" ? "/admin/orders" : "/admin/products", 303))
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
  )
  .get("/admin/audit", async (c) => c.html(await AuditPage({ c })))
  // The form twin of POST /api/admin/audit/restored (admin, fresh sign-in).
  .post("/admin/audit/restored", async (c) => {
    const form = await c.req.parseBody();
    const parsed = RestoredNote.safeParse(typeof form.note === "string" ? form.note : "");
    if (!parsed.success) return c.html(await AuditPage({ c, error: "Write what happened, in 1 to 500 characters." }), 422);
    try {
      requireFreshSession(staffUser(c));
      await recordAuditRestored(c.env, { id: staffUser(c).id, ip: clientIp(c) }, parsed.data);
    } catch (error) {
      if (error instanceof ProblemError && error.status < 500) return c.html(await AuditPage({ c, error: error.detail ?? error.code }), error.status);
      throw error;
    }
    return c.redirect("/admin/audit", 303);
  });

const RestoredNote = z.string().trim().min(1).max(500);

/** The audit log page: the verdict, a page of events, and the explanation form while a loss is open. */
async function AuditPage(props: { c: Context<AppEnv>; error?: string }) {
  const { c } = props;
  const raw = Number(c.req.query("cursor") ?? "0");
  const cursor = Number.isSafeInteger(raw) && raw >= 0 ? raw : 0;
  // The open loss is asked for apart from the verdict: a verdict that fails earlier (rows after
  // the log's last event) says nothing of it, and the form must still be offered.
  // A page view verifies from the newest checkpoint (O(new events)); the button checks everything.
  const full = c.req.query("verify") === "full";
  const [page, verdict, loss] = await Promise.all([
    listAuditEvents(c.env.DB, cursor, 100),
    verifyAuditLog(c.env, { from: full ? "genesis" : "checkpoint" }),
    openHeadMismatch(c.env.DB),
  ]);
  return (
    <Layout title="Staff: audit log">
      <StaffNav />
      <h1>Audit log</h1>
      <p
        role="status"
        data-chain={verdict.ok ? "ok" : "broken"}
        data-problem={verdict.ok ? undefined : verdict.code}
        data-verified={full ? "full" : "checkpoint"}
      >
        {verdict.ok
          ? `Chain verified: ${verdict.count} events intact. ${full ? "Every event checked" : "Checked from the newest checkpoint"}; ${verdict.anchoredAt ? `R2 checkpoint at event ${verdict.anchoredAt} matched.` : "no R2 checkpoint yet."}`
          : `Chain BROKEN at event ${verdict.brokenAt}: ${verdict.reason} [${verdict.code}]`}
      </p>
      <form method="get" action="/admin/audit">
        <input type="hidden" name="verify" value="full" />
        <button type="submit">Verify every event</button>
      </form>
      {props.error ? <p role="alert">{props.error}</p> : null}
      {loss ? (
        <form method="post" action="/admin/audit/restored" class="form">
          <p>Once you know what happened, record it: the note is appended as an audit.restored event under your name.</p>
          <label>
            What happened, and what was re-entered
            <textarea name="note" required maxlength={500} rows={3}></textarea>
          </label>
          <button type="submit">Record the explanation</button>
        </form>
      ) : null}
      <AuditTable items={page.items} />
      {page.nextCursor ? <a href={`/admin/audit?cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</a> : null}
    </Layout>
  );
}
