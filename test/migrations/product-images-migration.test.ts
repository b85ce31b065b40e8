import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { all, apply, dropEverything, run } from "../support/migrations";

// Migration "product_images" on a database in the shape before it: every table is dropped, the
// migrations before it are applied, products are written with one image_url each, then it runs.
// Found by name, not number: the number may change when branches merge.

const IMAGES = env.TEST_MIGRATIONS.find((m) => m.name.endsWith("_product_images.sql"))!.name;

describe("migration product_images on a database in today's shape", () => {
  beforeAll(async () => {
    await dropEverything();
    await apply((name) => name < IMAGES);
    await run(
      "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status, image_url) VALUES ('prd_mug', 'mug', 'Mug', 'A mug', 1200, 'USD', 0, 'active', '/images/mug.svg'), ('prd_bare', 'bare', 'Bare', 'No image', 500, 'USD', 0, 'active', NULL)",
    );
    await apply((name) => name === IMAGES);
  });

  it("an existing product's image_url becomes its first image, with empty alt text; a product without one has none", async () => {
    expect(await all("SELECT id, product_id, url, alt, position FROM product_images ORDER BY product_id")).toEqual([
      { id: "img_prd_mug", product_id: "prd_mug", url: "/images/mug.svg", alt: "", position: 0 },
    ]);
    expect(await all("SELECT id, image_url FROM products ORDER BY id")).toEqual([
      { id: "prd_bare", image_url: null },
      { id: "prd_mug", image_url: "/images/mug.svg" },
    ]);
  });

  it("writing image_url afterwards (as the API, an import or a script does) keeps the first image following it", async () => {
    await run("UPDATE products SET image_url = '/images/teapot.svg' WHERE id = 'prd_mug'");
    await run("UPDATE products SET image_url = '/images/bowl.svg' WHERE id = 'prd_bare'");
    await run(
      "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status, image_url) VALUES ('prd_new', 'new', 'New', 'x', 100, 'USD', 0, 'active', '/images/new.svg')",
    );
    expect(await all("SELECT product_id, url FROM product_images ORDER BY product_id")).toEqual([
      { product_id: "prd_bare", url: "/images/bowl.svg" },
      { product_id: "prd_mug", url: "/images/teapot.svg" },
      { product_id: "prd_new", url: "/images/new.svg" },
    ]);
    const before = await all<{ version: string }>("SELECT version FROM catalog_state");
    await run("UPDATE product_images SET alt = 'A teapot' WHERE product_id = 'prd_mug'");
    expect(await all("SELECT version FROM catalog_state")).not.toEqual(before);
    await run("UPDATE products SET image_url = NULL WHERE id = 'prd_mug'");
    expect(await all("SELECT url FROM product_images WHERE product_id = 'prd_mug'")).toEqual([]);
    await run("DELETE FROM products WHERE id = 'prd_new'");
    expect(await all("SELECT url FROM product_images WHERE product_id = 'prd_new'")).toEqual([]);
  });
});
