// The e2e harness: the dev server (a fresh `npm run dev` in its own process group), the headless
// browser, per-journey screenshots, and the error watch (console errors, page errors, CSP
// violations). Plain Node and playwright-core; no test framework, so there is nothing to install.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// The shop's PUBLIC_ORIGIN in .dev.vars.example: the CSRF check compares Origin with it, so the
// browser must use this exact origin (not 127.0.0.1).
export const BASE = "http://localhost:8787";
export const RESULTS = path.join(ROOT, "test-results");
const SERVER_LOG = path.join(RESULTS, "dev-server.log");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function healthy() {
  try {
    return (await fetch("http://127.0.0.1:8787/healthz", { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** KEY=VALUE lines of .dev.vars (which `npm run dev` creates from .dev.vars.example when missing). */
export function readDevVars() {
  const vars = {};
  for (const line of readFileSync(path.join(ROOT, ".dev.vars"), "utf8").split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

/**
 * Starts `npm run dev` on a fresh local state (so every run sees the same demo data and a new dev
 * admin), and resolves once it answers /healthz and has seeded the dev admin.
 */
export async function startServer() {
  if (await healthy()) throw new Error("something already answers on :8787; stop it first (the e2e run needs a fresh server)");
  // dev.mjs has no option for another persistence directory, so the local dev database starts
  // over: the run is reproducible, and `npm run dev` re-seeds the demo data next time.
  console.log("e2e: note: this resets the local dev database (.wrangler/state)");
  rmSync(path.join(ROOT, ".wrangler", "state"), { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  const log = openSync(SERVER_LOG, "w");
  // detached: its own process group, so stopServer() ends npm, dev.mjs, wrangler and workerd together.
  const child = (serverChild = spawn("npm", ["run", "dev"], { cwd: ROOT, detached: true, stdio: ["ignore", log, log], env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" } }));
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`npm run dev exited early (${exited.code ?? exited.signal}); see ${path.relative(ROOT, SERVER_LOG)}`);
    const text = readFileSync(SERVER_LOG, "utf8");
    // dev.mjs prints one of these once /healthz answered and the admin seeding finished.
    if (/dev admin \S+ (created|ready)|warning: seeding the dev admin|dev admin was not seeded/.test(text) && (await healthy())) {
      if (/warning/.test(text.split("dev admin").slice(-1)[0] ?? "")) console.log("  (dev server warned while seeding the admin; see the server log)");
      return child;
    }
    await sleep(500);
  }
  throw new Error(`the dev server did not become ready within 180 s; see ${path.relative(ROOT, SERVER_LOG)}`);
}

/** The `npm run dev` process, known as soon as it is spawned (so an interrupted start can be stopped). */
let serverChild = null;

/** Ends the whole process group of `npm run dev` (TERM, then KILL after 5 s). */
export async function stopServer(child = serverChild) {
  // The group, not just npm: wrangler or workerd may outlive an npm that already exited.
  if (!child?.pid) return;
  const group = -child.pid;
  try {
    process.kill(group, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    try {
      process.kill(group, 0);
    } catch {
      return; // the group is gone
    }
  }
  try {
    process.kill(group, "SIGKILL");
  } catch {
    // already gone
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/** Reports CSP violations to the console as errors, where the console watch sees them. */
const CSP_WATCH = `document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + e.documentURI);
});`;

/** The journey that is running: errors from any page (a shared one too) are charged to it. */
let active = null;

/**
 * One journey's tools: fresh browser contexts whose console errors, page errors and CSP violations
 * fail the journey (unless allowed on purpose), and numbered screenshots under test-results/<journey>/.
 */
export class Journey {
  constructor(browser, name) {
    this.browser = browser;
    this.name = name;
    this.dir = path.join(RESULTS, name);
    this.shots = 0;
    this.errors = [];
    this.allowed = [];
    this.contexts = [];
    this.page = null;
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  /** Makes this the journey that page errors are charged to. */
  start() {
    active = this;
  }

  /**
   * A new browser context (no cookies) with one page; the first one becomes `this.page`.
   * `keep: true` leaves it open after the journey, for a later journey that continues it.
   */
  async newPage({ keep = false } = {}) {
    const context = await this.browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(20_000);
    await context.addInitScript(CSP_WATCH);
    if (!keep) this.contexts.push(context);
    const page = await context.newPage();
    this.watch(page);
    if (!this.page) this.page = page;
    return page;
  }

  watch(page) {
    page.on("console", (msg) => {
      if (msg.type() !== "error" || !active) return;
      const text = `console error on ${page.url()}: ${msg.text()}`;
      if (!active.allowed.some((re) => re.test(msg.text()))) active.errors.push(text);
    });
    page.on("pageerror", (error) => active?.errors.push(`page error on ${page.url()}: ${error.message}`));
  }

  /** Tolerate console errors matching `re` for the rest of the journey (an expected 401, say). */
  allowConsole(re) {
    this.allowed.push(re);
  }

  /** Saves test-results/<journey>/NN-<step>.png and fails the step if an error was seen so far. */
  async shot(step, page = this.page) {
    this.shots += 1;
    const file = path.join(this.dir, `${String(this.shots).padStart(2, "0")}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    this.assertNoErrors(step);
  }

  assertNoErrors(where) {
    if (this.errors.length) throw new Error(`browser errors by step "${where}":\n    ${this.errors.join("\n    ")}`);
  }

  async close() {
    for (const context of this.contexts) await context.close().catch(() => {});
  }
}

/** A fetch from inside the page (same origin, real cookies, the browser adds Origin). */
export async function pageApi(page, method, url, body) {
  return page.evaluate(
    async ([method, url, body]) => {
      const res = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let data = null;
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
      return { status: res.status, data };
    },
    [method, url, body],
  );
}

/** RFC 4648 base32 (the authenticator key format) to bytes. */
function base32Decode(input) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const clean = input.toUpperCase().replace(/=+$/, "").replace(/\s+/g, "");
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits), `offset` periods from now. */
export function totp(secret, offset = 0, now = Date.now()) {
  const counter = Math.floor(now / 1000 / 30) + offset;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const hmac = createHmac("sha1", base32Decode(secret)).update(msg).digest();
  const off = hmac[hmac.length - 1] & 0x0f;
  const code = (hmac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, "0");
}

/** A unique address and a 15+ character passphrase that no common-password list holds. */
export function newCredentials(tag) {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return { name: `E2E ${tag}`, email: `e2e-${tag}-${id}@example.test`, password: `quiet-otter-${id}-lantern-${tag}` };
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}
