import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { appJson, appRequest as request, as } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { makeProduct } from "../support/factories";
import { ORIGIN } from "../support/http";

function png(extra = ""): Uint8Array {
  const base = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="), (ch) =>
    ch.charCodeAt(0),
  );
  return new Uint8Array([...base, ...new TextEncoder().encode(extra)]);
}

async function addImage(headers: Record<string, string>, productId: string, alt: string): Promise<Response> {
  const form = new FormData();
  form.set("image", new File([png(crypto.randomUUID())], "p.png", { type: "image/png" }));
  form.set("alt", alt);
  return request(`/admin/products/${productId}/image`, { method: "POST", headers: { ...headers, origin: ORIGIN }, body: form, redirect: "manual" });
}

async function edit(headers: Record<string, string>, productId: string, imageId: string, fields: Record<string, string>): Promise<Response> {
  return request(`/admin/products/${productId}/images/${imageId}`, {
    method: "POST",
    headers: { ...headers, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

async function images(productId: string): Promise<{ id: string; url: string; alt: string }[]> {
  return (await env.DB.prepare("SELECT id, url, alt FROM product_images WHERE product_id = ? ORDER BY position, id").bind(productId).all()).results as never;
}

async function mainImage(productId: string): Promise<string | null> {
  return ((await env.DB.prepare("SELECT image_url FROM products WHERE id = ?").bind(productId).first()) as { image_url: string | null }).image_url;
}

describe("several images per product", () => {
  it("staff add three, set alt text, reorder and remove; image_url is always the first; the shop and the JSON show them", async () => {
    const admin = await as("admin");
    const product = await makeProduct();
    for (const alt of ["Front", "Side", "Back"]) expect((await addImage(admin, product.id, alt)).status).toBe(303);
    let rows = await images(product.id);
    expect(rows.map((r) => r.alt)).toEqual(["Front", "Side", "Back"]);
    expect(await mainImage(product.id)).toBe(rows[0]!.url);

    expect((await edit(admin, product.id, rows[2]!.id, { action: "up" })).status).toBe(303);
    expect((await edit(admin, product.id, rows[2]!.id, { action: "up" })).status).toBe(303);
    rows = await images(product.id);
    expect(rows.map((r) => r.alt)).toEqual(["Back", "Front", "Side"]);
    expect(await mainImage(product.id)).toBe(rows[0]!.url);

    expect((await edit(admin, product.id, rows[1]!.id, { action: "alt", alt: "  Front, in daylight  " })).status).toBe(303);
    expect((await edit(admin, product.id, rows[0]!.id, { action: "remove" })).status).toBe(303);
    rows = await images(product.id);
    expect(rows.map((r) => r.alt)).toEqual(["Front, in daylight", "Side"]);
    expect(await mainImage(product.id)).toBe(rows[0]!.url);

    const page = await (await request(`/products/${product.slug}`)).text();
    expect(page).toContain(`src="${rows[0]!.url}" alt="Front, in daylight"`);
    expect(page).toContain('class="product-thumbs"');
    expect(page).toContain(`<a href="${rows[1]!.url}">`);
    expect(page).toContain('alt="Side"');
    const json = (await (await request(`/api/products/${product.slug}`)).json()) as { imageUrl: string; images: unknown };
    expect(json.imageUrl).toBe(rows[0]!.url);
    expect(json.images).toEqual([
      { url: rows[0]!.url, alt: "Front, in daylight" },
      { url: rows[1]!.url, alt: "Side" },
    ]);
    const staffJson = (await (await request(`/api/admin/products?limit=100`, { headers: admin })).json()) as { items: { id: string; images: unknown }[] };
    expect(staffJson.items.find((p) => p.id === product.id)?.images).toEqual(json.images);

    // The CSV export (Shopify's format) carries every image in order with its alt text.
    const csv = await (await request("/api/admin/product-exports", { headers: admin })).text();
    const mine = csv.split("\n").filter((line) => line.startsWith(`${product.slug},`));
    expect(mine.some((line) => line.includes(`${rows[0]!.url}`) && line.includes("Front, in daylight"))).toBe(true);
    expect(mine.some((line) => line.includes(`${rows[1]!.url}`) && line.includes("Side"))).toBe(true);

    // The last images go: no main image left.
    for (const r of rows) await edit(admin, product.id, r.id, { action: "remove" });
    expect(await images(product.id)).toEqual([]);
    expect(await mainImage(product.id)).toBeNull();
  });

  it("setting imageUrl through the API replaces the first image and keeps the others; null removes it", async () => {
    const admin = await as("admin");
    const product = await makeProduct({ imageUrl: "/images/mug.svg" });
    expect((await images(product.id)).map((r) => r.url)).toEqual(["/images/mug.svg"]);
    await addImage(admin, product.id, "Second");
    const res = await appJson("PATCH", `/api/admin/products/${product.id}`, { imageUrl: "/images/teapot.svg" }, admin);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { imageUrl: string; images: { url: string; alt: string }[] };
    expect(body.imageUrl).toBe("/images/teapot.svg");
    expect(body.images.map((i) => i.url)[0]).toBe("/images/teapot.svg");
    expect(body.images[1]!.alt).toBe("Second");
    await appJson("PATCH", `/api/admin/products/${product.id}`, { imageUrl: null }, admin);
    const rows = await images(product.id);
    expect(rows.map((r) => r.alt)).toEqual(["Second"]);
    expect(await mainImage(product.id)).toBe(rows[0]!.url);
  });

  it("a variant keeps its own image: the product page shows it first and the product's images as thumbnails", async () => {
    const admin = await as("admin");
    const product = await makeProduct();
    await addImage(admin, product.id, "Plain");
    await env.DB.prepare("UPDATE product_variants SET image_url = '/images/teapot.svg' WHERE id = ?").bind(product.variantId).run();
    const { forgetCatalogVersion } = await import("../../src/catalog/page-cache");
    forgetCatalogVersion();
    const page = await (await request(`/products/${product.slug}`)).text();
    expect(page).toContain('src="/images/teapot.svg"');
    expect(page).toContain('alt="Plain"');
  });

  it("P03 stored XSS in alt text: markup in the alt is stored as text and escaped on the shop's page and the staff page", async () => {
    const admin = await as("admin");
    const product = await makeProduct();
    const hostile = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
    expect((await addImage(admin, product.id, hostile)).status).toBe(303);
    const [row] = await images(product.id);
    expect(row!.alt).toBe(hostile);
    for (const html of [
      await (await request(`/products/${product.slug}`)).text(),
      await (await request(`/admin/products/${product.id}`, { headers: admin })).text(),
    ]) {
      expect(html).not.toContain("<script>alert(1)");
      expect(html).not.toContain("onerror=alert(2)>");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
  });

  it("P16 support and shoppers cannot add, edit or remove images; cross-site posts are refused; nothing changes", async () => {
    const admin = await as("admin");
    const product = await makeProduct();
    await addImage(admin, product.id, "Kept");
    const [row] = await images(product.id);
    const staff = { support: await as("support"), customer: await as("customer") };
    const other = await makeProduct();
    const auditBefore = await lastAuditId();
    const objects = (await env.PRODUCT_IMAGES.list()).objects.map((o) => o.key);
    for (const role of ["support", "customer"] as const) {
      const who = staff[role];
      expect((await addImage(who, product.id, "Mine")).status).toBe(403);
      expect((await edit(who, product.id, row!.id, { action: "remove" })).status).toBe(403);
      expect((await edit(who, product.id, row!.id, { action: "alt", alt: "Changed" })).status).toBe(403);
    }
    const crossSite = await request(`/admin/products/${product.id}/images/${row!.id}`, {
      method: "POST",
      headers: { ...admin, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "action=remove",
      redirect: "manual",
    });
    expect(crossSite.status).toBe(403);
    // Another product's image id through this product's path: not found, nothing moves.
    expect((await edit(admin, other.id, row!.id, { action: "remove" })).headers.get("location")).toContain("image_error=image_not_found");
    expect(await images(product.id)).toEqual([row]);
    expect((await auditRowsAfter(auditBefore)).filter((r) => r.action.startsWith("product."))).toEqual([]);
    expect((await env.PRODUCT_IMAGES.list()).objects.map((o) => o.key)).toEqual(objects);
  });

  it("alt text over 300 characters and unknown actions are refused; nothing changes", async () => {
    const admin = await as("admin");
    const product = await makeProduct();
    await addImage(admin, product.id, "Short");
    const [row] = await images(product.id);
    const auditBefore = await lastAuditId();
    expect((await edit(admin, product.id, row!.id, { action: "alt", alt: "x".repeat(301) })).headers.get("location")).toContain(
      "image_error=validation_failed",
    );
    expect((await edit(admin, product.id, row!.id, { action: "delete-all" })).headers.get("location")).toContain("image_error=validation_failed");
    expect((await addImage(admin, product.id, "y".repeat(301))).headers.get("location")).toContain("image_error=validation_failed");
    expect(await images(product.id)).toEqual([row]);
    expect(await lastAuditId()).toBe(auditBefore);
  });
});
