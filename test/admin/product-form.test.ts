import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { slugFromName } from "../../src/catalog/slugs";
import { appJson, appRequest as request, as } from "../support/admin";
import { lastAuditId } from "../support/audit";
import { makeProduct, unique } from "../support/factories";
import { ORIGIN } from "../support/http";
import { saveShopSettings } from "../support/settings";

/** A tiny valid PNG, with `extra` bytes so each is stored under its own hash. */
function png(extra = ""): Uint8Array {
  const base = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="), (ch) =>
    ch.charCodeAt(0),
  );
  return new Uint8Array([...base, ...new TextEncoder().encode(extra)]);
}

async function postForm(fields: Record<string, string>, file?: File): Promise<Response> {
  const admin = await as("admin");
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  if (file) form.set("image", file);
  return request("/admin/products", { method: "POST", headers: { ...admin, origin: ORIGIN }, body: form, redirect: "manual" });
}

async function productBySlug(slug: string): Promise<{ id: string; name: string; image_url: string | null } | null> {
  return env.DB.prepare("SELECT id, name, image_url FROM products WHERE slug = ?").bind(slug).first();
}

async function productCount(): Promise<number> {
  return ((await env.DB.prepare("SELECT count(*) AS n FROM products").first()) as { n: number }).n;
}

describe("staff product form", () => {
  it("makes a slug from the name: accents folded, punctuation to hyphens, 'product' when nothing is left", () => {
    expect(slugFromName("Crème Brûlée Set!")).toBe("creme-brulee-set");
    expect(slugFromName("  --Blue   Mug 2--  ")).toBe("blue-mug-2");
    expect(slugFromName("茶碗")).toBe("product");
    expect(slugFromName("x".repeat(300)).length).toBe(100);
  });

  it("an empty slug is made from the name, and a taken one gets a suffix instead of a refusal", async () => {
    const name = `Tea Bowl ${unique("t")}`;
    const base = slugFromName(name);
    const first = await postForm({ name, slug: "", price: "12.00", currency: "USD", stock: "3" });
    expect(first.status).toBe(303);
    expect(await productBySlug(base)).toMatchObject({ name });
    // The script filled the slug (slugAuto=1) with one that is taken: the server makes the next free one.
    const second = await postForm({ name, slug: base, slugAuto: "1", price: "12.00", currency: "USD", stock: "3" });
    expect(second.status).toBe(303);
    expect(await productBySlug(`${base}-2`)).toMatchObject({ name });
    const third = await appJson("POST", "/api/admin/products", { name, priceCents: 1200 }, await as("admin"));
    expect(third.status).toBe(201);
    expect(((await third.json()) as { slug: string }).slug).toBe(`${base}-3`);
  });

  it("a slug staff typed that is taken is refused with 409, and the form comes back with everything they typed", async () => {
    const taken = await makeProduct();
    const before = await productCount();
    const auditBefore = await lastAuditId();
    const res = await postForm({
      name: "Hand-thrown <jug>",
      slug: taken.slug,
      description: "Glazed in two colours",
      price: "34.50",
      currency: "EUR",
      stock: "7",
      category: "kitchen",
    });
    expect(res.status).toBe(409);
    const page = await res.text();
    expect(page).toContain("Another product has this slug");
    expect(page).toContain('value="Hand-thrown &lt;jug&gt;"');
    expect(page).toContain(`value="${taken.slug}"`);
    expect(page).toContain("Glazed in two colours");
    expect(page).toContain('value="34.50"');
    expect(page).toContain('value="7"');
    expect(page).toContain('value="kitchen"');
    expect(page).toMatch(/<option value="EUR" selected/);
    expect(await productCount()).toBe(before);
    expect(await lastAuditId()).toBe(auditBefore);
  });

  it("the edit form keeps what was typed when the new slug is taken", async () => {
    const admin = await as("admin");
    const taken = await makeProduct();
    const mine = await makeProduct();
    const res = await request(`/admin/products/${mine.id}`, {
      method: "POST",
      headers: { ...admin, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ slug: taken.slug, name: "Renamed lamp", price: "19.99", currency: "USD", stock: "10" }).toString(),
    });
    expect(res.status).toBe(409);
    const page = await res.text();
    expect(page).toContain('value="Renamed lamp"');
    expect(page).toContain(`value="${taken.slug}"`);
    expect(await env.DB.prepare("SELECT name, slug FROM products WHERE id = ?").bind(mine.id).first()).toEqual({ name: mine.name, slug: mine.slug });
  });

  it("offers the currencies the shop can charge, the settings' default currency chosen, and loads the slug script", async () => {
    const admin = await as("admin");
    await saveShopSettings({ shopName: "Form Shop", defaultCurrency: "GBP" });
    const page = await (await request("/admin/products", { headers: admin })).text();
    expect(page).toMatch(/<select name="currency">/);
    expect(page).toMatch(/<option value="GBP" selected/);
    expect(page).toContain('<option value="JPY">');
    expect(page).toContain('<option value="KWD">');
    expect(page).not.toContain('<option value="XXX">');
    expect(page).toContain("data-slug-form");
    expect(page).toContain("/assets/staff.js");
    expect(page).toContain('enctype="multipart/form-data"');
  });

  it("uploads an image with a new product: stored in R2, the product's main image with its alt text, audited", async () => {
    const slug = unique("photo").toLowerCase();
    const auditBefore = await lastAuditId();
    const res = await postForm(
      { name: "Photo frame", slug, price: "9.00", currency: "USD", stock: "1", imageAlt: "An oak frame on a desk" },
      new File([png(crypto.randomUUID())], "frame.png", { type: "image/png" }),
    );
    expect(res.status).toBe(303);
    const row = (await productBySlug(slug))!;
    expect(row.image_url).toMatch(/^\/media\/products\/[0-9a-f]{64}\.png$/);
    expect(await env.PRODUCT_IMAGES.head(row.image_url!.slice("/media/".length))).not.toBeNull();
    const images = await env.DB.prepare("SELECT url, alt FROM product_images WHERE product_id = ?").bind(row.id).all();
    expect(images.results).toEqual([{ url: row.image_url, alt: "An oak frame on a desk" }]);
    const actions = await env.DB.prepare("SELECT action FROM audit_events WHERE id > ? AND subject = ? ORDER BY id").bind(auditBefore, row.id).all();
    expect(actions.results.map((r) => (r as { action: string }).action)).toEqual(["product.created", "product.image_updated"]);
  });

  it("P03 a new product with an SVG posing as a PNG is refused with the form kept; no product, no stored object", async () => {
    const slug = unique("svg").toLowerCase();
    const before = await productCount();
    const objects = (await env.PRODUCT_IMAGES.list()).objects.length;
    const res = await postForm(
      { name: "Scripted", slug, price: "9.00", currency: "USD", stock: "1" },
      new File(["<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"], "x.png", { type: "image/png" }),
    );
    expect(res.status).toBe(415);
    expect(await res.text()).toContain('value="Scripted"');
    expect(await productCount()).toBe(before);
    expect((await env.PRODUCT_IMAGES.list()).objects.length).toBe(objects);
  });
});
