#!/usr/bin/env node
// `npm run bench:flash-sale [-- --shoppers 1000] [--stock 25] [--coupon-limit 10] [--shards 4]
// [--concurrency 64]`: the flash sale of docs/capacity.md, run against the whole shop on loopback. The production-shaped bundle
// (`wrangler deploy --dry-run`) is served by Miniflare on 127.0.0.1 with a fresh local state (never
// your dev data). `--shoppers` shoppers sign up and in, then all at once (at most `--concurrency`
// in flight) add the one hot product to their cart, apply the one coupon (a total limit:
// `--coupon-limit` uses in all: a shopper it is refused to checks out without it), check out and
// pay in the payment simulator (signed webhooks, as Stripe sends them). The hot variant's stock
// gate has `--shards` objects (decision 028). Winners' and losers' checkout latencies are
// reported apart (p50, p90, p99), with checkouts per second.
// Afterwards the script reads D1 and checks that stock, orders, coupon uses and the audit log
// agree exactly; it exits 1 when they do not. Bounded: loopback only, at most 5,000 shoppers.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseEnv } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { applyMigrations, keepAliveClient, ROOT } from "./support.mjs";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const BIN = path.join(ROOT, "node_modules", ".bin");
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const SHOPPERS = Math.min(5000, Number(opt("shoppers", "1000")));
const STOCK = Number(opt("stock", "25"));
const COUPON_LIMIT = opt("coupon-limit", "10") === "none" ? null : Number(opt("coupon-limit", "10"));
const SHARDS = Math.min(8, Math.max(1, Number(opt("shards", "4"))));
// Guests skip the sign-up (two scrypt hashes each, minutes of a 2-core machine): they check out with an email.
const GUESTS = args.includes("--guests");
const CONCURRENCY = Math.min(256, Number(opt("concurrency", "64")));
const PORT = Number(opt("port", "8797"));
const BASE = `http://127.0.0.1:${PORT}`;
const ORIGIN = "http://localhost:8787"; // PUBLIC_ORIGIN of wrangler.toml: the CSRF check compares with it
const PASSWORD = "violet-otter-lantern-harbour-57";
const PRODUCT = "prd_flash_hot";
const VARIANT = `var_${PRODUCT}`;
const COUPON = "FLASH10";
const log = (m) => console.log(`\x1b[35m[flash-sale]\x1b[0m ${m}`);

const { send, agent } = keepAliveClient(BASE, CONCURRENCY + 8);
const json = (cookie, ip) => ({ "content-type": "application/json", origin: ORIGIN, cookie, "cf-connecting-ip": ip });

