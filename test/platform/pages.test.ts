import { describe, expect, it } from "vitest";
import { makeProduct, unique } from "../support/factories";
import { ORIGIN, request } from "../support/http";

/** The JSON-LD blocks of a page, parsed. */
function jsonLd(html: string): Record<string, unknown>[] {
  return [...html.matchAll(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/g)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
}

describe("pages for browsers and search engines", () => {
  it("every kind of page starts with <!DOCTYPE html> (standards mode)", async () => {
    const product = await makeProduct();
    for (const path of ["/", "/?q=mug", `/products/${product.slug}`, "/security", "/no/such/page", "/cart", "/sign-in", "/api/docs", "/admin/products"]) {
      const html = await (await request(path)).text();
      expect(html.slice(0, 15), path).toBe("<!DOCTYPE html>");
    }
  });

  it("a product page has its canonical URL, Open Graph tags and schema.org Product JSON-LD with the catalog's price", async () => {
    const product = await makeProduct({ name: `Lamp ${unique("og")}`, priceCents: 4250, currency: "USD", imageUrl: "/images/lamp.svg", stock: 0 });
    const html = await (await request(`/products/${product.slug}`)).text();
    const url = `${ORIGIN}/products/${product.slug}`;
    expect(html).toContain(`<link rel="canonical" href="${url}"/>`);
    expect(html).toContain(`<meta property="og:type" content="product"/>`);
    expect(html).toContain(`<meta property="og:url" content="${url}"/>`);
    expect(html).toContain(`<meta property="og:image" content="${ORIGIN}/images/lamp.svg"/>`);
    expect(html).toContain(`<meta property="og:title" content="${product.name}"/>`);
    expect(jsonLd(html)).toEqual([
      expect.objectContaining({
        "@context": "https://schema.org",
        "@type": "Product",
        name: product.name,
        sku: product.id,
        url,
        image: `${ORIGIN}/images/lamp.svg`,
        offers: { "@type": "Offer", url, price: "42.50", priceCurrency: "USD", availability: "https://schema.org/OutOfStock" },
      }),
    ]);
  });

  it("P03 XSS: product text in JSON-LD cannot close its script element", async () => {
    const product = await makeProduct({ name: `</script><script>alert(1)</script> ${unique("x")}` });
    const html = await (await request(`/products/${product.slug}`)).text();
    const block = /<script type="application\/ld\+json">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(block).not.toContain("<");
    expect((JSON.parse(block) as { name: string }).name).toBe(product.name);
  });

  it("the home page is canonical and searches are kept out of search engines", async () => {
    const home = await (await request("/")).text();
    expect(home).toContain(`<link rel="canonical" href="${ORIGIN}/"/>`);
    expect(home).not.toContain(`name="robots"`);
    const search = await (await request("/?q=mug")).text();
    expect(search).toContain(`<meta name="robots" content="noindex"/>`);
    expect(search).not.toContain(`rel="canonical"`);
  });

  it("robots.txt points to the sitemap and keeps private areas out; sitemap.xml lists visible products only", async () => {
    const robots = await request("/robots.txt");
    expect(robots.status).toBe(200);
    const text = await robots.text();
    expect(text).toContain(`Sitemap: ${ORIGIN}/sitemap.xml`);
    for (const path of ["/api/", "/admin", "/account", "/cart", "/checkout"]) expect(text).toContain(`Disallow: ${path}\n`);
    const shown = await makeProduct();
    const hidden = await makeProduct({ hidden: true });
    const sitemap = await request("/sitemap.xml");
    expect(sitemap.status).toBe(200);
    expect(sitemap.headers.get("content-type")).toContain("application/xml");
    const xml = await sitemap.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<urlset xmlns="http:\/\/www.sitemaps.org\/schemas\/sitemap\/0.9">/);
    expect(xml).toContain(`<loc>${ORIGIN}/</loc>`);
    expect(xml).toMatch(new RegExp(`<url><loc>${ORIGIN}/products/${shown.slug}</loc><lastmod>\\d{4}-\\d{2}-\\d{2}T[^<]+</lastmod></url>`));
    expect(xml).not.toContain(hidden.slug);
  });

  it("the 401 page links to the sign-in page", async () => {
    const res = await request("/admin/products");
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain(`<a class="button" href="/sign-in">Sign in</a>`);
  });
});

describe("money in the currency's own minor units", () => {
  it("formats and reads amounts with each currency's exponent: USD 2 decimals, JPY none, KWD 3", async () => {
    const { formatMoney, minorUnits, decimalAmount } = await import("../../src/web/format");
    expect(formatMoney(1999, "USD")).toBe("$19.99");
    expect(formatMoney(500, "JPY")).toBe("¥500");
    expect(formatMoney(1234, "KWD").replace(/\s/g, " ")).toBe("KWD 1.234");
    expect(minorUnits("19.99", "USD")).toBe(1999);
    expect(minorUnits("19,5", "EUR")).toBe(1950);
    expect(minorUnits("500", "JPY")).toBe(500);
    expect(minorUnits("5.5", "JPY")).toBeNull();
    expect(minorUnits("1.2345", "USD")).toBeNull();
    expect(minorUnits("-1", "USD")).toBeNull();
    expect(decimalAmount(500, "JPY")).toBe("500");
  });
});
