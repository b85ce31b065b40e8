#!/usr/bin/env node
// `node scripts/seed-demo.mjs`: seeds the LOCAL D1 database with the demo catalog and coupons from
// scripts/demo-data.json. Idempotent: rows that already exist (same slug, same code) are left as
// they are, so edits made through the staff pages survive a restart of `npm run dev`.
// Never touches a remote database: every wrangler call carries `--local`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DATA = path.join(ROOT, "scripts", "demo-data.json");

/** SQL string literal: single quotes doubled, the only escape SQLite needs; null stays NULL. */
export function sqlValue(value) {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`demo data: ${value} is not an integer`);
    return String(value);
  }
  return `'${String(value).replaceAll("'", "''")}'`;
}

/** Reads and checks the demo data (integer cents, one image per product, unique slugs). */
export function loadDemoData(file = DATA) {
  const data = JSON.parse(readFileSync(file, "utf8"));
  const slugs = new Set();
  for (const p of data.products) {
    if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(p.slug)) throw new Error(`demo data: bad slug ${p.slug}`);
    if (slugs.has(p.slug)) throw new Error(`demo data: duplicate slug ${p.slug}`);
    slugs.add(p.slug);
    if (!Number.isSafeInteger(p.priceCents) || p.priceCents < 0) throw new Error(`demo data: bad price for ${p.slug}`);
    if (!Number.isSafeInteger(p.stock) || p.stock < 0) throw new Error(`demo data: bad stock for ${p.slug}`);
    for (const v of p.variants ?? []) {
      if (!Number.isSafeInteger(v.priceCents) || v.priceCents < 0 || !Number.isSafeInteger(v.stock) || v.stock < 0)
        throw new Error(`demo data: bad variant ${v.sku}`);
      for (const o of p.options ?? []) if (!o.values.includes(v.options[o.name])) throw new Error(`demo data: ${v.sku} has no ${o.name} among its values`);
    }
  }
  return data;
}

/** A demo product's stable id (per slug). */
const productId = (p) => `prd_demo_${p.slug.replaceAll("-", "_")}`;

/**
 * INSERT … ON CONFLICT(slug) DO NOTHING for every demo product; ids are stable per slug. Each
 * product gets its options and variants (decision 025): the listed ones, or one default variant
 * with its price and stock. Variants are added only while the product has none, so staff edits
 * survive a restart; every opening stock is a ledger row by `seed`.
 */
export function productsSql(products) {
  const statements = [];
  for (const p of products) {
    const id = productId(p);
    const values = [
      id,
      p.slug,
      p.name,
      p.description,
      p.priceCents,
      p.currency ?? "USD",
      p.stock,
      p.hidden === true ? "draft" : "active",
      `/images/${p.slug}.svg`,
      p.category ?? null,
      p.vendor ?? null,
      JSON.stringify(p.tags ?? []),
    ]
      .map(sqlValue)
      .join(", ");
    // A product seeded before categories existed gets its category; nothing else is overwritten.
    statements.push(
      `INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status, image_url, category, vendor, tags) VALUES (${values}) ON CONFLICT(slug) DO UPDATE SET category = excluded.category WHERE products.category IS NULL;`,
    );
    const noVariants = `NOT EXISTS (SELECT 1 FROM product_variants WHERE product_id = ${sqlValue(id)})`;
    const options = p.options ?? [];
    const noOptions = `NOT EXISTS (SELECT 1 FROM product_options WHERE product_id = ${sqlValue(id)})`;
    (p.variants ?? []).length === 0 || options.length === 0
      ? statements.push(
          `INSERT INTO product_variants (id, product_id, price_cents, stock, stock_reason, stock_actor) SELECT ${sqlValue(`var_${id}`)}, ${sqlValue(id)}, ${sqlValue(p.priceCents)}, ${sqlValue(p.stock)}, 'opening_balance', 'seed' WHERE ${noVariants};`,
        )
      : statements.push(
          // The options are the marker: variants go in while the product has none, then its options.
          ...p.variants.map((v, i) => {
            const value = (n) => (options[n] ? v.options[options[n].name] : "");
            const values = [
              `var_demo_${v.sku.toLowerCase().replaceAll("-", "_")}`,
              id,
              v.sku,
              value(0),
              value(1),
              value(2),
              v.priceCents,
              v.compareAtPriceCents ?? null,
              v.stock,
              v.weightGrams ?? null,
              v.lowStockThreshold ?? null,
              i,
              "opening_balance",
              "seed",
            ];
            return `INSERT INTO product_variants (id, product_id, sku, option1, option2, option3, price_cents, compare_at_price_cents, stock, weight_grams, low_stock_threshold, position, stock_reason, stock_actor) SELECT ${values.map(sqlValue).join(", ")} WHERE ${noOptions};`;
          }),
          ...options.map(
            (o, i) =>
              // Each position once (the first option inserted would end a product-wide marker for the rest).
              `INSERT INTO product_options (product_id, position, name, "values") SELECT ${sqlValue(id)}, ${i + 1}, ${sqlValue(o.name)}, ${sqlValue(JSON.stringify(o.values))} WHERE NOT EXISTS (SELECT 1 FROM product_options WHERE product_id = ${sqlValue(id)} AND position = ${i + 1});`,
          ),
        );
  }
  return statements.join("\n");
}

const snake = (name) => name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);

/**
 * INSERT … ON CONFLICT(code) DO NOTHING for the demo coupons, shaped by the columns the coupons
 * table really has (`columns`: PRAGMA table_info rows), so the seed follows its migration.
 */