/** Runs `fn` over `items`, at most `limit` at once. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "bastion-flash-"));
let mf;
const started = Date.now();
try {
  log("building the production-shaped bundle (wrangler deploy --dry-run)");
  const outdir = path.join(tmp, "dist");
  const built = spawnSync(path.join(BIN, "wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", PATH: `${BIN}${path.delimiter}${process.env.PATH}` },
  });
  if (built.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${built.stderr}`);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
  delete workerOptions.modulesRules;
  const varsFile = existsSync(path.join(ROOT, ".dev.vars")) ? ".dev.vars" : ".dev.vars.example";
  mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: PORT,
      resourcePersistencePath: path.join(tmp, "state"),
      // Offline, every sign-up's Pwned Passwords lookup fails (the shop falls back to its local
      // list) and workerd prints a DNS error and a warning for each: 2,000 lines of noise.
      handleStructuredLogs({ level, message }) {
        if (!/pwned_passwords_unreachable|lookup address information/.test(message)) process.stderr.write(`[${level}] ${message}\n`);
      },
      workers: [
        {
          ...workerOptions,
          bindings: { ...workerOptions.bindings, ...parseEnv(readFileSync(path.join(ROOT, varsFile), "utf8")) },
          modules: [{ type: "ESModule", path: "index.js", contents: readFileSync(path.join(outdir, "index.js"), "utf8") }],
        },
      ],
    }),
  );
  await mf.ready;
  const db = await mf.getD1Database("DB");
  await applyMigrations(db);
  // The product and its one variant (decision 025), whose stock gate has SHARDS objects (decision 028).
  await db.batch([
    db
      .prepare(
        "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, status) VALUES (?, 'flash-hot', 'The hot one', 'Flash sale', 2500, 'USD', ?, 'active')",
      )
      .bind(PRODUCT, STOCK),
    db
      .prepare(
        "INSERT INTO product_variants (id, product_id, price_cents, stock, gate_shards, stock_reason, stock_actor) VALUES (?, ?, 2500, ?, ?, 'opening_balance', 'bench')",
      )
      .bind(VARIANT, PRODUCT, STOCK, SHARDS),
  ]);
  await db
    .prepare("INSERT INTO coupons (code, percent_off, max_redemptions, per_customer_limit, active) VALUES (?, 10, ?, NULL, 1)")
    .bind(COUPON, COUPON_LIMIT)
    .run();

  log(GUESTS ? `${SHOPPERS} guest shoppers` : `signing up and in ${SHOPPERS} shoppers (two password hashes each; the slow part)`);
  const signUpStart = Date.now();
  const guests = Array.from({ length: SHOPPERS }, (_, i) => ({
    i,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    cookie: "",
    email: `guest-${i}@example.com`,
  }));
  const shoppers = GUESTS
    ? guests
    : await pool(
        Array.from({ length: SHOPPERS }, (_, i) => i),
        4,
        async (i) => {
          const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
          const email = `flash-${i}@example.com`;
          const headers = { "content-type": "application/json", origin: ORIGIN, "cf-connecting-ip": ip };
          const up = await send("POST", "/api/auth/sign-up/email", { headers, body: JSON.stringify({ email, password: PASSWORD, name: `Shopper ${i}` }) });
          if (up.status !== 200) throw new Error(`sign-up ${i}: ${up.status} ${up.body.slice(0, 200)}`);
          const inn = await send("POST", "/api/auth/sign-in/email", { headers, body: JSON.stringify({ email, password: PASSWORD }) });
          if (inn.status !== 200) throw new Error(`sign-in ${i}: ${inn.status} ${inn.body.slice(0, 200)}`);
          const cookie = [inn.headers["set-cookie"] ?? []]
            .flat()
            .map((l) => l.split(";")[0])
            .join("; ");
          return { i, ip, cookie };
        },
      );
  log(`shoppers ready in ${((Date.now() - signUpStart) / 1000).toFixed(0)} s`);

  log(`the sale: ${SHOPPERS} shoppers, ${STOCK} in stock, coupon ${COUPON} (at most ${COUPON_LIMIT ?? "unlimited"} uses in all), ${CONCURRENCY} in flight`);
  const saleStart = Date.now();
  const outcomes = await pool(shoppers, CONCURRENCY, async (s) => {
    const t0 = performance.now();
    const add = await send("POST", "/api/cart/items", { headers: json(s.cookie, s.ip), body: JSON.stringify({ productId: PRODUCT, quantity: 1 }) });
    if (add.status !== 200) return { step: "add", status: add.status, code: safeCode(add.body) };
    // A guest's cart cookie comes with its first add.
    if (GUESTS)
      s.cookie = [add.headers["set-cookie"] ?? []]
        .flat()
        .map((l) => l.split(";")[0])
        .join("; ");
    const checkoutBody = GUESTS ? JSON.stringify({ email: s.email }) : "{}";
    const coupon = await send("PUT", "/api/cart/coupon", { headers: json(s.cookie, s.ip), body: JSON.stringify({ code: COUPON }) });
    // A coupon used up is refused here: the shopper checks out without it, as a real one would.
    if (coupon.status >= 500) return { step: "coupon", status: coupon.status, code: safeCode(coupon.body) };
    const t1 = performance.now();
    let checkout = await send("POST", "/api/checkout", { headers: json(s.cookie, s.ip), body: checkoutBody });
    if (checkout.status === 422 && /^coupon_/.test(safeCode(checkout.body) ?? "")) {
      // The coupon ran out between the cart and the checkout: a real shopper drops it and buys anyway.
      await send("DELETE", "/api/cart/coupon", { headers: json(s.cookie, s.ip) });
      checkout = await send("POST", "/api/checkout", { headers: json(s.cookie, s.ip), body: checkoutBody });
    }
    const checkoutEnd = performance.now();
    const checkoutMs = checkoutEnd - t1;
    const timing = { checkoutMs, checkoutStart: t1, checkoutEnd };
    if (checkout.status !== 201) return { step: "checkout", status: checkout.status, code: safeCode(checkout.body), ...timing };
    const { checkoutUrl } = JSON.parse(checkout.body);
    const pay = await send("POST", new URL(checkoutUrl).pathname, {
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": s.ip },
      body: "outcome=paid",
    });
    if (pay.status !== 303) return { step: "pay", status: pay.status, code: safeCode(pay.body), ...timing, won: true };
    return { step: "paid", status: 303, ...timing, won: true, totalMs: performance.now() - t0 };
  });
  const saleSeconds = (Date.now() - saleStart) / 1000;
  const checkoutSeconds = (Math.max(...outcomes.map((o) => o.checkoutEnd ?? 0)) - Math.min(...outcomes.map((o) => o.checkoutStart ?? Infinity))) / 1000;

  // ---------------------------------------------------------------- do the books agree?
  const one = async (sql, ...binds) =>
    (await db
      .prepare(sql)
      .bind(...binds)
      .first()) ?? {};
  const stock = (await one("SELECT stock FROM products WHERE id = ?", PRODUCT)).stock;
  const paid = (await one("SELECT count(*) AS n FROM orders WHERE status = 'paid'")).n;
  const open = (await one("SELECT count(*) AS n FROM orders WHERE status IN ('pending', 'in_flight')")).n;
  const soldUnits = (
    await one(
      "SELECT coalesce(sum(l.quantity), 0) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.status = 'paid' AND l.product_id = ?",
      PRODUCT,
    )
  ).n;
  const ordersWritten = (await one("SELECT count(*) AS n FROM orders")).n;
  const redemptions = (await one("SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM coupon_redemptions WHERE code = ?", COUPON)) ?? {};
  const paidWithCoupon = (await one("SELECT count(*) AS n FROM orders WHERE status = 'paid' AND coupon_code = ?", COUPON)).n;
  // The AuditLog object writes its events to D1 in group commits: give the last ones a moment.
  let auditStarted = 0;
  let auditPaid = 0;
  for (let tries = 0; tries < 40; tries++) {
    auditStarted = (await one("SELECT count(*) AS n FROM audit_events WHERE action = 'checkout.started'")).n;
    auditPaid = (await one("SELECT count(*) AS n FROM audit_events WHERE action = 'order.paid'")).n;
    if (auditStarted === ordersWritten && auditPaid === paid) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const ready = await send("GET", "/readyz");

  const byStep = {};
  for (const o of outcomes) {
    const key = o.step === "paid" ? "paid" : `${o.step} ${o.status} ${o.code ?? ""}`.trim();
    byStep[key] = (byStep[key] ?? 0) + 1;
  }
  const sorted = (list) =>
    list
      .map((o) => o.checkoutMs)
      .filter((x) => x !== undefined)
      .sort((a, b) => a - b);
  const latencies = sorted(outcomes);
  const winners = sorted(outcomes.filter((o) => o.won));
  const losers = sorted(outcomes.filter((o) => !o.won && o.step === "checkout"));
  const at = (list, p) => (list.length ? list[Math.min(list.length - 1, Math.floor(p * list.length))] : Number.NaN);
  const pcts = (list) => [0.5, 0.9, 0.99].map((p) => (list.length ? at(list, p).toFixed(0) : "—")).join(" / ");
  const couponUses = (await one("SELECT count(*) AS n FROM coupon_redemptions WHERE code = ?", COUPON)).n;
  const expectedPaid = Math.min(STOCK, SHOPPERS);
  const checks = [
    ["nothing oversold: stock is never below zero", stock >= 0],
    [`stock + units sold = ${STOCK}`, stock + soldUnits === STOCK],
    [`${expectedPaid} orders paid (every unit sold once)`, paid === expectedPaid && soldUnits === expectedPaid],
    ["no order left open", open === 0],
    [
      `each coupon use is one paid order's, at most ${COUPON_LIMIT ?? "∞"} in all`,
      redemptions.n === paidWithCoupon && redemptions.users === redemptions.n && (COUPON_LIMIT === null ? paidWithCoupon === paid : couponUses <= COUPON_LIMIT),
    ],
    ["no checkout answered 5xx", outcomes.every((o) => !(o.status >= 500))],
    ["the audit log has one checkout.started per order written", auditStarted === ordersWritten],
    ["the audit log has one order.paid per paid order", auditPaid === paid],
    ["the audit chain verifies (GET /readyz)", ready.status === 200],
  ];
  const report = [
    `| flash sale (${new Date().toISOString()}, ${os.cpus().length} cores) | |`,
    "|---|---|",
    `| shoppers / stock / coupon uses / gate shards / in flight | ${SHOPPERS}${GUESTS ? " guests" : " signed in"} / ${STOCK} / ${COUPON_LIMIT ?? "∞"} / ${SHARDS} / ${CONCURRENCY} |`,
    `| sale took | ${saleSeconds.toFixed(1)} s (${(SHOPPERS / saleSeconds).toFixed(0)} shoppers/s through add + coupon + checkout) |`,
    `| checkouts per second | ${(latencies.length / checkoutSeconds).toFixed(0)} (${latencies.length} checkouts in ${checkoutSeconds.toFixed(1)} s) |`,
    `| checkout latency p50 / p90 / p99, everyone | ${pcts(latencies)} ms |`,
    `| … winners (${winners.length}) | ${pcts(winners)} ms |`,
    `| … losers (${losers.length}) | ${pcts(losers)} ms |`,
    `| outcomes | ${Object.entries(byStep)
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ")} |`,
    `| orders written / paid / open | ${ordersWritten} / ${paid} / ${open} |`,
    `| stock left / units sold | ${stock} / ${soldUnits} |`,
    `| coupon uses (distinct customers) | ${redemptions.n} (${redemptions.users}) |`,
    `| audit: checkout.started / order.paid | ${auditStarted} / ${auditPaid} |`,
    "",
    ...checks.map(([what, ok]) => `- ${ok ? "✔" : "✘"} ${what}`),
  ].join("\n");
  console.log(`\n${report}\n`);
  if (!args.includes("--no-write") && checks.every(([, ok]) => ok)) {
    const docs = path.join(ROOT, "docs", "capacity.md");
    const text = readFileSync(docs, "utf8");
    // One block per stock size when docs/capacity.md has one (flash-sale-25, flash-sale-500), else the one block.
    const named = text.includes(`<!-- flash-sale-${STOCK}:start -->`) ? `flash-sale-${STOCK}` : "flash-sale";
    const [start, end] = [`<!-- ${named}:start -->`, `<!-- ${named}:end -->`];
    if (text.includes(start) && text.includes(end)) {
      writeFileSync(docs, `${text.slice(0, text.indexOf(start) + start.length)}\n${report}\n${text.slice(text.indexOf(end))}`);
      log("docs/capacity.md updated");
    }
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
} finally {
  await mf?.dispose().catch(() => {});
  agent.destroy();
  rmSync(tmp, { recursive: true, force: true });
}

function safeCode(body) {
  try {
    return JSON.parse(body).code ?? null;
  } catch {
    return null;
  }
}
