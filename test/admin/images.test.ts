import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { as, appRequest as request } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { makeProduct } from "../support/factories";
import { ORIGIN } from "../support/http";

/** A tiny valid PNG (1×1, transparent), plus `extra` bytes to make each image unique. */
function png(extra = ""): Uint8Array {
  const base = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="), (ch) =>
    ch.charCodeAt(0),
  );
  const tail = new TextEncoder().encode(extra);
  const out = new Uint8Array(base.length + tail.length);
  out.set(base);
  out.set(tail, base.length);
  return out;
}

function upload(headers: Record<string, string>, body: Uint8Array | string, type = "image/png"): Promise<Response> {
  return request("/api/admin/images", { method: "POST", headers: { ...headers, origin: ORIGIN, "content-type": type }, body });
}

async function storedKeys(): Promise<string[]> {
  return (await env.PRODUCT_IMAGES.list({ prefix: "products/" })).objects.map((o) => o.key).sort();
}

describe("product images in R2", () => {
  it("an admin uploads a PNG: stored once under its content hash, served from our origin with its type and a year of caching", async () => {
    const admin = await as("admin");
    const bytes = png(crypto.randomUUID());
    const res = await upload(admin, bytes, "application/octet-stream");
    expect(res.status).toBe(201);
    const body = (await res.json()) as { url: string; contentType: string; bytes: number };
    expect(body).toMatchObject({ contentType: "image/png", bytes: bytes.length });
    expect(body.url).toMatch(/^\/media\/products\/[0-9a-f]{64}\.png$/);
    expect(((await (await upload(admin, bytes)).json()) as { url: string }).url).toBe(body.url);

    const served = await request(body.url);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    expect(served.headers.get("content-security-policy")).toContain("sandbox");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(bytes);
    const again = await request(body.url, { headers: { "if-none-match": served.headers.get("etag")! } });
    expect(again.status).toBe(304);

    const product = await makeProduct();
    const patched = await request(`/api/admin/products/${product.id}`, {
      method: "PATCH",
      headers: { ...admin, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ imageUrl: body.url }),
    });
    expect(patched.status).toBe(200);
    expect(await (await request(`/products/${product.slug}`)).text()).toContain(`src="${body.url}"`);
  });

  it("P03 image upload: HTML or SVG with script is refused whatever type it claims, and nothing is stored or audited", async () => {
    const admin = await as("admin");
    const before = await storedKeys();
    const afterId = await lastAuditId();
    const attacks: [string, string][] = [
      ['<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><script>alert(1)</script></svg>', "image/svg+xml"],
      ['<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/png"],
      ["<!DOCTYPE html><html><body><script>fetch('/api/me')</script></body></html>", "image/jpeg"],
      ["GIF8<script>alert(1)</script>", "image/gif"],
    ];
    for (const [body, type] of attacks) {
      const res = await upload(admin, body, type);
      expect(res.status, body).toBe(415);
      expect(((await res.json()) as { code: string }).code).toBe("unsupported_image_type");
    }
    expect(await storedKeys()).toEqual(before);
    expect((await auditRowsAfter(afterId)).filter((r) => r.action === "image.uploaded")).toEqual([]);
    // Nothing under /media but a stored image's exact name is served: no listing, no traversal.
    for (const path of [
      "/media/",
      "/media/products/",
      "/media/products/..%2f..%2fwrangler.toml",
      "/media/products/x.svg",
      `/media/${before[0] ?? "products/none"}.html`,
    ]) {
      expect((await request(path)).status, path).toBe(404);
    }
  });

  it("P03 image upload: an image over 5 MiB is refused with 413 before anything is stored, declared or streamed", async () => {
    const admin = await as("admin");
    const before = await storedKeys();
    const big = new Uint8Array(5 * 1024 * 1024 + 1);
    big.set(png());
    expect((await upload(admin, big)).status).toBe(413);
    // Without a declared length (a stream), the reader stops at the limit.
    const stream = new Blob([big]).stream();
    const res = await request("/api/admin/images", {
      method: "POST",
      headers: { ...admin, origin: ORIGIN, "content-type": "image/png" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await storedKeys()).toEqual(before);
  });

  it("P16 image upload: support and customers cannot upload, and a cross-site upload is refused; nothing is stored", async () => {
    const before = await storedKeys();
    for (const role of ["support", "customer"] as const) expect((await upload(await as(role), png("x"))).status).toBe(403);
    const admin = await as("admin");
    const crossSite = await request("/api/admin/images", {
      method: "POST",
      headers: { ...admin, origin: "https://evil.example", "content-type": "image/png" },
      body: png("y"),
    });
    expect(crossSite.status).toBe(403);
    expect(await storedKeys()).toEqual(before);
  });

  it("staff save a product whose image is a shop path (the demo data's /images/...), and cannot point it at another host", async () => {
    const admin = await as("admin");
    const product = await makeProduct({ imageUrl: "/images/arc-desk-lamp.svg" });
    const form = (imageUrl: string) =>
      new URLSearchParams({ slug: product.slug, name: `${product.name} v2`, description: "", price: "25.00", currency: "USD", stock: "3", imageUrl });
    const saved = await request(`/admin/products/${product.id}`, {
      method: "POST",
      headers: { ...admin, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: form("/images/arc-desk-lamp.svg"),
      redirect: "manual",
    });
    expect(saved.status).toBe(303);
    const row = await env.DB.prepare("SELECT name, image_url FROM products WHERE id = ?").bind(product.id).first();
    expect(row).toEqual({ name: `${product.name} v2`, image_url: "/images/arc-desk-lamp.svg" });
    for (const elsewhere of ["https://evil.example/x.png", "//evil.example/x.png", "/images/../../.dev.vars", "javascript:alert(1)"]) {
      const res = await request(`/api/admin/products/${product.id}`, {
        method: "PATCH",
        headers: { ...admin, origin: ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ imageUrl: elsewhere }),
      });
      expect(res.status, elsewhere).toBe(422);
    }
    expect(await env.DB.prepare("SELECT image_url FROM products WHERE id = ?").bind(product.id).first()).toEqual({ image_url: "/images/arc-desk-lamp.svg" });
  });

  it("the staff product page uploads an image through a form and uses it for the product", async () => {
    const admin = await as("admin");
    const product = await makeProduct();
    const page = await (await request(`/admin/products/${product.id}`, { headers: admin })).text();
    expect(page).toContain('enctype="multipart/form-data"');
    const form = new FormData();
    form.set("image", new File([png(crypto.randomUUID())], "photo.png", { type: "image/png" }));
    const res = await request(`/admin/products/${product.id}/image`, { method: "POST", headers: { ...admin, origin: ORIGIN }, body: form, redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/admin/products/${product.id}`);
    const row = (await env.DB.prepare("SELECT image_url FROM products WHERE id = ?").bind(product.id).first()) as { image_url: string };
    expect(row.image_url).toMatch(/^\/media\/products\/[0-9a-f]{64}\.png$/);
    const svg = new FormData();
    svg.set("image", new File(["<svg onload=alert(1)>"], "x.png", { type: "image/png" }));
    const refused = await request(`/admin/products/${product.id}/image`, {
      method: "POST",
      headers: { ...admin, origin: ORIGIN },
      body: svg,
      redirect: "manual",
    });
    expect(refused.headers.get("location")).toBe(`/admin/products/${product.id}?image_error=unsupported_image_type`);
    expect(await (await request(refused.headers.get("location")!, { headers: admin })).text()).toContain("not a PNG, JPEG");
  });
});
