import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetCatalogVersion, SHARED_VALUE_LIMITS, sharedKeyOf } from "../../src/catalog/page-cache";
import { encodeCursor } from "../../src/catalog/queries";
import worker from "../../src/index";
import { BOOKMARK_COOKIE, isBookmark } from "../../src/platform/d1-session";
import { appJson as sendJson, appRequest as request, as } from "../support/admin";
import { signUpAndSignIn } from "../support/accounts";
import { guestCart } from "../support/cart";
import { makeProduct, unique } from "../support/factories";
import { ORIGIN } from "../support/http";

async function catalogVersion(): Promise<string> {
  const row = await env.DB.prepare("SELECT version FROM catalog_state WHERE id = 1").first<{ version: string }>();
  return row!.version;
}

const source = (res: Response): string | null => res.headers.get("x-bastion-cache");

describe("shared catalog answers: Cache API and isolate memory keyed by the catalog version (decision 017)", () => {
  it("serves a product page rendered once: a miss, then from memory, with an ETag a browser revalidates (304)", async () => {
    const product = await makeProduct({ name: unique("Cached lamp") });
    const first = await request(`/products/${product.slug}`);
    expect(first.status).toBe(200);
    expect(source(first)).toBe("miss");
    const body = await first.text();
    expect(body).toContain(product.name);
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[0-9a-f]{8}-[0-9a-f]{16}"$/);
    expect(first.headers.get("cache-control")).toBe("public, max-age=0, must-revalidate");

    const second = await request(`/products/${product.slug}`);
    expect(source(second)).toBe("memory");
    // Another isolate (or this one after a restart) finds it in Cloudflare's cache.
    forgetCatalogVersion();
    const fromEdge = await request(`/products/${product.slug}`);
    expect([source(fromEdge), fromEdge.headers.get("etag")]).toEqual(["edge", etag]);
    expect(await fromEdge.text()).toBe(body);
    expect(await second.text()).toBe(body);
    const revalidated = await request(`/products/${product.slug}`, { headers: { "if-none-match": etag! } });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe("");
    // The security headers still apply to a shared answer (the middleware adds them to each response).
    expect(second.headers.get("content-security-policy")).toContain("default-src");
  });

  it("the catalog JSON is shared too, its own way for browsers (max-age=30) and per query", async () => {
    const product = await makeProduct({ name: unique("Cached kettle") });
    const search = `/api/products?q=${encodeURIComponent(product.name)}`;
    const first = await request(search);
    expect([first.status, source(first), first.headers.get("cache-control")]).toEqual([200, "miss", "public, max-age=30"]);
    expect(((await first.json()) as { items: { id: string }[] }).items.map((p) => p.id)).toEqual([product.id]);
    expect(source(await request(search))).toBe("memory");
    expect(source(await request(`${search}&limit=5`))).toBe("miss");
    const single = await request(`/api/products/${product.slug}`);
    expect([single.status, source(single)]).toEqual([200, "miss"]);
  });

  it("every product change a page shows gives the catalog a new version (triggers), whoever writes, stock only at or below the low-stock level; other writes do not", async () => {
    const product = await makeProduct({ stock: 20 });
    const v0 = await catalogVersion();
    const sell = (stock: number) =>
      env.DB.prepare("UPDATE product_variants SET stock = ?, stock_reason = 'sale', stock_actor = 'test' WHERE id = ?").bind(stock, product.variantId).run();
    await sell(6);
    expect(await catalogVersion()).toBe(v0); // a sale that leaves more than a few: pages show the same
    await sell(5);
    const low = await catalogVersion();
    expect(low).not.toBe(v0); // "Only 5 left"
    await sell(4);
    const lower = await catalogVersion();
    expect(lower).not.toBe(low); // "Only 4 left"
    await sell(0);
    const v1 = await catalogVersion();
    expect(v1).not.toBe(lower); // sold out
    await env.DB.prepare("UPDATE product_variants SET price_cents = price_cents + 1 WHERE id = ?").bind(product.variantId).run();
    const v2 = await catalogVersion();
    expect(v2).not.toBe(v1);
    await env.DB.prepare("UPDATE products SET status = 'draft' WHERE id = ?").bind(product.id).run();
    const v3 = await catalogVersion();
    expect(v3).not.toBe(v2);
    // What a product page shows of its variants: a SKU, an option's values.
    await env.DB.prepare("UPDATE product_variants SET sku = ? WHERE id = ?").bind(`SKU-${product.id}`, product.variantId).run();
    const v4 = await catalogVersion();
    expect(v4).not.toBe(v3);
    await env.DB.prepare("INSERT INTO product_options (product_id, position, name, \"values\") VALUES (?, 1, 'Size', '[\"M\"]')").bind(product.id).run();
    expect(await catalogVersion()).not.toBe(v4);
  });

  it("P04 a product staff hide or reprice leaves every shared page on the next request, and staff read their own write", async () => {
    const admin = await as("admin");
    const product = await makeProduct({ name: `!!! ${unique("first")}`, priceCents: 1500 });
    expect(await (await request(`/products/${product.slug}`)).text()).toContain("$15.00");
    expect(await (await request("/")).text()).toContain(product.name);
    expect(await (await request(`/api/products/${product.slug}`)).json()).toMatchObject({ priceCents: 1500 });

    const reprice = await sendJson("PATCH", `/api/admin/products/${product.id}`, { priceCents: 2500 }, admin);
    expect(reprice.status).toBe(200);
    // The staff member carries a bookmark of the primary taken after the write (read-your-writes).
    expect(reprice.headers.getSetCookie().some((line) => line.startsWith(`${BOOKMARK_COOKIE}=`))).toBe(true);
    const page = await request(`/products/${product.slug}`);
    expect(source(page)).toBe("miss");
    expect(await page.text()).toContain("$25.00");
    expect(await (await request(`/api/products/${product.slug}`)).json()).toMatchObject({ priceCents: 2500 });

    const hide = await sendJson("PATCH", `/api/admin/products/${product.id}`, { hidden: true }, admin);
    expect(hide.status).toBe(200);
    expect((await request(`/products/${product.slug}`)).status).toBe(404);
    expect((await request(`/api/products/${product.slug}`)).status).toBe(404);
    expect(await (await request("/")).text()).not.toContain(product.name);
    const list = (await (await request("/api/products?limit=100")).json()) as { items: { id: string }[] };
    expect(list.items.map((p) => p.id)).not.toContain(product.id);
  });

  it("P12 shared cache: a signed-in visitor's page is neither served from nor stored in the shared cache", async () => {
    const shopper = await signUpAndSignIn();
    const product = await makeProduct({ name: unique("Private view") });
    const signedIn = await request(`/products/${product.slug}`, { headers: { cookie: shopper.cookie } });
    expect(signedIn.status).toBe(200);
    expect(source(signedIn)).toBe("bypass");
    expect(signedIn.headers.get("cache-control")).toBe("private, no-store");
    expect(signedIn.headers.get("etag")).toBeNull();
    // Nothing was kept from it: the first anonymous visitor renders the page anew.
    const anonymous = await request(`/products/${product.slug}`);
    expect(source(anonymous)).toBe("miss");
    // And a signed-in visitor never gets the shared copy either.
    expect(source(await request(`/products/${product.slug}`, { headers: { cookie: shopper.cookie } }))).toBe("bypass");
  });

  it("P12 shared cache: no Set-Cookie, request id, cart state or CSRF material is ever stored with a shared answer", async () => {
    const product = await makeProduct({ name: unique("Clean copy") });
    const cart = guestCart();
    // A visitor with a cart (whose cookie the page never reads) fills the shared copy.
    const withCart = await request(`/products/${product.slug}`, { headers: { cookie: cart.cookie } });
    expect(source(withCart)).toBe("miss");
    expect(withCart.headers.getSetCookie()).toEqual([]);
    const version = await catalogVersion();
    // What Cloudflare's cache holds for this version: look it up the way the worker does.
    const stored = await findStored(version, `/products/${product.slug}`);
    expect(stored).not.toBeNull();
    expect(stored!.headers.get("set-cookie")).toBeNull();
    expect(stored!.headers.get("x-request-id")).toBeNull();
    // Only what the worker set (cache-control, content-type, etag) and what the cache adds itself.
    const added = new Set(["age", "cf-cache-status", "content-length", "date"]);
    expect([...stored!.headers.keys()].filter((k) => !added.has(k)).sort()).toEqual(["cache-control", "content-type", "etag"]);
    const html = await stored!.text();
    expect(html).not.toContain(cart.id);
    expect(html).not.toMatch(/csrf|data-cart-count="\d/i);
    // Pages that are someone's own are never shared: no cache marker, never public.
    for (const path of ["/cart", "/account", "/sign-in"]) {
      const res = await request(path, { headers: { cookie: cart.cookie } });
      expect(source(res), path).toBeNull();
      expect(res.headers.get("cache-control") ?? "", path).not.toContain("public");
    }
  });

  it("read-your-writes: the bookmark cookie starts the next request's D1 session, a visitor without one reads any replica", async () => {
    const admin = await as("admin");
    const product = await makeProduct({ priceCents: 900 });
    const patch = await sendJson("PATCH", `/api/admin/products/${product.id}`, { priceCents: 950 }, admin);
    const line = patch.headers.getSetCookie().find((l) => l.startsWith(`${BOOKMARK_COOKIE}=`))!;
    expect(line).toMatch(/HttpOnly/i);
    expect(line).toMatch(/Secure/i);
    const bookmark = line.slice(BOOKMARK_COOKIE.length + 1).split(";")[0]!;
    // A real D1 bookmark: a session from it sees the write.
    const session = env.DB.withSession(bookmark);
    expect(await session.prepare("SELECT price_cents AS p FROM products WHERE id = ?").bind(product.id).first()).toEqual({ p: 950 });

    const constraints: string[] = [];
    const recordingEnv = {
      ...env,
      DB: new Proxy(env.DB, {
        get(target, prop) {
          if (prop === "withSession") {
            return (constraint: string) => {
              constraints.push(constraint);
              return target.withSession(constraint);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    } as Env;
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const get = (cookie?: string) =>
      worker.fetch(
        new Request(`${ORIGIN}/products/${product.slug}`, { headers: { "cf-connecting-ip": "2001:db8::77", ...(cookie ? { cookie } : {}) } }),
        recordingEnv,
        ctx,
      );
    const mine = await get(`${BOOKMARK_COOKIE}=${bookmark}`);
    expect(await mine.text()).toContain("$9.50");
    expect(constraints).toEqual([bookmark]);
    // A forged or garbled bookmark is never handed to D1.
    constraints.length = 0;
    await get(`${BOOKMARK_COOKIE}=${encodeURIComponent("x'; DROP TABLE products;--")}`);
    expect(constraints.every((c) => c !== "x'; DROP TABLE products;--")).toBe(true);
    // Nor a session constraint: `first-primary` in the cookie would send an anonymous visitor's reads to the primary.
    expect(bookmark).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
    // (An all-digit bookmark is its own upper case: that case is left out, not "forged".)
    const upper = bookmark.toUpperCase() === bookmark ? [] : [bookmark.toUpperCase()];
    for (const forged of ["first-primary", "first-unconstrained", ...upper, `${bookmark}0`, bookmark.slice(1)]) {
      expect(isBookmark(forged), forged).toBe(false);
      constraints.length = 0;
      expect((await get(`${BOOKMARK_COOKIE}=${forged}`)).status).toBe(200);
      expect(constraints, forged).not.toContain(forged);
    }
    expect(isBookmark(bookmark)).toBe(true);
  });
});

/** The Cache API entry the worker stored for a page (its key: origin, version, build, path). */
async function findStored(version: string, path: string): Promise<Response | null> {
  const { ASSETS } = await import("../../src/web/asset-manifest");
  const build = `${ASSETS.css.path}${ASSETS.js.path}`.replace(/[^a-zA-Z0-9]/g, "");
  // Then the shop settings' version (decision 024; none saved in this storage: "default").
  // Page keys end with the shopper's locale (decision 018); these requests send none: en-US.
  return (await caches.default.match(`${ORIGIN}/_shared/${version}/${build}~default${path}|en-US`)) ?? null;
}

describe("shared keys are bounded: one key per meaningful page (normalised, sorted, length-capped)", () => {
  it("sharedKeyOf names the parameters in order, leaves out empty ones, and refuses unknown or over-long ones", () => {
    expect(sharedKeyOf("api/products", { sort: "newest", q: "lamp", cursor: undefined, category: "", limit: "24" })).toBe(
      "api/products?limit=24&q=lamp&sort=newest",
    );
    expect(sharedKeyOf("home", {})).toBe("home");
    expect(sharedKeyOf("home", { utm_source: "mail" })).toBeNull();
    expect(sharedKeyOf("home", { q: "x".repeat(SHARED_VALUE_LIMITS.q!) })).not.toBeNull();
    expect(sharedKeyOf("home", { q: "x".repeat(SHARED_VALUE_LIMITS.q! + 1) })).toBeNull();
    expect(sharedKeyOf("home", { cursor: "c".repeat(SHARED_VALUE_LIMITS.cursor! + 1) })).toBeNull();
  });

  it("spellings of one search, parameter order, unknown parameters and a cursor of another order share one answer", async () => {
    const name = unique("Bounded Lamp");
    const product = await makeProduct({ name });
    const first = await request(`/api/products?q=${encodeURIComponent(name.toLowerCase())}&limit=5`);
    expect([first.status, source(first)]).toEqual([200, "miss"]);
    const body = await first.text();
    expect(body).toContain(product.id);
    const otherOrder = encodeCursor({ sort: "price-asc", key: 100, id: "prd_x", offset: 24 });
    for (const spelling of [
      `/api/products?limit=5&q=${encodeURIComponent(`  ${name.toUpperCase()}  `)}`,
      `/api/products?q=${encodeURIComponent(name.replace(" ", " \t "))}&limit=5&utm_source=mail&fbclid=abc`,
      `/api/products?limit=5&q=${encodeURIComponent(name)}`,
    ]) {
      const res = await request(spelling);
      expect([res.status, source(res)], spelling).toEqual([200, "memory"]);
      expect(await res.text()).toBe(body);
    }
    // A search's default order is relevance (decision 026); a cursor of another order than the one asked starts over.
    const byPrice = await request(`/api/products?q=${encodeURIComponent(name)}&limit=5&sort=price-desc`);
    expect(source(byPrice)).toBe("miss");
    const withOtherCursor = await request(`/api/products?sort=price-desc&q=${encodeURIComponent(name)}&limit=5&cursor=${otherOrder}`);
    expect([withOtherCursor.status, source(withOtherCursor)]).toEqual([200, "memory"]);
    // The storefront page too: it shows the search as it is matched.
    const page = await request(`/?q=${encodeURIComponent(name)}`);
    expect(source(page)).toBe("miss");
    expect(await page.text()).toContain(`value="${name.toLowerCase()}"`);
    expect(source(await request(`/?utm_campaign=x&q=${encodeURIComponent(`${name.toUpperCase()} `)}`))).toBe("memory");
  });

  it("a search or cursor longer than a key may be is answered but never shared", async () => {
    const product = await makeProduct({ name: unique("Long search kettle") });
    const long = `${product.name} ${"x".repeat(80)}`;
    for (let i = 0; i < 2; i++) {
      const res = await request(`/api/products?q=${encodeURIComponent(long)}`);
      expect([res.status, source(res), res.headers.get("cache-control")]).toEqual([200, "bypass", "private, no-store"]);
    }
    const cursor = encodeCursor({ sort: "name", key: "z".repeat(250), id: "prd_zzz", offset: 24 });
    expect(cursor.length).toBeGreaterThan(SHARED_VALUE_LIMITS.cursor!);
    const paged = await request(`/api/products?cursor=${cursor}`);
    expect([paged.status, source(paged)]).toEqual([200, "bypass"]);
    const page = await request(`/?q=${encodeURIComponent(long)}`);
    expect([page.status, source(page)]).toEqual([200, "bypass"]);
  });
});