export function couponsSql(coupons, columns, now = new Date()) {
  const types = new Map(columns.map((c) => [c.name, String(c.type).toUpperCase()]));
  const time = (col) => (types.get(col)?.includes("INT") ? now.getTime() : now.toISOString());
  return coupons
    .map((coupon) => {
      const fields = { active: true, ...coupon, code: coupon.code.toUpperCase() };
      const entries = Object.entries(fields)
        .map(([k, v]) => [snake(k), v])
        .filter(([col]) => types.has(col));
      if (types.has("created_at")) entries.push(["created_at", time("created_at")]);
      if (types.has("updated_at")) entries.push(["updated_at", time("updated_at")]);
      const cols = entries.map(([col]) => col).join(", ");
      const values = entries.map(([, v]) => sqlValue(v)).join(", ");
      return `INSERT INTO coupons (${cols}) VALUES (${values}) ON CONFLICT(code) DO NOTHING;`;
    })
    .join("\n");
}

/** INSERT … ON CONFLICT(id) DO NOTHING for the demo shipping rates (staff edits survive a restart). */
export function shippingRatesSql(rates) {
  return rates
    .map((r) => {
      const values = [r.id, r.name, r.amountCents, r.currency, r.minDays ?? null, r.maxDays ?? null, r.freeAboveCents ?? null, r.sortOrder ?? 0]
        .map(sqlValue)
        .join(", ");
      return `INSERT INTO shipping_rates (id, name, amount_cents, currency, min_days, max_days, free_above_cents, sort_order) VALUES (${values}) ON CONFLICT(id) DO NOTHING;`;
    })
    .join("\n");
}

/** INSERT … ON CONFLICT(id) DO NOTHING for the demo's automatic promotions (issue 33). */
export function promotionsSql(promotions) {
  return promotions
    .map((p) => {
      const values = [p.id, p.name, p.kind, p.currency, p.minSubtotalCents ?? null, p.category ?? null, p.firstOrderOnly ? 1 : 0].map(sqlValue).join(", ");
      return `INSERT INTO promotions (id, name, kind, currency, min_subtotal_cents, category, first_order_only) VALUES (${values}) ON CONFLICT(id) DO NOTHING;`;
    })
    .join("\n");
}

/**
 * INSERT … ON CONFLICT(id) DO NOTHING for the demo shop settings (src/settings: one row): an
 * admin's edits on /admin/settings survive a restart.
 */
export function settingsSql(settings, version = "demo-seed") {
  const values = [
    1,
    settings.shopName,
    settings.logoUrl ?? null,
    settings.brandColour,
    settings.accentColour,
    settings.heroTitle,
    settings.heroText,
    JSON.stringify(settings.footerLinks ?? []),
    settings.contactEmail ?? null,
    settings.contactAddress ?? null,
    settings.defaultCurrency,
    settings.defaultLocale,
    settings.returnWindowDays,
    settings.policies.privacy,
    settings.policies.terms,
    settings.policies.shipping,
    settings.policies.returns,
    version,
  ]
    .map(sqlValue)
    .join(", ");
  return (
    "INSERT INTO shop_settings (id, shop_name, logo_url, brand_colour, accent_colour, hero_title, hero_text, footer_links, contact_email, " +
    "contact_address, default_currency, default_locale, return_window_days, privacy_policy, terms_policy, shipping_policy, returns_policy, version) " +
    `VALUES (${values}) ON CONFLICT(id) DO NOTHING;`
  );
}

/** Runs `wrangler d1 execute bastion --local` with node_modules/.bin first on PATH (Node 24). */
function wrangler(args, { json = false, persistTo } = {}) {
  const bin = path.join(ROOT, "node_modules", ".bin");
  const where = persistTo ? ["--persist-to", persistTo] : [];
  const result = spawnSync(path.join(bin, "wrangler"), ["d1", "execute", "bastion", "--local", ...where, ...args, ...(json ? ["--json"] : [])], {
    cwd: ROOT,
    env: { ...process.env, CI: "1", PATH: `${bin}${path.delimiter}${process.env.PATH}` },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
    throw new Error(`wrangler d1 execute ${args.join(" ")} failed (exit ${result.status})`);
  }
  return json ? JSON.parse(result.stdout) : null;
}

/** Seeds the local database; returns what it did for the dev script's log. */
export function seedDemo({ persistTo } = {}) {
  const query = (sql) => wrangler(["--command", sql], { json: true, persistTo })[0]?.results ?? [];
  const data = loadDemoData();
  const statements = [productsSql(data.products)];
  const hasCoupons = query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'coupons'").length > 0;
  if (hasCoupons) statements.push(couponsSql(data.coupons, query("SELECT name, type FROM pragma_table_info('coupons')")));
  statements.push(shippingRatesSql(data.shippingRates ?? []));
  const hasPromotions = query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'promotions'").length > 0;
  if (hasPromotions) statements.push(promotionsSql(data.promotions ?? []));
  if (data.settings) statements.push(settingsSql(data.settings));
  const dir = mkdtempSync(path.join(tmpdir(), "bastion-seed-"));
  try {
    const file = path.join(dir, "seed-demo.sql");
    writeFileSync(file, `${statements.join("\n")}\n`);
    wrangler([`--file=${file}`], { persistTo });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { products: data.products.length, coupons: hasCoupons ? data.coupons.length : 0, shippingRates: (data.shippingRates ?? []).length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const done = seedDemo();
  console.log(`seeded ${done.products} demo products${done.coupons ? ` and ${done.coupons} coupons` : " (no coupons table yet: coupons skipped)"}`);
}
