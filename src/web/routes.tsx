import { Hono } from "hono";
import {
  CATALOG_SORTS,
  CATEGORY_PATTERN,
  decodeCursor,
  findProductBySlug,
  listCategories,
  listProducts,
  normaliseListing,
  selectVisibleProducts,
} from "../catalog/queries";
import { sharedCatalogAnswer, sharedKeyOf } from "../catalog/page-cache";
import { serveProductImage } from "../catalog/images";
import { SLUG_PATTERN } from "../catalog/routes";
import { getDb } from "../db/client";
import { deliveryEstimate, offeredRates } from "../shipping/checkout-pricing";
import { formatMoney } from "./format";
import type { AppEnv } from "../platform/app-env";
import { chooseVariant } from "../catalog/variants";
import { CatalogPage, MessagePage, ProductPage } from "./pages";
import { PAGE_CACHE_CONTROL, sharedPageKey } from "./shared-pages";
import { shopInfoPages } from "./shop-pages";
import { SecurityPage } from "./security-page";

/** Server-rendered storefront pages. */
export const storefront = new Hono<AppEnv>()
  // Product images staff uploaded (R2), from our own origin: the CSP stays `img-src 'self'`.
  .on(["GET", "HEAD"], "/media/*", async (c, next) => {
    const res = await serveProductImage(c.env.PRODUCT_IMAGES, c.req.path, c.req.header("if-none-match") ?? null);
    return res ?? next();
  })
  .get("/", async (c) => {
    const q = (c.req.query("q") ?? "").slice(0, 200).trim() || undefined;
    // A filter we could not have linked to is no filter (a page, not an API: no 400 for a typo).
    const rawCategory = c.req.query("category") ?? "";
    const category = rawCategory.length <= 40 && CATEGORY_PATTERN.test(rawCategory) ? rawCategory : undefined;
    const rawSort = c.req.query("sort");
    const sort = rawSort === "relevance" ? "relevance" : CATALOG_SORTS.find((s) => s === rawSort);
    const rawCursor = c.req.query("cursor");
    const cursor = rawCursor ? decodeCursor(rawCursor) : null;
    const origin = c.get("config").PUBLIC_ORIGIN;
    const resizing = c.get("config").IMAGE_RESIZING === "cloudflare";
    // The catalog's pages are the same for every visitor: shared through the page cache (decision
    // 017), one key per meaningful page, rendered from the normalised listing the key names.
    const listing = normaliseListing({ q, category, sort, cursor });
    const key = sharedKeyOf(`${sharedPageKey(resizing)}/home`, {
      q: listing.q,
      category: listing.category,
      sort: listing.sort,
      cursor: listing.cursorText,
    });
    const answer = await sharedCatalogAnswer(c, { key, kind: "html", browser: PAGE_CACHE_CONTROL }, async (db) => {
      const [page, categories] = await Promise.all([listProducts(db, { ...listing, limit: 24 }), listCategories(db)]);
      return String(
        <CatalogPage {...page} q={listing.q} category={listing.category} sort={listing.sort} categories={categories} origin={origin} resizing={resizing} />,
      );
    });
    return answer ?? c.notFound();
  })
  .get("/products/:slug", async (c) => {
    const slug = c.req.param("slug");
    const origin = c.get("config").PUBLIC_ORIGIN;
    const resizing = c.get("config").IMAGE_RESIZING === "cloudflare";
    // The options a shopper chose without JavaScript (o1–o3). Only values of the product reach the
    // page, so the shared key holds a choice, never what a client typed: a value the product does
    // not have renders as not asked (the page says which values it shows).
    const asked = [c.req.query("o1"), c.req.query("o2"), c.req.query("o3")].map((v) => (v !== undefined && v.length <= 100 ? v : undefined));
    const choiceKey = asked.some((v) => v !== undefined) ? `?o=${asked.map((v) => encodeURIComponent(v ?? "")).join("&")}` : "";
    const answer = SLUG_PATTERN.test(slug)
      ? await sharedCatalogAnswer(
          c,
          { key: `${sharedPageKey(resizing)}/products/${slug}${choiceKey}`, kind: "html", browser: PAGE_CACHE_CONTROL },
          async (db) => {
            const product = await findProductBySlug(db, slug);
            if (!product) return null;
            // Anything that is not one of the product's values is not cached under its own key.
            const choice = chooseVariant(product, asked);
            if (choiceKey && !asked.every((v, i) => v === undefined || v === choice.values[i])) return null;
            // Shipping rate changes change the catalog version too (migration low_stock_pages), so the estimate is never stale.
            const price = choice.variant?.priceCents ?? product.priceCents;
            const delivery = (await offeredRates(db, product.currency, price)).map((rate) => ({
              name: rate.name,
              estimate: deliveryEstimate(rate),
              price: rate.amountCents === 0 ? "free" : formatMoney(rate.amountCents, rate.currency),
            }));
            return String(<ProductPage product={product} origin={origin} resizing={resizing} choice={choice} delivery={delivery} />);
          },
        )
      : null;
    // A choice the product cannot show (or a gone product) starts over at the plain page.
    if (!answer && choiceKey) return c.redirect(`/products/${slug}`, 303);
    return answer ?? c.html(<MessagePage status={404} title="Not found" message="We could not find that product. It may have been removed." />, 404);
  })
  .get("/security", (c) => c.html(<SecurityPage origin={c.var.config.PUBLIC_ORIGIN} />))
  .route("/", shopInfoPages)
  .get("/robots.txt", (c) => {
    const origin = c.var.config.PUBLIC_ORIGIN;
    c.header("cache-control", "public, max-age=3600");
    // Carts, accounts, staff pages, checkout and the API are nobody's search result.
    const disallow = ["/api/", "/admin", "/account", "/cart", "/checkout", "/orders", "/sign-in", "/sign-up", "/dev/"];
    return c.text(`User-agent: *\n${disallow.map((p) => `Disallow: ${p}`).join("\n")}\n\nSitemap: ${origin}/sitemap.xml\n`);
  })
  .get("/sitemap.xml", async (c) => {
    const origin = c.var.config.PUBLIC_ORIGIN;
    // Visible products only (the catalog's one query filters hidden ones, P04); 50,000 is a sitemap's limit.
    const rows = await selectVisibleProducts(getDb(c.env.DB), undefined, { limit: 49_998 });
    const url = (loc: string, lastmod?: string): string =>
      `<url><loc>${escapeXml(loc)}</loc>${lastmod ? `<lastmod>${escapeXml(lastmod)}</lastmod>` : ""}</url>`;
    const body = [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`,
      url(`${origin}/`),
      url(`${origin}/security`),
      ...["shipping", "returns", "privacy", "terms", "contact"].map((page) => url(`${origin}/${page}`)),
      ...rows.map((p) => url(`${origin}/products/${encodeURIComponent(p.slug)}`, p.updatedAt)),
      `</urlset>`,
    ].join("\n");
    return c.body(body, 200, { "content-type": "application/xml; charset=utf-8", "cache-control": "public, max-age=3600" });
  });

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
