#!/usr/bin/env node
// `npm run doctor [-- --config wrangler.toml]`: checks the local config and wrangler.toml against
// the production checklist in docs/operations.md (P17) and prints what is unsafe.
// Exit code 1 when anything is UNSAFE; WARN lines are operator steps code cannot check.
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { experimental_readRawConfig } from "wrangler";

/** Every finding for the project whose wrangler config is `configPath` (the checks of docs/operations.md). */
export function doctorFindings(configPath = "wrangler.toml") {
  const root = path.dirname(path.resolve(configPath));
  const findings = [];
  const unsafe = (what, why) => findings.push({ level: "UNSAFE", what, why });
  const warn = (what, why) => findings.push({ level: "WARN", what, why });
  const ok = (what) => findings.push({ level: "ok", what, why: "" });

  const { rawConfig: cfg } = experimental_readRawConfig({ config: configPath });
  const prod = cfg.env?.production;
  const SECRET_NAME = /secret|password|token|key|private/i;
  const SECRET_VALUE = /^(sk|rk)_(live|test)_|^whsec_|-----BEGIN/;

  // 1. Secrets never in wrangler.toml vars (they are committed): only `wrangler secret put`.
  for (const [scope, vars] of [
    ["[vars]", cfg.vars ?? {}],
    ["[env.production.vars]", prod?.vars ?? {}],
  ]) {
    for (const [name, value] of Object.entries(vars)) {
      if (SECRET_NAME.test(name) || SECRET_VALUE.test(String(value)))
        unsafe(`${scope} ${name}`, "a secret in wrangler.toml is committed to git; use `wrangler secret put`");
    }
  }
  if (!prod) {
    unsafe("[env.production]", "missing: production must be an explicit environment");
  } else {
    const v = prod.vars ?? {};
    v.ENVIRONMENT === "production" ? ok("production ENVIRONMENT") : unsafe("[env.production.vars] ENVIRONMENT", 'must be "production"');
    v.PAYMENTS_PROVIDER === "stripe"
      ? ok("production PAYMENTS_PROVIDER")
      : unsafe("[env.production.vars] PAYMENTS_PROVIDER", 'must be "stripe" (the simulator is refused)');
    if (!String(v.PUBLIC_ORIGIN ?? "").startsWith("https://")) unsafe("[env.production.vars] PUBLIC_ORIGIN", "must be an https origin");
    else if (/example\.(com|org|net)/.test(v.PUBLIC_ORIGIN)) warn("[env.production.vars] PUBLIC_ORIGIN", "still the example origin; set your shop's domain");
    else ok("production PUBLIC_ORIGIN");
    if (v.DEV_ROUTES === "on") unsafe("[env.production.vars] DEV_ROUTES", "development routes must be off in production");
    if (prod.workers_dev !== false) unsafe("[env.production] workers_dev", "set false so the shop is only served on its own domain (HSTS, cookies)");
    else ok("production workers_dev = false");
    const db = (prod.d1_databases ?? []).find((d) => d.binding === "DB");
    if (!db) unsafe("[env.production] DB", "no D1 binding");
    else if (/^0{8}-/.test(db.database_id ?? "")) warn("[env.production] DB database_id", "still the placeholder id; set the real database id");
    else ok("production D1 binding");
    const doNames = new Set((prod.durable_objects?.bindings ?? []).map((b) => b.name));
    for (const name of ["CART", "COUPON", "LOGIN_GUARD", "AUDIT_LOG"]) {
      if (!doNames.has(name))
        unsafe(`[env.production] durable object ${name}`, "binding missing: its guarantees (serialised carts, coupons, throttling, audit chain) would be gone");
    }
    // Mail and outbound webhooks go through queues with dead-letter queues (decision 016, 023).
    const producers = new Set((prod.queues?.producers ?? []).map((q) => q.binding));
    const consumers = new Map((prod.queues?.consumers ?? []).map((q) => [q.queue, q]));
    for (const [binding, queue] of [
      ["MAIL_QUEUE", "bastion-mail"],
      ["WEBHOOK_QUEUE", "bastion-webhooks"],
    ]) {
      if (!producers.has(binding)) unsafe(`[env.production] queue ${binding}`, "producer binding missing");
      else if (!consumers.get(queue)?.dead_letter_queue || !consumers.has(`${queue}-dlq`))
        unsafe(`[env.production] queue ${queue}`, "needs a consumer with a dead-letter queue, and a consumer for the dead-letter queue");
      else ok(`production queue ${queue} with its dead-letter queue`);
    }
    if (prod.observability?.enabled === false)
      unsafe("[env.production] observability", "Workers Logs keep the `audit_write_failed` fallback lines; leave observability on");
  }
  if (cfg.observability?.enabled !== true) warn("[observability]", "enable Workers Logs so audit fallbacks and misconfiguration are visible");
  // Static files may skip the worker (decision 001) only with the security headers of <assets>/_headers,
  // and only the static folders may: every route must still reach the worker first ("/*").
  const STATIC_HEADERS = ["Content-Security-Policy:", "Strict-Transport-Security:", "X-Content-Type-Options: nosniff", "X-Frame-Options: DENY"];
  for (const [scope, assets] of [
    ["[assets]", cfg.assets],
    ["[env.production.assets]", prod?.assets],
  ]) {
    if (!assets || assets.run_worker_first === true) continue;
    const rules = Array.isArray(assets.run_worker_first) ? assets.run_worker_first : [];
    const headersFile = path.join(root, assets.directory ?? "public", "_headers");
    const headers = existsSync(headersFile) ? readFileSync(headersFile, "utf8") : "";
    if (!rules.includes("/*") || rules.some((r) => r !== "/*" && !r.startsWith("!")))
      unsafe(`${scope} run_worker_first`, 'must be true, or ["/*", "!/<static folder>/*", …]: every route reaches the worker first, only static files skip it');
    else if (!STATIC_HEADERS.every((h) => headers.includes(h)))
      unsafe(`${assets.directory ?? "public"}/_headers`, "static files served without the worker need the security headers (CSP, HSTS, nosniff, frame denial)");
    else ok(`${scope} static files served by the platform with _headers`);
  }

  // 2. Local files: .dev.vars is never committed and never holds live keys.
  const gitignore = existsSync(path.join(root, ".gitignore")) ? readFileSync(path.join(root, ".gitignore"), "utf8") : "";
  for (const entry of [".dev.vars", "backups/", ".wrangler/"]) {
    gitignore.split("\n").some((l) => l.trim() === entry) ? ok(`.gitignore lists ${entry}`) : unsafe(".gitignore", `does not list ${entry}`);
  }
  const devVarsPath = path.join(root, ".dev.vars");
  if (existsSync(devVarsPath)) {
    const devVars = readFileSync(devVarsPath, "utf8");
    if (/^\s*STRIPE_SECRET_KEY\s*=\s*["']?(sk|rk)_live_/m.test(devVars))
      unsafe(".dev.vars STRIPE_SECRET_KEY", "a live Stripe key on a developer machine; use a test key locally");
    if (/^\s*ENVIRONMENT\s*=\s*["']?production/m.test(devVars)) unsafe(".dev.vars ENVIRONMENT", "local development must not run as production");
    if ((statSync(devVarsPath).mode & 0o077) !== 0) warn(".dev.vars permissions", "readable by other users; chmod 600 .dev.vars");
  }
  const backups = path.join(root, "backups");
  if (existsSync(backups) && (statSync(backups).mode & 0o077) !== 0) warn("backups/ permissions", "dumps hold personal data; chmod 700 backups");

  // 3. Operator steps code cannot see (docs/operations.md): always listed as reminders.
  warn("Stripe key", "use a restricted key (rk_live_) with only Checkout Sessions write, Coupons write, Refunds write (README, Stripe keys)");
  warn("Turnstile", "production site and secret keys from your Cloudflare dashboard, not the dummy test keys");
  warn(
    "WEBHOOK_SECRETS_KEY",
    "set 32+ random characters with `wrangler secret put WEBHOOK_SECRETS_KEY --env production` (the worker refuses to serve without it)",
  );
  warn(
    "Outbound webhooks",
    "bind no private network (Tunnel, VPC) to the worker: a public name resolving to a private address is not caught (docs/operations.md)",
  );
  warn("Cloudflare account", "review members: only operators may read D1, Workers secrets and logs; enforce 2FA/SSO");

  return findings;
}

/** The findings as the command prints them, and how many are UNSAFE. */
export function doctorReport(findings) {
  const width = Math.max(...findings.map((f) => f.what.length));
  const bad = findings.filter((f) => f.level === "UNSAFE").length;
  const lines = findings.map((f) => `${f.level.padEnd(6)} ${f.what.padEnd(width)}  ${f.why}`);
  lines.push(bad ? `\n${bad} unsafe setting(s); see docs/operations.md` : "\nno unsafe setting found (check the WARN lines by hand)");
  return { text: lines.join("\n"), bad };
}

// Run as a command (not when a test imports the checks).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const { text, bad } = doctorReport(doctorFindings(args.includes("--config") ? args[args.indexOf("--config") + 1] : "wrangler.toml"));
  console.log(text);
  process.exit(bad ? 1 : 0);
}
