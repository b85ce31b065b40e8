// The e2e harness: per-journey screenshots, the error watch (console errors, page errors, CSP
// violations), and the page checks run at every screenshot: standards mode (a doctype) and
// axe-core's accessibility rules. The dev server, the browser, retries and traces are
// @playwright/test's (playwright.config.mjs).
import { readFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import { base32 } from "@better-auth/utils/base32";
import { createOTP } from "@better-auth/utils/otp";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const E2E_PORT = Number(process.env.E2E_PORT || 8788);
/** The origin the e2e server runs on; dev.mjs sets PUBLIC_ORIGIN to it (the CSRF check compares Origin). */
export const BASE = `http://localhost:${E2E_PORT}`;
/** The e2e server's own local state (never the developer's .wrangler/state). */
export const STATE_DIR = ".wrangler/e2e-state";
export const RESULTS = path.join(ROOT, "test-results");

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The e2e server's development values (test-e2e/e2e.vars), e.g. the dev admin's credentials. */
export function e2eVars() {
  return parseEnv(readFileSync(path.join(ROOT, "test-e2e", "e2e.vars"), "utf8"));
}

/** Reports CSP violations to the console as errors, where the console watch sees them. */
const CSP_WATCH = `document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + e.documentURI);
});`;

/**
 * Serious or critical axe findings that are known, reported to the owners of the page, and not
 * yet fixed: `rule` on pages whose path matches `path`, and only there. Each entry says what the
 * fix is and whose folder it is in; a run prints every known finding it meets, so the list is
 * visible until it is empty. Delete an entry once its fix lands.
 */
export const KNOWN_AXE = [];
const reportedKnown = new Set();

/** The widths every journey's pages must fit (issue 32): a phone (390×844) and a desktop (1280×900). */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

/**
 * Pages known to be wider than the viewport, reported to their owners and not yet fixed: `path`
 * matches the page, `fix` says whose folder the fix is in. Like KNOWN_AXE, a run prints every
 * known one it meets; delete an entry once its fix lands. Any other page wider than its viewport
 * fails the journey.
 */
export const KNOWN_WIDE = [{ path: /^\/admin\/audit/, fix: "src/admin/audit-pages.tsx (staff pages: desk): the audit table is ~2,900 px wide at 1280" }];
const reportedWide = new Set();

/**
 * Whether the page is wider than its viewport (`document.documentElement.scrollWidth` beyond
 * `innerWidth`: the visitor would scroll sideways). Null when it fits, or the finding.
 */
async function widthProblem(page) {
  const size = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  if (size.scroll <= size.inner) return null;
  const urlPath = new URL(page.url()).pathname;
  const known = KNOWN_WIDE.find((k) => k.path.test(urlPath));
  if (known) {
    const key = `${urlPath}@${size.inner}`;
    if (!reportedWide.has(key)) console.log(`  known wide page (${urlPath}: ${size.scroll} px in ${size.inner}), to fix in ${known.fix}`);
    reportedWide.add(key);
    return null;
  }
  return `${page.url()} is ${size.scroll} px wide in a ${size.inner} px viewport (sideways scrolling)`;
}

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
    this.notes = [];
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
  async newPage({ keep = false, viewport = DESKTOP } = {}) {
    const context = await this.browser.newContext({ baseURL: BASE, viewport });
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
    // Every page any journey loads must fit its viewport, whether or not a screenshot is taken of it.
    page.on("load", async () => {
      const journey = active;
      const problem = await widthProblem(page).catch(() => null); // navigated away meanwhile: the next load is checked
      if (problem && journey) journey.errors.push(problem);
    });
  }

  /** Tolerate console errors matching `re` for the rest of the journey (an expected 401, say). */
  allowConsole(re) {
    this.allowed.push(re);
  }

  /**
   * Saves test-results/<journey>/NN-<step>.png, then checks the page: standards mode, no serious
   * or critical accessibility violation (axe-core), and no browser error seen so far.
   */
  async shot(step, page = this.page) {
    this.shots += 1;
    const file = path.join(this.dir, `${String(this.shots).padStart(2, "0")}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    await checkPage(page, step);
    this.assertNoErrors(step);
  }

  assertNoErrors(where) {
    if (this.errors.length) throw new Error(`browser errors by step "${where}":\n    ${this.errors.join("\n    ")}`);
  }

  async close() {
    for (const context of this.contexts) await context.close().catch(() => {});
  }
}

/** No page may be wider than its viewport (phones: 390 px): the document does not scroll sideways. */
export async function assertFits(page, step) {
  const { doc, view } = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert(doc <= view, `step "${step}": ${page.url()} is ${doc} px wide in a ${view} px viewport`);
}

/** Every page of every journey: rendered in standards mode, no wider than its viewport, free of serious/critical axe findings. */
export async function checkPage(page, step) {
  const mode = await page.evaluate(() => document.compatMode);
  assert(mode === "CSS1Compat", `step "${step}": ${page.url()} renders in quirks mode (${mode}): no <!DOCTYPE html>`);
  // As it stands now (after the step's clicks and script), not only as it loaded.
  const wide = await widthProblem(page);
  assert(wide === null, `step "${step}": ${wide}`);
  // Evaluated through the DevTools protocol, so the page's CSP (scripts from 'self' only) allows it.
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
  const urlPath = new URL(page.url()).pathname;
  const known = (v) => KNOWN_AXE.find((k) => k.rule === v.id && k.path.test(urlPath));
  for (const v of violations.filter(known)) {
    const key = `${v.id} ${urlPath}`;
    if (!reportedKnown.has(key)) console.log(`  known axe finding (${v.impact} ${v.id} on ${urlPath}), to fix in ${known(v).fix}`);
    reportedKnown.add(key);
  }
  const unknown = violations.filter((v) => !known(v));
  if (unknown.length) {
    throw new Error(
      `step "${step}": axe-core found ${unknown.length} serious/critical violation(s) on ${urlPath}:\n    ${unknown
        .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.join(", ")})`)
        .join("\n    ")}`,
    );
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

/**
 * RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) of the base32 key the account page shows, `offset`
 * periods from now, computed by better-auth's own OTP library.
 */
export function totp(secret, offset = 0, now = Date.now()) {
  const key = new TextDecoder().decode(base32.decode(secret.replace(/=+$/, "")));
  return createOTP(key).hotp(Math.floor(now / 1000 / 30) + offset);
}

/** A unique address and a 15+ character passphrase that no common-password list holds. */
export function newCredentials(tag) {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return { name: `E2E ${tag}`, email: `e2e-${tag}-${id}@example.test`, password: `quiet-otter-${id}-lantern-${tag}` };
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}
