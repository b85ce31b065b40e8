import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

// Migration "product_images" on a database in the shape before it: every table is dropped, the
// migrations before it are applied, products are written with one image_url each, then it runs.
// Found by name, not number: the number may change when branches merge.

async function run(sql: string, ...values: unknown[]): Promise<void> {
  await env.DB.prepare(sql)
    .bind(...values)
    .run();
}
async function all<T>(sql: string, ...values: unknown[]): Promise<T[]> {
  return (
    await env.DB.prepare(sql)
      .bind(...values)
      .all<T>()
  ).results;
}

/** Drops every table of ours, children before the tables they reference (D1 checks foreign keys on a drop). */
async function dropEverything(): Promise<void> {
  const ours = "name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'";
  for (const t of await all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND ${ours}`)) await run(`DROP TRIGGER "${t.name}"`);
  // A virtual table (FTS5) drops its own shadow tables with it.
  for (const t of await all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%' AND ${ours}`))
    await run(`DROP TABLE "${t.name}"`);
  let tables = (await all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND ${ours}`)).map((t) => t.name);
  while (tables.length > 0) {
    const parents = new Set<string>();
    for (const name of tables) {
      for (const fk of await all<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list('${name}')`)) if (fk.table !== name) parents.add(fk.table);
    }
    const leaves = tables.filter((name) => !parents.has(name));
    for (const name of leaves) await run(`DROP TABLE "${name}"`);
    tables = tables.filter((name) => parents.has(name));
  }
}

async function apply(filter: (name: string) => boolean): Promise<void> {
  for (const migration of env.TEST_MIGRATIONS.filter((m) => filter(m.name))) {
    for (const query of migration.queries) await run(query);
  }
}

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
