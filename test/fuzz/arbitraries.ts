import { env } from "cloudflare:workers";
import fc from "fast-check";
import { expect } from "vitest";

/**
 * Raw request bodies an attacker can send to a JSON route: anything JSON can spell, JSON that is
 * not JSON, huge and tricky numbers, deep arrays, prototype-pollution keys and odd unicode.
 * Bodies are strings so that keys like `__proto__` reach the worker exactly as written.
 */
export function hostileBody(fields: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<string> {
  const number = fc.oneof(
    fc.constantFrom("1e308", "-1e308", "1e309", "9007199254740993", "-0", "0.1", "99.0000001", "1E2", "100", "-1", "0", "1", "99"),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.integer().map(String),
  );
  const text = fc
    .oneof(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom(
        "",
        " ",
        "\u0000",
        "\u202e",
        "\ud800",
        "'; DROP TABLE products; --",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "%00",
        "ＷＥＬＣＯＭＥ１０",
        "welcome10 ",
      ),
    )
    .map((s) => JSON.stringify(s));
  const deep = fc.integer({ min: 1, max: 5000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`);
  const scalar = fc.oneof(number, text, fc.constantFrom("true", "false", "null", "{}", "[]"), deep);
  const keys = fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "priceCents",
    "unitPriceCents",
    "totalCents",
    "discountCents",
    "role",
    "id",
    "userId",
    ...Object.keys(fields),
  );
  const pollution = fc
    .tuple(
      fc.array(fc.tuple(keys, fc.oneof(scalar, fc.constant('{"polluted":true,"role":"admin","priceCents":0}'))), { maxLength: 6 }),
      fc.record(Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, a.map((v) => JSON.stringify(v) ?? "null")])), { requiredKeys: [] }),
    )
    .map(([pairs, known]) => `{${[...Object.entries(known), ...pairs].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);
  return fc.oneof(
    fc.anything().map((v) => JSON.stringify(v) ?? "null"),
    fc.json(),
    fc.string({ maxLength: 60 }),
    scalar,
    pollution,
    pollution,
  );
}

/** Asserts the shape every API answer must have: no 5xx, JSON or problem+json, parseable. */
export async function expectJsonAnswer(res: Response): Promise<unknown> {
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBeLessThan(500);
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/(problem\+)?json\b/);
  return JSON.parse(text);
}

/** Tables whose rows a refused request must not change; audit_events may grow (refusals are logged). */
const WATCHED = [
  "products",
  "product_variants",
  "product_options",
  "inventory_ledger",
  "orders",
  "order_lines",
  "coupons",
  "coupon_redemptions",
  "processed_webhook_events",
  "payment_events",
  "user",
  "session",
  "account",
];

/** A fingerprint of D1: row counts, stock and prices, order statuses. */
export async function d1State(): Promise<string> {
  const counts = await env.DB.batch(WATCHED.map((t) => env.DB.prepare(`SELECT '${t}' AS t, count(*) AS n FROM ${t}`)));
  const products = await env.DB.prepare("SELECT id, price_cents, stock, status, slug, name FROM products ORDER BY id").all();
  const variants = await env.DB.prepare("SELECT id, product_id, price_cents, stock, sku, option1, option2, option3 FROM product_variants ORDER BY id").all();
  const orders = await env.DB.prepare("SELECT id, status, total_cents FROM orders ORDER BY id").all();
  return JSON.stringify([counts.map((r) => r.results[0]), products.results, variants.results, orders.results]);
}
