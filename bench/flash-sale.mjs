#!/usr/bin/env node
// `npm run bench:flash-sale [-- --shoppers 1000] [--stock 100] [--concurrency 64]`: the flash
// sale of docs/capacity.md, run against the whole shop on loopback. The production-shaped bundle
// (`wrangler deploy --dry-run`) is served by Miniflare on 127.0.0.1 with a fresh local state (never
// your dev data). `--shoppers` shoppers sign up and in, then all at once (at most `--concurrency`
// in flight) add the one hot product to their cart, apply the one coupon (one use per customer),
// check out and pay in the payment simulator (signed webhooks, as Stripe sends them).
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
const STOCK = Number(opt("stock", "100"));
const CONCURRENCY = Math.min(256, Number(opt("concurrency", "64")));
const PORT = Number(opt("port", "8797"));
const BASE = `http://127.0.0.1:${PORT}`;
const ORIGIN = "http://localhost:8787"; // PUBLIC_ORIGIN of wrangler.toml: the CSRF check compares with it
const PASSWORD = "violet-otter-lantern-harbour-57";
const PRODUCT = "prd_flash_hot";
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
  await db
    .prepare(
      "INSERT INTO products (id, slug, name, description, price_cents, currency, stock, hidden) VALUES (?, 'flash-hot', 'The hot one', 'Flash sale', 2500, 'USD', ?, 0)",
    )
    .bind(PRODUCT, STOCK)
    .run();
  await db.prepare("INSERT INTO coupons (code, percent_off, max_redemptions, per_customer_limit, active) VALUES (?, 10, NULL, 1, 1)").bind(COUPON).run();

  log(`signing up and in ${SHOPPERS} shoppers (two password hashes each; the slow part)`);
  const signUpStart = Date.now();
  const shoppers = await pool(
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

  log(`the sale: ${SHOPPERS} shoppers, ${STOCK} in stock, coupon ${COUPON} (one use per customer), ${CONCURRENCY} in flight`);
  const saleStart = Date.now();
  const outcomes = await pool(shoppers, CONCURRENCY, async (s) => {
    const t0 = performance.now();
    const add = await send("POST", "/api/cart/items", { headers: json(s.cookie, s.ip), body: JSON.stringify({ productId: PRODUCT, quantity: 1 }) });
    if (add.status !== 200) return { step: "add", status: add.status, code: safeCode(add.body) };
    const coupon = await send("PUT", "/api/cart/coupon", { headers: json(s.cookie, s.ip), body: JSON.stringify({ code: COUPON }) });
    if (coupon.status !== 200) return { step: "coupon", status: coupon.status, code: safeCode(coupon.body) };
    const t1 = performance.now();
    const checkout = await send("POST", "/api/checkout", { headers: json(s.cookie, s.ip), body: "{}" });
    const checkoutMs = performance.now() - t1;
    if (checkout.status !== 201) return { step: "checkout", status: checkout.status, code: safeCode(checkout.body), checkoutMs };
    const { checkoutUrl } = JSON.parse(checkout.body);
    const pay = await send("POST", new URL(checkoutUrl).pathname, {
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": s.ip },
      body: "outcome=paid",
    });
    if (pay.status !== 303) return { step: "pay", status: pay.status, code: safeCode(pay.body), checkoutMs };
    return { step: "paid", status: 303, checkoutMs, totalMs: performance.now() - t0 };
  });
  const saleSeconds = (Date.now() - saleStart) / 1000;

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
  const latencies = outcomes
    .map((o) => o.checkoutMs)
    .filter((x) => x !== undefined)
    .sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(0) : "—");
  const expectedPaid = Math.min(STOCK, SHOPPERS);
  const checks = [
    ["nothing oversold: stock is never below zero", stock >= 0],
    [`stock + units sold = ${STOCK}`, stock + soldUnits === STOCK],
    [`${expectedPaid} orders paid (every unit sold once)`, paid === expectedPaid && soldUnits === expectedPaid],
    ["no order left open", open === 0],
    [
      "each paid order used the coupon once, one use per customer",
      redemptions.n === paidWithCoupon && redemptions.users === redemptions.n && paidWithCoupon === paid,
    ],
    ["the audit log has one checkout.started per order written", auditStarted === ordersWritten],
    ["the audit log has one order.paid per paid order", auditPaid === paid],
    ["the audit chain verifies (GET /readyz)", ready.status === 200],
  ];
  const report = [
    `| flash sale (${new Date().toISOString()}, ${os.cpus().length} cores) | |`,
    "|---|---|",
    `| shoppers / stock / in flight | ${SHOPPERS} / ${STOCK} / ${CONCURRENCY} |`,
    `| sale took | ${saleSeconds.toFixed(1)} s (${(SHOPPERS / saleSeconds).toFixed(0)} shoppers/s through add + coupon + checkout) |`,
    `| checkout latency p50 / p99 | ${pct(0.5)} / ${pct(0.99)} ms |`,
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
    const [start, end] = ["<!-- flash-sale:start -->", "<!-- flash-sale:end -->"];
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
