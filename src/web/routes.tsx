import { Hono } from "hono";
import { decodeCursor, findProductBySlug, listProducts } from "../catalog/queries";
import { sharedForAWhile } from "../catalog/first-page";
import { SLUG_PATTERN } from "../catalog/routes";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { CatalogPage, MessagePage, ProductPage } from "./pages";
import { SecurityPage } from "./security-page";

/** Server-rendered storefront pages. */
export const storefront = new Hono<AppEnv>()
  .get("/", async (c) => {
    const q = (c.req.query("q") ?? "").slice(0, 200).trim() || undefined;
    const rawCursor = c.req.query("cursor");
    const cursor = rawCursor ? decodeCursor(rawCursor) : null;
    if (!q && !cursor) {
      // The home page is the same for every visitor: its HTML is shared for a few seconds (decision 008).
      const db = getDb(c.env.DB);
      const html = await sharedForAWhile(c.env.DB, "storefront:home", async () => {
        const page = await listProducts(db, { limit: 24 });
        return String(<CatalogPage items={page.items} q={undefined} nextCursor={page.nextCursor} isFirstPage={true} />);
      });
      return c.html(html);
    }
    const page = await listProducts(getDb(c.env.DB), { q, cursor, limit: 24 });
    return c.html(<CatalogPage items={page.items} q={q} nextCursor={page.nextCursor} isFirstPage={!cursor} />);
  })
  .get("/products/:slug", async (c) => {
    const slug = c.req.param("slug");
    const product = SLUG_PATTERN.test(slug) ? await findProductBySlug(getDb(c.env.DB), slug) : null;
    if (!product) {
      return c.html(<MessagePage status={404} title="Not found" message="We could not find that product. It may have been removed." />, 404);
    }
    return c.html(<ProductPage product={product} />);
  })
  .get("/security", (c) => c.html(<SecurityPage />));
