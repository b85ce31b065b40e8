// The journeys, in the order they run. Each is `async (t, state)`: `t` is a Journey (pages,
// screenshots, error watch), `state` carries what a later journey continues from.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { assert, assertFits, BASE, DESKTOP, newCredentials, PHONE, pageApi, ROOT, STATE_DIR, totp } from "./harness.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the locator's text matches `re` (and says what it saw when it does not). */
async function waitText(locator, re, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last = "";
  while (Date.now() < deadline) {
    last = (
      (await locator
        .first()
        .textContent({ timeout: 2_000 })
        .catch(() => null)) ?? ""
    ).trim();
    if (re.test(last)) return last;
    await sleep(100);
  }
  throw new Error(`expected ${re} in ${locator}, got ${JSON.stringify(last.slice(0, 300))}`);
}

async function waitPath(page, re, timeout = 15_000) {
  await page.waitForURL((url) => re.test(url.pathname + url.search), { timeout });
}

/** "$1,234.56" → 123456 */
function cents(text) {
  const m = /(-|−)?\$([\d,]+)\.(\d\d)/.exec(text);
  assert(m, `no price in ${JSON.stringify(text)}`);
  return Number(m[2].replaceAll(",", "")) * 100 + Number(m[3]);
}

async function addToCart(page, slug, quantity = 1) {
  await page.goto(`/products/${slug}`);
  await page.fill("#qty", String(quantity));
  await page.click("form[data-add-to-cart] button[type=submit]");
  await waitText(page.locator("form[data-add-to-cart] .form-message"), /Added to your cart\./);
}

/**
 * Signs up, then in (sign-up opens no session), through the API from inside the page, so the
 * session cookie lands in this context. Faster than the form, which 03-sign-up covers.
 */
async function signUpInPage(page, creds) {
  if (!page.url().startsWith(BASE)) await page.goto("/");
  const res = await pageApi(page, "POST", "/api/auth/sign-up/email", creds);
  assert(res.status === 200, `sign-up answered ${res.status}: ${JSON.stringify(res.data).slice(0, 300)}`);
  const signin = await pageApi(page, "POST", "/api/auth/sign-in/email", { email: creds.email, password: creds.password });
  assert(signin.status === 200, `sign-in after sign-up answered ${signin.status}: ${JSON.stringify(signin.data).slice(0, 300)}`);
}

/**
 * Opens the "Confirm your email" link from the dev outbox, as the owner would: enrolling TOTP or a
 * passkey needs a verified address (decision 012). The link verifies the address without changing
 * who is signed in in this browser.
 */
async function verifyEmailInPage(t, page, creds) {
  await page.goto("/account");
  await page.locator("[data-verify-email]").waitFor();
  await t.shot("email-not-verified");
  let link = null;
  for (let i = 0; i < 50 && !link; i++) {
    const outbox = await pageApi(page, "GET", "/api/dev/outbox");
    assert(outbox.status === 200, `GET /api/dev/outbox answered ${outbox.status}`);
    const mail = outbox.data.items.find((m) => m.to === creds.email && /confirm your email/i.test(m.subject));
    link = mail ? (/https?:\/\/\S+verify-email\S*/.exec(mail.text)?.[0] ?? null) : null;
    if (!link) await sleep(200);
  }
  assert(link, `no "Confirm your email" mail for ${creds.email} in the dev outbox`);
  assert(link.startsWith(BASE), `the verification link is not on the shop's origin: ${link}`);
  await page.goto(link);
  const me = await pageApi(page, "GET", "/api/me");
  assert(
    me.status === 200 && me.data.user.email === creds.email && me.data.user.emailVerified === true,
    `/api/me after the verification link: ${JSON.stringify(me)}`,
  );
  await page.goto("/account");
  assert((await page.locator("[data-verify-email]").count()) === 0, "the account page still asks to verify the email");
}

/** Waits for a mail in the dev outbox whose subject matches (the mail queue delivers it within seconds). */
async function waitForMail(page, subject) {
  for (let i = 0; i < 75; i++) {
    const outbox = await pageApi(page, "GET", "/api/dev/outbox");
    assert(outbox.status === 200, `GET /api/dev/outbox answered ${outbox.status}`);
    const mail = outbox.data.items.find((m) => subject.test(m.subject));
    if (mail) return mail;
    await sleep(200);
  }
  throw new Error(`no mail matching ${subject} in the dev outbox`);
}

/**
 * Proves `email` for the page's cart with the cart page's panel, as the owner of the mailbox does:
 * ask for the code, read it from the dev outbox, type it back (issue 33).
 */
async function proveMailboxInPage(t, page, email, shot) {
  // Codes mailed before this request are not this request's (the outbox answers newest first, but
  // the new mail may not be delivered yet when the loop first reads it).
  await page.goto("/cart");
  const before = await pageApi(page, "GET", "/api/dev/outbox");
  const seen = new Set((before.data?.items ?? []).filter((m) => m.to === email).map((m) => m.subject));
  await page.fill("#proof-email", email);
  await page.click("form[action='/cart/mailbox-proof'] button[type=submit]");
  await waitText(page.locator("p.form-message"), /We mailed you a 6-digit code/);
  if (shot) await fitsPhoneAndDesktop(t, page, `${shot}-code-sent`);
  let code = null;
  for (let i = 0; i < 75 && !code; i++) {
    const outbox = await pageApi(page, "GET", "/api/dev/outbox");
    assert(outbox.status === 200, `GET /api/dev/outbox answered ${outbox.status}`);
    const mail = outbox.data.items.find((m) => m.to === email && !seen.has(m.subject) && /^Your .+ code: \d{6}$/.test(m.subject));
    code = mail ? /\d{6}/.exec(mail.subject)[0] : null;
    if (!code) await sleep(200);
  }
  assert(code, `no code mailed to ${email} in the dev outbox`);
  await page.fill("#proof-code", code);
  await page.click("form[action='/cart/mailbox-proof/confirm'] button[type=submit]");
  await waitText(page.locator("p.form-message"), /Your email address is confirmed for this cart\./);
  await waitText(page.locator("[data-proven]"), new RegExp(email.replace(/[.+]/g, "\\$&")));
  if (shot) await fitsPhoneAndDesktop(t, page, `${shot}-proven`);
}

/** The sign-in form; resolves "done" at /account or "second-factor" when the code step shows. */
async function signIn(page, { email, password }) {
  await page.goto("/sign-in");
  const form = page.locator("form[data-auth-form=signin]");
  await form.locator("input[name=email]").fill(email);
  await form.locator("input[name=password]").fill(password);
  await form.locator("button[type=submit]").click();
  const secondStep = page.locator("[data-second-factor]");
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (new URL(page.url()).pathname === "/account") return "done";
    if (await secondStep.isVisible().catch(() => false)) {
      assert(await form.isHidden(), "the password form still shows next to the second-factor step");
      return "second-factor";
    }
    // Short timeout: after a successful sign-in the form is gone (the page navigated).
    const msg = (
      (await form
        .locator(".form-message")
        .textContent({ timeout: 300 })
        .catch(() => "")) ?? ""
    ).trim();
    if (msg) throw new Error(`sign-in refused: ${msg}`);
    await sleep(100);
  }
  throw new Error("sign-in neither reached /account nor asked for a second factor");
}

async function signOut(page) {
  await page.goto("/account");
  await page.click("form[data-auth-form=signout] button[type=submit]");
  await waitPath(page, /^\/$/);
  // Signed out: /account sends us to the sign-in page (a redirect, so no 401 in the console).
  await page.goto("/account");
  await waitPath(page, /^\/sign-in/);
}

/** Turns TOTP on from /account; returns the base32 key read from the page. */
async function enableTotp(t, page, password) {
  await page.goto("/account");
  const setup = page.locator("[data-totp-setup]");
  assert(await setup.isHidden(), "the TOTP setup panel (empty QR, key, code field) shows before Set up is pressed");
  const form = page.locator("form[data-auth-form=enable-totp]");
  await form.locator("input[name=password]").fill(password);
  await form.locator("button[type=submit]").click();
  await setup.waitFor({ state: "visible" });
  const secret = await waitText(page.locator("[data-totp-secret]"), /^[A-Z2-7]{16,}=*$/);
  await page.locator("img[data-totp-qr]").waitFor({ state: "visible" });
  const backup = (await page.locator("[data-backup-codes]").textContent()) ?? "";
  assert(backup.trim().split(/\s+/).length >= 5, `expected backup codes, got ${JSON.stringify(backup)}`);
  await t.shot("totp-setup", page);
  const verify = page.locator("form[data-auth-form=verify-totp-setup]");
  await verify.locator("input[name=code]").fill(await unspentTotp(secret));
  await verify.locator("button[type=submit]").click();
  await waitText(page.locator(".panel h2 .tag"), /^On$/);
  return secret;
}

/**
 * Deletes the newest audit event from the e2e server's local D1 (its own state folder) with the
 * append-only trigger lifted and put back, as someone with direct database access would
 * (wrangler, not the shop).
 */
function deleteNewestAuditEvent() {
  const sql = [
    "DROP TRIGGER IF EXISTS audit_events_no_delete;",
    "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events);",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;",
  ].join("\n");
  execFileSync("npx", ["wrangler", "d1", "execute", "bastion", "--local", "--persist-to", STATE_DIR, "--command", sql], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1" },
  });
}

/** The TOTP periods whose code was already sent, per secret: a code is accepted once (RFC 6238 §5.2). */
const spentPeriods = new Map();

/**
 * A code of `secret` not sent before: this period's, the next one's or the last one's (the server
 * accepts one period of drift); waits for a new period when all are spent.
 */
// verify-totp accepts 5 codes a minute per address (src/accounts/auth.ts) and every journey comes
// from 127.0.0.1: the journeys keep within that limit, as one household's browsers would have to.
const codeSubmissions = [];
async function withinTotpRateLimit() {
  for (;;) {
    const recent = codeSubmissions.filter((at) => Date.now() - at < 61_000);
    if (recent.length < 5) break;
    await sleep(61_000 - (Date.now() - Math.min(...recent)));
  }
  codeSubmissions.push(Date.now());
}

async function unspentTotp(secret) {
  await withinTotpRateLimit();
  const spent = spentPeriods.get(secret) ?? new Set();
  spentPeriods.set(secret, spent);
  for (;;) {
    const now = Date.now();
    const current = Math.floor(now / 30_000);
    // An earlier period's code only while this period has over 5 s to run (its code stays in the window).
    const offsets = now % 30_000 < 25_000 ? [0, 1, -1] : [0, 1];
    const offset = offsets.find((o) => !spent.has(current + o));
    if (offset !== undefined) {
      spent.add(current + offset);
      codeSubmissions[codeSubmissions.length - 1] = Date.now(); // sent now, not when the wait began
      return totp(secret, offset, now);
    }
    await sleep(500);
  }
}

/** The second step of a sign-in, with a code not sent before. */
async function enterTotp(page, secret) {
  const form = page.locator("form[data-auth-form=totp]");
  await form.locator("input[name=code]").fill(await unspentTotp(secret));
  await form.locator("button[type=submit]").click();
  await waitPath(page, /^\/account/);
}

export const journeys = [
  [
    "01-browse-search",
    async (t) => {
      const page = await t.newPage();
      await page.goto("/");
      await waitText(page.locator("h1"), /Well-made things/);
      const cards = page.locator("ul.grid li.card");
      assert((await cards.count()) === 24, `home shows ${await cards.count()} products, expected a first page of 24`);
      assert(await page.locator("a[rel=next]").isVisible(), "no Next page link with 28 visible products");
      await waitText(page.locator("[data-result-count]"), /^28 products · showing 1–24$/);
      // The demo pictures come from the image bucket, like uploads (dev seed: POST /api/dev/demo-images).
      const src = (await page.locator("ul.grid img").first().getAttribute("src")) ?? "";
      assert(/^\/media\/products\/[0-9a-f]{64}\.svg$/.test(src), `the first card's image is ${src}, not from /media/`);
      await t.shot("home");
      await page.click("a[rel=next]");
      assert((await cards.count()) === 4, `page 2 shows ${await cards.count()} products, expected 4`);
      await t.shot("home-page-2");
      // A category, sorted by price: every card in it, cheapest first.
      await page.click("nav.categories a:has-text('Kitchen')");
      await waitText(page.locator("h1.page-title"), /^Kitchen$/);
      await page.selectOption("#sort", "price-asc");
      await page.click(".sort-form button[type=submit]");
      await waitPath(page, /^\/\?category=kitchen&sort=price-asc$/);
      const prices = (await page.locator("ul.grid .card-price").allTextContents()).map(cents);
      assert(prices.length > 1 && prices.every((p, i) => i === 0 || prices[i - 1] <= p), `kitchen by price: ${prices.join(", ")}`);
      await t.shot("category-by-price");
      await page.fill("#search-q", "mug");
      await page.press("#search-q", "Enter");
      await waitText(page.locator("h1.page-title"), /Results for “mug”/);
      const names = await page.locator("ul.grid .card-title").allTextContents();
      assert(names.includes("Enamel Camp Mug") && names.includes("Travel Press Mug"), `search "mug" found ${names.join(", ")}`);
      await waitText(page.locator(".card", { hasText: "Travel Press Mug" }).locator(".stock.out"), /Out of stock/);
      await t.shot("search-mug");
      await page.fill("#search-q", "prototype");
      await page.press("#search-q", "Enter");
      await waitText(page.locator(".empty"), /No products match/);
      await t.shot("search-hidden-product");
      await page.fill("#search-q", "mug");
      await page.press("#search-q", "Enter");
      await page.click("text=Enamel Camp Mug");
      await waitPath(page, /^\/products\/enamel-camp-mug$/);
      await waitText(page.locator("article.product h1"), /Enamel Camp Mug/);
      await waitText(page.locator("article.product .stock"), /In stock/);
      assert(cents((await page.locator("article.product .price").textContent()) ?? "") > 0, "product has no price");
      await t.shot("product");
      await page.goto("/products/travel-press-mug");
      assert(await page.locator("form[data-add-to-cart] button[type=submit]").isDisabled(), "Sold out button is enabled");
      await t.shot("product-out-of-stock");
      t.allowConsole(/status of 404/);
      const res = await page.goto("/products/prototype-sling-bag");
      assert(res?.status() === 404, `a hidden product's page answered ${res?.status()}`);
      await t.shot("hidden-product-404");
      // The API reference: Swagger UI from our own origin (SRI, CSP unchanged) renders the document.
      await page.goto("/api/docs");
      // Swagger UI parses the whole document in the page: slow on a busy 2-core machine.
      await waitText(page.locator(".swagger-ui .info .title"), /Bastion API/, 45_000);
      await page.locator("#operations-Checkout-startCheckout").waitFor();
      await t.shot("api-reference");
    },
  ],
  [
    "02-guest-cart",
    async (t) => {
      const page = await t.newPage();
      await page.goto("/products/canvas-tote");
      const badge = page.locator("[data-cart-count]").first();
      assert(await badge.isHidden(), "the cart badge shows before anything was added");
      await t.shot("product");
      await page.click("form[data-add-to-cart] button[type=submit]");
      await waitText(page.locator("form[data-add-to-cart] .form-message"), /Added to your cart\./);
      await waitText(badge, /^1$/);
      assert(await badge.isVisible(), "the cart badge is hidden after adding");
      await t.shot("added-badge-1");
      await page.fill("#qty", "2");
      await page.click("form[data-add-to-cart] button[type=submit]");
      await waitText(badge, /^3$/);
      await page.goto("/");
      await waitText(page.locator("[data-cart-count]").first(), /^3$/);
      await page.click("a.nav-cart");
      await waitPath(page, /^\/cart$/);
      const row = page.locator(".cart-lines .cart-line");
      const quantity = row.locator("input[type=number][name=quantity]");
      assert((await row.count()) === 1, `cart has ${await row.count()} lines, expected 1`);
      await waitText(row.locator(".cart-line-name"), /Waxed Canvas Tote/);
      assert((await quantity.inputValue()) === "3", "the cart line's quantity is not 3");
      await t.shot("cart");
      await quantity.fill("2");
      await row.locator("button", { hasText: "Update" }).click();
      await waitText(page.locator("p.form-message"), /Your cart was updated\./);
      assert((await quantity.inputValue()) === "2", "the quantity was not updated to 2");
      await waitText(page.locator("[data-cart-count]").first(), /^2$/);
      await t.shot("cart-updated");
    },
  ],
  [
    "03-sign-up",
    async (t, state) => {
      const page = await t.newPage();
      const creds = newCredentials("shopper");
      await page.goto("/sign-up");
      await t.shot("sign-up");
      const form = page.locator("form[data-auth-form=signup]");
      await form.locator("input[name=name]").fill(creds.name);
      await form.locator("input[name=email]").fill(creds.email);
      await form.locator("input[name=password]").fill(creds.password);
      await form.locator("button[type=submit]").click();
      await waitPath(page, /^\/account$/);
      await waitText(page.locator("main p").first(), new RegExp(`Signed in as ${creds.email.replace(/[.+]/g, "\\$&")} · role customer`));
      const me = await pageApi(page, "GET", "/api/me");
      assert(me.status === 200 && me.data.user.role === "customer", `/api/me: ${JSON.stringify(me)}`);
      await page.locator("[data-passkey-list]").getByText("No passkeys yet.").waitFor();
      await t.shot("account");
      state.shopper = creds;

      // The same account signs in from a browser with JavaScript off: the form posts to /sign-in.
      const noScript = await t.browser.newContext({ baseURL: BASE, javaScriptEnabled: false });
      const plain = await noScript.newPage();
      await plain.goto("/sign-in");
      await plain.fill("form[data-auth-form=signin] input[name=email]", creds.email);
      await plain.fill("form[data-auth-form=signin] input[name=password]", "not-the-passphrase-at-all-42");
      await plain.click("form[data-auth-form=signin] button[type=submit]");
      await waitText(plain.locator("p[role=alert]"), /do not match/);
      await plain.screenshot({ path: `${t.dir}/no-js-sign-in-refused.png` });
      await plain.fill("form[data-auth-form=signin] input[name=password]", creds.password);
      await plain.click("form[data-auth-form=signin] button[type=submit]");
      await waitPath(plain, /^\/account$/);
      await plain.screenshot({ path: `${t.dir}/no-js-signed-in.png` });
      await noScript.close();
    },
  ],
  [
    "04-guest-cart-survives-sign-in",
    async (t, state) => {
      assert(state.shopper, "needs the account from 03-sign-up");
      const page = await t.newPage({ keep: true });
      state.shopperPage = page;
      await addToCart(page, "field-watch", 1);
      await addToCart(page, "dot-grid-notebook", 2);
      await waitText(page.locator("[data-cart-count]").first(), /^3$/);
      await t.shot("guest-cart-before-sign-in");
      assert((await signIn(page, state.shopper)) === "done", "the shopper was asked for a second factor");
      await t.shot("signed-in");
      await page.goto("/cart");
      const names = await page.locator(".cart-lines .cart-line-name").allTextContents();
      assert(
        names.length === 2 && names.includes("Field Watch") && names.includes("Dot Grid Notebook A5"),
        `cart after sign-in holds: ${names.join(", ") || "nothing"}`,
      );
      await waitText(page.locator("[data-cart-count]").first(), /^3$/);
      await t.shot("cart-after-sign-in");
    },
  ],
  [
    "05-coupon",
    async (t, state) => {
      const page = state.shopperPage;
      assert(page, "needs the signed-in shopper with a cart from 04");
      t.page = page;
      await page.goto("/cart");
      const subtotal = cents((await page.locator("[data-subtotal]").textContent()) ?? "");
      await page.fill("#coupon-code", "NOPE-NOT-A-CODE");
      await page.click("form[action='/cart/coupon'] button[type=submit]");
      await waitText(page.locator("p.form-message"), /./);
      assert(await page.locator("p.form-message.error").isVisible(), "an unknown coupon was not refused");
      await t.shot("coupon-refused");
      // WELCOME10 is once per customer: the shopper (address not verified yet) confirms it by code first.
      await page.fill("#coupon-code", "WELCOME10");
      await page.click("form[action='/cart/coupon'] button[type=submit]");
      await waitText(page.locator("p.form-message.error"), /once per customer/);
      await proveMailboxInPage(t, page, state.shopper.email);
      await page.fill("#coupon-code", "WELCOME10");
      await page.click("form[action='/cart/coupon'] button[type=submit]");
      await waitText(page.locator("p.form-message"), /Coupon applied\./);
      await waitText(page.locator("form[action='/cart/coupon/remove'] p"), /Coupon WELCOME10: −\$/);
      const discount = cents((await page.locator("[data-discount]").textContent()) ?? "");
      const total = cents((await page.locator("[data-total]").textContent()) ?? "");
      // The total includes the chosen rate's shipping (what the payment page will charge).
      const shippingText = (await page.locator("[data-shipping]").textContent()) ?? "";
      const shipping = /Free/.test(shippingText) ? 0 : cents(shippingText);
      assert(Math.abs(discount - Math.round(subtotal * 0.1)) <= 1, `WELCOME10 took ${discount} cents off ${subtotal}, expected 10%`);
      assert(total === subtotal - discount + shipping, `total ${total} ≠ subtotal ${subtotal} − discount ${discount} + shipping ${shipping}`);
      state.expectedTotal = total;
      await t.shot("coupon-applied");
    },
  ],
  [
    "06-checkout-pay",
    async (t, state) => {
      const page = state.shopperPage;
      assert(page, "needs the signed-in shopper with a cart from 04");
      t.page = page;
      await page.goto("/cart");
      // The first shipping rate is chosen already; the cart's total includes it: that is what is paid.
      const shown = cents((await page.locator("[data-total]").textContent()) ?? "");
      await t.shot("cart-checkout-choices");
      await page.click("form[action='/checkout'] button[type=submit]");
      await waitPath(page, /^\/dev\/pay\/cs_test_/);
      await waitText(page.locator("#pay-title"), /Pay Bastion/);
      const amount = cents((await page.locator(".hosted-checkout .price").textContent()) ?? "");
      assert(amount === shown, `the simulator asks ${amount} cents, the cart's total said ${shown}`);
      if (state.expectedTotal !== undefined)
        assert(amount === state.expectedTotal, `the simulator asks ${amount} cents, the cart said ${state.expectedTotal} after the coupon`);
      const lines = (await page.locator(".checkout-lines li").allTextContents()).filter((l) => l.includes("×"));
      assert(lines.length === 2, `the simulator lists ${lines.length} lines: ${lines.join(" | ")}`);
      await t.shot("simulator");
      await page.click("button[name=outcome][value=paid]");
      await waitPath(page, /^\/orders\/[^/?]+\?status=success$/);
      // The success page refreshes itself (3 s) until the webhook has paid the order.
      await page.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      state.paidOrderId = new URL(page.url()).pathname.split("/")[2];
      await waitText(page.locator("strong[data-status]"), /^Paid$/);
      await waitText(page.locator(".totals"), /Discount \(WELCOME10\)/);
      await t.shot("order-paid");
      // The receipt comes through the mail queue, with a link to this very order.
      const paidNumber = /#\d+/.exec((await page.locator("h1.page-title").textContent()) ?? "")?.[0];
      assert(paidNumber, "the order page shows no order number");
      const receipt = await waitForMail(page, new RegExp(`^Your .+ order ${paidNumber}$`));
      assert(receipt.text.includes(`${BASE}/orders/${state.paidOrderId}`), `the receipt has no link to the order: ${receipt.text}`);
      await page.goto("/orders");
      await waitText(page.locator(`table.orders tr:has(a[href="/orders/${state.paidOrderId}"]) td[data-status]`), /^Paid$/);
      await t.shot("orders");
      await page.goto("/cart");
      await t.shot("cart-after-order");
      await page.context().close();
      state.shopperPage = null;
    },
  ],
  [
    "07-totp",
    async (t) => {
      const page = await t.newPage();
      const creds = newCredentials("totp");
      await signUpInPage(page, creds);
      await verifyEmailInPage(t, page, creds);
      const secret = await enableTotp(t, page, creds.password);
      await t.shot("totp-on");
      await signOut(page);
      assert((await signIn(page, creds)) === "second-factor", "sign-in with TOTP on did not ask for a code");
      await t.shot("second-factor");
      await enterTotp(page, secret);
      const me = await pageApi(page, "GET", "/api/me");
      assert(
        me.status === 200 && me.data.user.email === creds.email && me.data.user.twoFactorEnabled === true,
        `/api/me after TOTP sign-in: ${JSON.stringify(me)}`,
      );
      await t.shot("signed-in-with-totp");
    },
  ],
  [
    "08-passkey",
    async (t) => {
      const page = await t.newPage();
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("WebAuthn.enable");
      await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
      });
      const creds = newCredentials("passkey");
      await signUpInPage(page, creds);
      await verifyEmailInPage(t, page, creds);
      await page.goto("/account");
      await page.locator("[data-passkey-list]").getByText("No passkeys yet.").waitFor();
      const form = page.locator("form[data-auth-form=add-passkey]");
      await form.locator("input[name=name]").fill("E2E virtual key");
      await form.locator("button[type=submit]").click();
      await page.locator("[data-passkey-list] li", { hasText: "E2E virtual key" }).waitFor({ timeout: 15_000 });
      await t.shot("passkey-added");
      await signOut(page);
      await page.goto("/sign-in");
      await page.click("form[data-auth-form=passkey-signin] button[type=submit]");
      await waitPath(page, /^\/account$/);
      await waitText(page.locator("main p").first(), new RegExp(`Signed in as ${creds.email.replace(/[.+]/g, "\\$&")}`));
      await t.shot("signed-in-with-passkey");
    },
  ],
  [
    "09-password-reset",
    async (t) => {
      const page = await t.newPage();
      const creds = newCredentials("reset");
      await signUpInPage(page, creds);
      await signOut(page);
      await page.goto("/forgot-password");
      const form = page.locator("form[data-auth-form=forgot]");
      await form.locator("input[name=email]").fill(creds.email);
      await form.locator("button[type=submit]").click();
      await waitText(form.locator(".form-message"), /a reset link is on its way/);
      await t.shot("reset-requested");
      let link = null;
      for (let i = 0; i < 50 && !link; i++) {
        const outbox = await pageApi(page, "GET", "/api/dev/outbox");
        assert(outbox.status === 200, `GET /api/dev/outbox answered ${outbox.status}`);
        const mail = outbox.data.items.find((m) => m.to === creds.email && /reset/i.test(m.subject + m.text));
        link = mail ? (/https?:\/\/\S+/.exec(mail.text)?.[0] ?? null) : null;
        if (!link) await sleep(200);
      }
      assert(link, `no reset mail for ${creds.email} in the dev outbox`);
      assert(link.startsWith(BASE), `the reset link is not on the shop's origin: ${link}`);
      await page.goto(link);
      await waitPath(page, /^\/reset-password\?token=/);
      const reset = page.locator("form[data-auth-form=reset]");
      await reset.waitFor();
      await t.shot("reset-form");
      const newPassword = `${creds.password}-renewed`;
      await reset.locator("input[name=password]").fill(newPassword);
      await reset.locator("button[type=submit]").click();
      await waitText(reset.locator(".form-message"), /Your password is changed/);
      await t.shot("reset-done");
      // The old password no longer works (the browser logs the 401 of that attempt).
      t.allowConsole(/status of 401/);
      await signIn(page, creds).then(
        () => {
          throw new Error("the old password still signs in after a reset");
        },
        (error) => assert(/sign-in refused/.test(error.message), error.message),
      );
      await t.shot("old-password-refused");
      assert((await signIn(page, { ...creds, password: newPassword })) === "done", "sign-in with the new password asked for a second factor");
      await t.shot("signed-in-with-new-password");
    },
  ],
  [
    "10-staff",
    async (t, state) => {
      const page = await t.newPage();
      const admin = state.admin;
      assert(admin.email && admin.password, "ADMIN_EMAIL / ADMIN_PASSWORD are not in test-e2e/e2e.vars");
      assert((await signIn(page, admin)) === "done", "the fresh dev admin was asked for a second factor");
      // Staff without a second factor are refused (API.md: 403 mfa_required).
      t.allowConsole(/status of 403/);
      const refused = await page.goto("/admin/products");
      assert(refused?.status() === 403, `/admin/products without TOTP answered ${refused?.status()}`);
      await waitText(page.locator("main"), /Staff accounts need a second factor/);
      await t.shot("staff-refused-without-mfa");
      const secret = await enableTotp(t, page, admin.password);
      await t.shot("admin-totp-on");
      // The session TOTP was enrolled in was opened with the password alone: still not a staff
      // session (decision 012), however the account stands now.
      const stillRefused = await page.goto("/admin/products");
      assert(stillRefused?.status() === 403, `/admin/products in the enrolment session answered ${stillRefused?.status()}`);
      await waitText(page.locator("main"), /not opened with a second factor/);
      await t.shot("staff-refused-in-enrolment-session");
      // A fresh sign-in with the second factor, as staff would do.
      await signOut(page);
      assert((await signIn(page, admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(page, secret);
      state.adminTotp = { secret };
      await page.click("a[href='/admin']");
      await waitPath(page, /^\/admin$/);
      await page.locator("[data-tile=to-ship]").waitFor();
      await t.shot("staff-dashboard");
      // No device is trusted (decision 012): the next password sign-in asks for a code again.
      await signOut(page);
      assert((await signIn(page, admin)) === "second-factor", "the admin's second sign-in skipped the code");
      await t.shot("staff-code-asked-again");
      await enterTotp(page, secret);
      const reopened = await page.goto("/admin/products");
      assert(reopened?.status() === 200, `/admin/products after the second TOTP sign-in answered ${reopened?.status()}`);
      // With JavaScript off: the password form, then the code step (POST /sign-in/code) opens a
      // staff session with the second factor, and `next` survives both steps.
      const noScript = await t.browser.newContext({ baseURL: BASE, javaScriptEnabled: false });
      const plain = await noScript.newPage();
      await plain.goto("/sign-in?next=%2Fadmin%2Fproducts");
      await plain.fill("form[data-auth-form=signin] input[name=email]", admin.email);
      await plain.fill("form[data-auth-form=signin] input[name=password]", admin.password);
      await plain.click("form[data-auth-form=signin] button[type=submit]");
      await waitPath(plain, /^\/sign-in\?step=code&next=%2Fadmin%2Fproducts$/);
      await plain.fill("form[data-auth-form=totp] input[name=code]", await unspentTotp(secret));
      await plain.screenshot({ path: `${t.dir}/no-js-code-step.png` });
      await plain.click("form[data-auth-form=totp] button[type=submit]");
      await waitPath(plain, /^\/admin\/products$/);
      await plain.screenshot({ path: `${t.dir}/no-js-staff-signed-in.png` });
      await noScript.close();
      // The audit log: everything the journeys did so far verifies, and no loss awaits an explanation.
      await page.goto("/admin/audit");
      await waitText(page.locator("p[role=status]"), /Chain verified: \d+ events intact\./);
      assert((await page.locator("form[action='/admin/audit/restored']").count()) === 0, "the audit page offers an explanation form with no loss open");
      await t.shot("staff-audit-log");
      // A database-level loss (the newest event deleted behind the log's back, as a bad restore
      // would): the next audited action, creating the product below, makes the log record it.
      deleteNewestAuditEvent();
      await page.goto("/admin/products");
      const slug = `e2e-lamp-${Date.now().toString(36)}`;
      await page.fill("input[name=slug]", slug);
      await page.fill("input[name=name]", "E2E Reading Lamp");
      await page.fill("textarea[name=description]", "Made by the browser tests.");
      await page.fill("input[name=price]", "42.00");
      await page.fill("input[name=stock]", "7");
      await page.click("form[action='/admin/products'] button[type=submit]");
      await waitPath(page, /^\/admin\/products\/[^/]+$/);
      await waitText(page.locator("h1"), /E2E Reading Lamp/);
      await t.shot("product-created");
      await page.goto(`/products/${slug}`);
      await waitText(page.locator("article.product .price"), /\$42\.00/);
      await t.shot("product-in-shop");
      // The staff page reports the loss and takes the explanation (docs/operations.md runbook).
      await page.goto("/admin/audit");
      await waitText(page.locator("p[role=status]"), /Chain BROKEN at event \d+: event \d+ records/);
      await t.shot("staff-audit-loss");
      await page.fill("form[action='/admin/audit/restored'] textarea[name=note]", "E2E drill: the newest event was deleted on purpose by the browser tests.");
      await page.click("form[action='/admin/audit/restored'] button[type=submit]");
      await waitPath(page, /^\/admin\/audit$/);
      await waitText(page.locator("p[role=status]"), /Chain verified: \d+ events intact\./);
      await t.shot("staff-audit-explained");

      // Coupons and refunds: staff pages another helper is adding; report their absence.
      t.allowConsole(/status of 404/);
      const coupons = await page.goto("/admin/coupons");
      if (coupons?.status() === 404) {
        t.notes.push("no /admin/coupons page yet (404): coupon journey not run");
      } else {
        assert(coupons?.status() === 200, `/admin/coupons answered ${coupons?.status()}`);
        await t.shot("staff-coupons");
        await createCoupon(t, page);
      }
      if (!state.paidOrderId) {
        t.notes.push("no paid order from 06: refund journey not run");
        return;
      }
      const order = await page.goto(`/admin/orders/${state.paidOrderId}`);
      if (order?.status() === 404) {
        t.notes.push(`no /admin/orders/{id} page yet (404): refund journey not run`);
        return;
      }
      assert(order?.status() === 200, `/admin/orders/${state.paidOrderId} answered ${order?.status()}`);
      await t.shot("staff-order");
      await refundOrder(t, page, state.paidOrderId, state.adminTotp?.secret);
    },
  ],
  [
    "11-staff-passkey",
    async (t, state) => {
      assert(state.adminTotp, "10-staff did not enrol TOTP for the admin");
      const page = await t.newPage();
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("WebAuthn.enable");
      // A platform authenticator that verifies its user (PIN or biometrics): two factors in one.
      await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      // Adding a passkey needs a fresh session; staff open it with the second factor.
      assert((await signIn(page, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(page, state.adminTotp.secret);
      await addPasskey(page, "Admin key with PIN");
      await t.shot("staff-uv-passkey-added");
      await signOut(page);
      await passkeySignIn(page);
      const opened = await page.goto("/admin/products");
      assert(opened?.status() === 200, `/admin/products after a UV passkey sign-in answered ${opened?.status()}`);
      await t.shot("staff-signed-in-with-uv-passkey");
      // A key that only detects presence (a touch, no PIN) counts as one factor: proven over HTTP
      // with a software authenticator in test/accounts/assurance.test.ts (P07). Here Chromium's
      // virtual authenticator without user verification refused the registration itself
      // (NotAllowedError), so the browser does not play that part.
    },
  ],
  [
    "12-guest-checkout-shipping",
    async (t, state) => {
      // A guest: two products, the express rate, an email, an address on the payment page.
      const page = await t.newPage();
      await addToCart(page, "linen-scarf", 1);
      await addToCart(page, "enamel-camp-mug", 2);
      await page.goto("/cart");
      const goods = cents((await page.locator("[data-subtotal]").textContent()) ?? "");
      const express = page.locator("label.choice", { hasText: "Express" });
      const shipping = cents((await express.textContent()) ?? "");
      await express.locator("input[type=radio]").check();
      // The page's totals follow the rate chosen: shipping and total now name Express's.
      await waitText(page.locator("[data-shipping-name]"), /^Express$/);
      const shown = cents((await page.locator("[data-total]").textContent()) ?? "");
      assert(shown === goods + shipping, `the cart's total ${shown} ≠ goods ${goods} + express ${shipping}`);
      const email = `guest-${Date.now().toString(36)}@example.com`;
      await page.fill("#checkout-email", email);
      await t.shot("guest-cart-express");
      await page.click("form[action='/checkout'] button[type=submit]");
      await waitPath(page, /^\/dev\/pay\/cs_test_/);
      await waitText(page.locator("[data-sim-shipping]"), /Shipping \(Express\)/);
      const amount = cents((await page.locator(".hosted-checkout .price").textContent()) ?? "");
      assert(amount === goods + shipping, `the simulator asks ${amount} cents for goods ${goods} + express ${shipping}`);
      await page.fill("input[name=name]", "Grace Hopper");
      await page.fill("input[name=line1]", "1 Compiler Way");
      await page.fill("input[name=city]", "Arlington");
      await page.fill("input[name=postalCode]", "22201");
      await t.shot("guest-simulator-address");
      await page.click("button[name=outcome][value=paid]");
      // Stripe's success URL carries the key once; the page swaps it for a cookie and lands on the clean address.
      await waitPath(page, /^\/orders\/[^/?]+\?status=success$/);
      await page.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      const orderId = new URL(page.url()).pathname.split("/")[2];
      await waitText(page.locator("[data-shipping-address]"), /Grace Hopper/);
      await waitText(page.locator("dd[data-total]"), new RegExp(`\\$${(amount / 100).toFixed(2).replace(".", "\\.")}`));
      await t.shot("guest-order-paid");
      // The receipt's link opens the order in a browser that never saw this shop.
      const guestNumber = /#\d+/.exec((await page.locator("h1.page-title").textContent()) ?? "")?.[0];
      const receipt = await waitForMail(page, new RegExp(`^Your .+ order ${guestNumber}$`));
      const link = /https?:\/\/\S+\?key=[A-Za-z0-9_-]{48}/.exec(receipt.text)?.[0];
      assert(link && receipt.text.includes("Shipping (Express)") && receipt.text.includes("1 Compiler Way"), `the receipt: ${receipt.text}`);
      const stranger = await t.newPage();
      await stranger.goto(new URL(link).pathname + new URL(link).search);
      await waitPath(stranger, new RegExp(`^/orders/${orderId}$`));
      await waitText(stranger.locator("strong[data-status]"), /^Paid$/);
      await t.shot("guest-order-from-receipt", stranger);
      t.allowConsole(/status of 401/);
      const bare = await (await t.newPage()).goto(`/orders/${orderId}`);
      assert(bare?.status() === 401, `the order id alone answered ${bare?.status()}`);
      // Staff see the address, ship it (shipping notice) and refund part of it (refund notice).
      assert(state.adminTotp, "10-staff did not enrol TOTP for the admin");
      const staff = await t.newPage();
      assert((await signIn(staff, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(staff, state.adminTotp.secret);
      await staff.goto(`/admin/orders/${orderId}`);
      await waitText(staff.locator("address[data-ship-to]"), /1 Compiler Way/);
      await t.shot("staff-guest-order", staff);
      await staff.goto("/admin/shipping-rates");
      await waitText(staff.locator("main table"), /Express/);
      await t.shot("staff-shipping-rates", staff);
      await staff.goto(`/admin/orders/${orderId}`);
      t.page = staff;
      await refundOrder(t, staff, orderId, state.adminTotp.secret);
      const notices = (await pageApi(staff, "GET", "/api/dev/outbox")).data.items.filter((m) => m.to === email).map((m) => m.subject);
      assert(notices.some((s) => s.endsWith("has shipped")) && notices.some((s) => s.startsWith("Refund")), `the guest got: ${notices.join(" | ")}`);
    },
  ],
  [
    "13-dispute-and-dashboard-refund",
    async (t, state) => {
      // Issue 29 in the browser: a guest pays; the payment is disputed in the (simulated) Stripe
      // Dashboard, which blocks shipping on the staff page; the dispute is won, and a refund made
      // in the Dashboard shows in the order's books.
      const shopper = await t.newPage();
      await addToCart(shopper, "linen-scarf", 1);
      await shopper.goto("/cart");
      await shopper.fill("#checkout-email", `disputed-${Date.now().toString(36)}@example.com`);
      await shopper.click("form[action='/checkout'] button[type=submit]");
      await waitPath(shopper, /^\/dev\/pay\/cs_test_/);
      await shopper.fill("input[name=name]", "Ada Lovelace");
      await shopper.fill("input[name=line1]", "12 Analytical Row");
      await shopper.fill("input[name=city]", "Boston");
      await shopper.fill("input[name=postalCode]", "02110");
      await shopper.click("button[name=outcome][value=paid]");
      await waitPath(shopper, /^\/orders\/[^/?]+\?status=success$/);
      await shopper.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      const orderId = new URL(shopper.url()).pathname.split("/")[2];

      assert(state.adminTotp, "10-staff did not enrol TOTP for the admin");
      const staff = await t.newPage();
      t.page = staff;
      assert((await signIn(staff, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(staff, state.adminTotp.secret);
      await staff.goto(`/admin/orders/${orderId}`);
      await fitsPhoneAndDesktop(t, staff, "staff-order-paid");
      // The payment's page in the Stripe Dashboard (the simulator's, in development).
      await staff.click("a:has-text('Stripe Dashboard (simulator)')");
      await waitPath(staff, /^\/dev\/stripe\/cs_test_/);
      const dashboard = new URL(staff.url()).pathname;
      await fitsPhoneAndDesktop(t, staff, "stripe-dashboard");
      await staff.click("button[name=outcome][value=open]");
      await waitPath(staff, new RegExp(`^${dashboard}$`));
      await staff.locator("[data-sim-dispute=needs_response]").waitFor();
      await t.shot("dispute-opened-at-stripe");

      // The staff page shows the dispute and refuses to ship without a reason.
      await staff.goto(`/admin/orders/${orderId}`);
      await staff.locator("[data-dispute=needs_response]").waitFor();
      await staff.locator("[data-dispute-blocks-shipping]").waitFor();
      assert((await staff.locator(`form[action='/admin/orders/${orderId}/refund']`).count()) === 0, "a disputed order still offers a refund form");
      await staff.fill(`form[action='/admin/orders/${orderId}/ship'] input[name=carrier]`, "DHL Express");
      await staff.fill(`form[action='/admin/orders/${orderId}/ship'] input[name=trackingNumber]`, "JD014600099999");
      await staff.click(`form[action='/admin/orders/${orderId}/ship'] button[type=submit]`);
      await waitText(staff.locator("p.form-message.error"), /The payment is disputed/);
      await waitText(staff.locator("[data-fulfilment]"), /Not shipped yet/);
      await fitsPhoneAndDesktop(t, staff, "staff-ship-blocked-by-dispute");

      // Won at Stripe: shipping opens again. Then a partial refund made in the Dashboard.
      await staff.goto(dashboard);
      await staff.click("button[name=outcome][value=won]");
      await staff.locator("[data-sim-dispute=won]").waitFor();
      await staff.fill(`form[action='${dashboard}/refund'] input[name=amount]`, "500");
      await staff.click(`form[action='${dashboard}/refund'] button[type=submit]`);
      await waitText(staff.locator("[data-charge]"), /refunded \$5\.00/);
      await t.shot("dashboard-refund-made");
      await staff.goto(`/admin/orders/${orderId}`);
      await staff.locator("[data-dispute=won]").waitFor();
      assert((await staff.locator("[data-dispute-blocks-shipping]").count()) === 0, "a won dispute still blocks shipping");
      await waitText(staff.locator("li[data-refund-source=provider]"), /\$5\.00 — refunded in the Stripe Dashboard/);
      assert((await staff.locator("[data-refunded]").getAttribute("data-refunded")) === "500", "the order's books miss the Dashboard refund");
      // Part of the payment came back: partially refunded (issue 32), still paid in the stored status.
      await waitText(staff.locator("strong[data-status=paid]"), /^partially refunded$/);
      await fitsPhoneAndDesktop(t, staff, "staff-order-dispute-won-dashboard-refund");
    },
  ],
  [
    "14-integrations",
    async (t, state) => {
      // Outbound webhooks end to end on the dev server: an endpoint for the dev receiver, a staff
      // product edit, the signed delivery arriving through the queue, at 1280 and 390 px.
      assert(state.adminTotp, "10-staff did not enrol TOTP for the admin");
      const page = await t.newPage();
      assert((await signIn(page, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(page, state.adminTotp.secret);
      const fits = async (where) => {
        const [doc, view] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        assert(doc <= view, `${where} is ${doc} px wide in a ${view} px viewport`);
      };
      await page.goto("/admin/integrations");
      await waitText(page.locator("h1"), /^Integrations$/);
      await fits("/admin/integrations at 1280 px");
      await t.shot("integrations-empty");
      await page.fill("form[action='/admin/integrations'] input[name=url]", `${BASE}/api/dev/webhook-receiver`);
      await page.check("input[name=events][value='product.updated']");
      await page.check("input[name=events][value='order.paid']");
      await page.click("form[action='/admin/integrations'] button[type=submit]");
      const secret = await waitText(page.locator("[data-webhook-secret] code"), /^whsec_[A-Za-z0-9+/=]+$/);
      await fits("the page with the new secret at 1280 px");
      await t.shot("integrations-secret-once");
      await page.goto("/admin/integrations");
      assert(!(await page.content()).includes(secret), "the secret is shown again after it was made");
      const endpointId = await page.locator("li[data-endpoint]").first().getAttribute("data-endpoint");
      // A staff product edit emits product.updated; the queue delivers it to the dev receiver.
      const products = await (await page.request.get("/api/admin/products?limit=1")).json();
      const product = products.items[0];
      const edited = await page.request.patch(`/api/admin/products/${product.id}`, {
        headers: { origin: BASE, "content-type": "application/json" },
        data: { name: `${product.name} (edited)` },
      });
      assert(edited.status() === 200, `the product edit answered ${edited.status()}`);
      const deadline = Date.now() + 20_000;
      let received = [];
      while (Date.now() < deadline) {
        received = (await (await page.request.get("/api/dev/webhook-receiver")).json()).items;
        if (received.some((r) => r.type === "product.updated")) break;
        await sleep(500);
      }
      const delivery = received.find((r) => r.type === "product.updated");
      assert(delivery, `the dev receiver got no product.updated: ${JSON.stringify(received)}`);
      assert(/^v1,[A-Za-z0-9+/=]+$/.test(delivery.signature ?? "") && /^msg_/.test(delivery.webhookId ?? ""), `unsigned delivery: ${JSON.stringify(delivery)}`);
      await page.goto(`/admin/integrations/${endpointId}`);
      await waitText(page.locator("li[data-delivery] .tag"), /^delivered$/, 20_000);
      await fits("the deliveries page at 1280 px");
      await t.shot("integrations-delivered");
      // Phones: both pages fit 390 px.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto("/admin/integrations");
      await fits("/admin/integrations at 390 px");
      await t.shot("integrations-390");
      await page.goto(`/admin/integrations/${endpointId}`);
      await fits("the deliveries page at 390 px");
      await t.shot("integrations-deliveries-390");
      // Put the product back as it was, for the journeys that come after.
      await page.request.patch(`/api/admin/products/${product.id}`, {
        headers: { origin: BASE, "content-type": "application/json" },
        data: { name: product.name },
      });
    },
  ],
  [
    "15-order-desk-phone-and-desktop",
    async (t, state) => {
      // Issue 32: the dashboard, the order desk and a partial line refund with restock, on a phone
      // (390 px) and a desktop (1280 px); no page may be wider than its viewport.
      assert(state.adminTotp, "10-staff did not enrol TOTP for the admin");
      const phone = { width: 390, height: 844 };
      const shopper = await t.newPage({ viewport: phone });
      await addToCart(shopper, "enamel-camp-mug", 2);
      await shopper.goto("/cart");
      await shopper.fill("#checkout-email", `desk-${Date.now().toString(36)}@example.com`);
      await shopper.click("form[action='/checkout'] button[type=submit]");
      await waitPath(shopper, /^\/dev\/pay\/cs_test_/);
      for (const [field, value] of [
        ["name", "Ada Lovelace"],
        ["line1", "12 Analytical Row"],
        ["city", "London"],
        ["postalCode", "N1 9GU"],
      ])
        if ((await shopper.locator(`input[name=${field}]`).count()) > 0) await shopper.fill(`input[name=${field}]`, value);
      await shopper.click("button[name=outcome][value=paid]");
      await waitPath(shopper, /^\/orders\/[^/?]+\?status=success$/);
      await shopper.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      const orderId = new URL(shopper.url()).pathname.split("/")[2];
      const number = /#\d+/.exec((await shopper.locator("h1.page-title").textContent()) ?? "")?.[0];
      assert(number, "the shopper's order page shows no order number");
      await t.shot("phone-shopper-order-paid", shopper);
      await assertFits(shopper, "phone-shopper-order-paid");

      // Staff on a phone: dashboard, the list, the order, a line refund with restock.
      const staff = await t.newPage({ viewport: phone });
      assert((await signIn(staff, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(staff, state.adminTotp.secret);
      t.page = staff;
      await staff.goto("/admin");
      await staff.locator("[data-tile=to-ship]").waitFor();
      await t.shot("phone-dashboard", staff);
      await assertFits(staff, "phone-dashboard");
      await staff.click("[data-tile=to-ship] a");
      await waitPath(staff, /^\/admin\/orders\?status=paid&fulfilment=unfulfilled$/);
      await staff.fill("input[name=q]", number);
      await staff.click("form.filters button[type=submit]");
      await staff.locator(`tr[data-order="${orderId}"]`).waitFor();
      await t.shot("phone-orders-found", staff);
      await assertFits(staff, "phone-orders-found");
      await staff.click(`tr[data-order="${orderId}"] a`);
      await waitPath(staff, new RegExp(`^/admin/orders/${orderId}$`));
      await t.shot("phone-staff-order", staff);
      await assertFits(staff, "phone-staff-order");
      const stockBefore = (await pageApi(staff, "GET", "/api/products/enamel-camp-mug")).data?.stock;
      await refundFirstLine(t, staff, orderId, state.adminTotp.secret);
      const stockAfter = (await pageApi(staff, "GET", "/api/products/enamel-camp-mug")).data?.stock;
      if (typeof stockBefore === "number" && typeof stockAfter === "number")
        assert(stockAfter === stockBefore + 1, `stock went ${stockBefore} → ${stockAfter}`);
      else t.notes.push("the product API shows no stock figure: restock checked on the staff page only");

      // The shopper sees it too: partially refunded, with the refund's history.
      await shopper.goto(`/orders/${orderId}`);
      await waitText(shopper.locator("strong[data-payment-state]"), /^Partially refunded$/);
      await waitText(shopper.locator("[data-refunds]"), /back to your card for 1 ×/);
      await t.shot("phone-shopper-partly-refunded", shopper);
      await assertFits(shopper, "phone-shopper-partly-refunded");

      // The same pages on a desktop.
      const desk = await t.newPage();
      assert((await signIn(desk, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(desk, state.adminTotp.secret);
      t.page = desk;
      for (const [step, path] of [
        ["desktop-dashboard", "/admin"],
        ["desktop-orders", `/admin/orders?payment=partially_refunded`],
        ["desktop-staff-order", `/admin/orders/${orderId}`],
        ["desktop-packing-slip", `/admin/orders/packing-slips?ids=${orderId}`],
      ]) {
        const res = await desk.goto(path);
        assert(res?.status() === 200, `${path} answered ${res?.status()}`);
        await t.shot(step, desk);
        await assertFits(desk, step);
        if (step === "desktop-staff-order") await waitText(desk.locator("strong[data-payment-state]"), /^partially refunded$/);
      }
    },
  ],
  [
    "16-settings-on-the-storefront",
    async (t, state) => {
      // An admin changes the shop's name, hero and privacy policy; shoppers on a phone and a desktop see it.
      const page = await t.newPage();
      const admin = state.admin;
      let secret = state.adminTotp?.secret;
      if ((await signIn(page, admin)) === "done") {
        // Run on its own (no journey 10 before it): the fresh dev admin enrols an authenticator first.
        secret = await enableTotp(t, page, admin.password);
        await signOut(page);
        assert((await signIn(page, admin)) === "second-factor", "admin sign-in did not ask for a code");
      }
      assert(secret, "needs the admin's TOTP secret from 10-staff (run it with 10, or on its own)");
      await enterTotp(page, secret);
      state.adminTotp = { secret };
      await page.goto("/admin/settings");
      await t.shot("settings-page");
      await page.fill("input[name=shopName]", "Harbour & Pine");
      await page.fill("input[name=heroTitle]", "Goods for the long weekend");
      await page.fill("textarea[name=heroText]", "Packed by hand in Portsmouth.");
      await page.fill(
        "textarea[name=privacy]",
        "# What we keep\n\nYour **email** and address. <script>alert('policy')</script>\n\n[a trap](javascript:alert(1)) and [our terms](/terms)",
      );
      // A brand colour white text cannot be read on is refused (a 422 page), and nothing typed is lost.
      t.allowConsole(/status of 422/);
      await page.fill("input[name=brandColour]", "#ffee00");
      await page.click("form[action='/admin/settings'] button[type=submit]");
      await waitText(page.locator("p[role=alert]"), /too light/);
      assert((await page.inputValue("input[name=shopName]")) === "Harbour & Pine", "the refused form lost the shop name");
      assert((await page.inputValue("textarea[name=privacy]")).startsWith("# What we keep"), "the refused form lost the privacy policy");
      await t.shot("settings-refused-colour");
      await page.fill("input[name=brandColour]", "#0f5132");
      await page.click("form[action='/admin/settings'] button[type=submit]");
      await waitPath(page, /^\/admin\/settings\?saved=1$/);
      await t.shot("settings-saved");
      // The settings page fits a phone too.
      await page.setViewportSize(PHONE);
      await page.reload();
      await t.shot("settings-page-phone");
      for (const viewport of [PHONE, DESKTOP]) {
        const shopper = await t.newPage({ viewport });
        await shopper.goto("/");
        await waitText(shopper.locator(".hero h1"), /^Goods for the long weekend$/);
        await waitText(shopper.locator(".hero p"), /Packed by hand in Portsmouth\./);
        await waitText(shopper.locator(".brand span"), /^Harbour & Pine$/);
        assert((await shopper.title()) === "Harbour & Pine", `the home page's title is ${await shopper.title()}`);
        assert(!(await shopper.content()).includes("threat model"), "the old hard-coded hero is still on the home page");
        const heroColour = await shopper.locator(".hero").evaluate((el) => getComputedStyle(el).backgroundColor);
        assert(heroColour === "rgb(15, 81, 50)", `the hero is ${heroColour}, not the brand colour #0f5132`);
        await t.shot(`home-${viewport.width}`, shopper);
        await shopper.click("footer a[href='/privacy']");
        await waitPath(shopper, /^\/privacy$/);
        await waitText(shopper.locator("article.policy h2"), /^What we keep$/);
        await waitText(shopper.locator("article.policy strong"), /^email$/);
        assert(
          (await shopper.locator("article.policy script, article.policy [onerror], article.policy a[href^='javascript' i]").count()) === 0,
          "the policy injected markup",
        );
        assert((await shopper.locator("article.policy a[href='/terms']").count()) === 1, "the policy's safe link is missing");
        await t.shot(`privacy-${viewport.width}`, shopper);
        for (const path of ["/terms", "/shipping", "/returns", "/contact"]) {
          const res = await shopper.goto(path);
          assert(res?.status() === 200, `${path} answered ${res?.status()}`);
        }
        await waitText(shopper.locator("h1"), /Contact Harbour & Pine/);
        await t.shot(`contact-${viewport.width}`, shopper);
      }
    },
  ],
  [
    "17-phone-cart",
    async (t) => {
      // A shopper on a 390 px phone: product page, add, View cart, the stepper, another rate, pay.
      const page = await t.newPage({ viewport: PHONE });
      await page.goto("/");
      await t.shot("phone-home");
      await page.goto("/products/canvas-tote");
      await waitText(page.locator("[data-stock]"), /^(In stock|Only \d left)$/);
      await waitText(page.locator(".delivery"), /Standard: 3–5 business days/);
      await t.shot("phone-product");
      await page.click("form[data-add-to-cart] button[type=submit]");
      await waitText(page.locator("form[data-add-to-cart] .form-message"), /Added to your cart\./);
      const viewCart = page.locator("a[data-view-cart]");
      await viewCart.waitFor({ state: "visible" });
      await t.shot("phone-added");
      await addToCart(page, "enamel-camp-mug", 1);
      await page.locator("a[data-view-cart]").click();
      await waitPath(page, /^\/cart$/);
      const lines = page.locator(".cart-lines .cart-line");
      assert((await lines.count()) === 2, `the cart has ${await lines.count()} lines, expected 2`);
      await t.shot("phone-cart");
      // Every line's total and Remove are on screen (the old table put them past 390 px).
      for (const selector of [".cart-line-total", "button.link-button", "button.step"]) {
        for (const box of await Promise.all((await page.locator(selector).all()).map((el) => el.boundingBox()))) {
          assert(box && box.x >= 0 && box.x + box.width <= PHONE.width, `${selector} is off-screen: ${JSON.stringify(box)}`);
        }
      }
      // The stepper adds one; Remove takes the mug out.
      const tote = page.locator(".cart-line", { hasText: "Waxed Canvas Tote" });
      await tote.locator("button[aria-label^='One more']").click();
      await waitText(page.locator("p.form-message"), /Your cart was updated\./);
      assert((await tote.locator("input[type=number]").inputValue()) === "2", "the stepper did not make it 2");
      await page.locator(".cart-line", { hasText: "Enamel Camp Mug" }).locator("button", { hasText: "Remove" }).click();
      await waitText(page.locator("p.form-message"), /The item was removed\./);
      assert((await lines.count()) === 1, "the mug was not removed");
      // The total is goods + the chosen rate's shipping, and follows the rate.
      const subtotal = cents((await page.locator("[data-subtotal]").textContent()) ?? "");
      const standardText = (await page.locator("[data-shipping]").textContent()) ?? "";
      const standard = /Free/.test(standardText) ? 0 : cents(standardText);
      assert(cents((await page.locator("[data-total]").textContent()) ?? "") === subtotal + standard, "the total is not goods + standard shipping");
      const express = page.locator("label.choice", { hasText: "Express" });
      const expressCents = cents((await express.textContent()) ?? "");
      await express.locator("input[type=radio]").check();
      await waitText(page.locator("[data-shipping-name]"), /^Express$/);
      const shown = cents((await page.locator("[data-total]").textContent()) ?? "");
      assert(shown === subtotal + expressCents, `the total ${shown} ≠ goods ${subtotal} + express ${expressCents}`);
      await page.fill("#checkout-email", `phone-${Date.now().toString(36)}@example.com`);
      await t.shot("phone-cart-express");
      await page.click("form[action='/checkout'] button[type=submit]");
      await waitPath(page, /^\/dev\/pay\/cs_test_/);
      const amount = cents((await page.locator(".hosted-checkout .price").textContent()) ?? "");
      assert(amount === shown, `the payment page asks ${amount} cents, the cart's total said ${shown}`);
      await page.fill("input[name=name]", "Ada Lovelace");
      await page.fill("input[name=line1]", "12 Analytical Row");
      await page.fill("input[name=city]", "London");
      await page.fill("input[name=postalCode]", "20500");
      await t.shot("phone-payment");
      await page.click("button[name=outcome][value=paid]");
      await waitPath(page, /^\/orders\/[^/?]+\?status=success$/);
      await page.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      await waitText(page.locator("dd[data-total]"), new RegExp(`\\$${(amount / 100).toFixed(2).replace(".", "\\.")}`));
      await t.shot("phone-order-paid");
      // The other pages a shopper opens on a phone fit it too (each load is width-checked).
      for (const [path, step] of [
        ["/?q=mug", "phone-search"],
        ["/?category=kitchen", "phone-category"],
        ["/sign-in", "phone-sign-in"],
        ["/sign-up", "phone-sign-up"],
        ["/security", "phone-security"],
        ["/returns", "phone-returns"],
        ["/contact", "phone-contact"],
      ]) {
        await page.goto(path);
        await t.shot(step);
      }
      const shopper = newCredentials("phone");
      await signUpInPage(page, shopper);
      for (const [path, step] of [
        ["/account", "phone-account"],
        ["/orders", "phone-orders"],
      ]) {
        await page.goto(path);
        await t.shot(step);
      }
    },
  ],
  [
    "18-variant-shirt",
    async (t) => {
      // A shirt in colours and sizes (decision 022): the choice works with our script and without it.
      const page = await t.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto("/products/organic-cotton-tee");
      await noWiderThanViewport(page, "product page at 390 px");
      await t.shot("tee-390");
      // Navy XL is not made: the page says so at once and will not add it.
      await page.selectOption("select[name=o1]", "Navy");
      await page.selectOption("select[name=o2]", "XL");
      await waitText(page.locator("[data-variant-status]"), /not available/);
      assert(await page.locator("[data-add-button]").isDisabled(), "an unavailable combination can be added");
      await t.shot("tee-unavailable-390");
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.selectOption("select[name=o1]", "Sand");
      await page.selectOption("select[name=o2]", "M");
      await waitText(page.locator("[data-variant-sku]"), /TEE-SAN-M/);
      await noWiderThanViewport(page, "product page at 1280 px");
      await t.shot("tee-sand-m-1280");
      await page.fill("#qty", "2");
      await page.click("[data-add-button]");
      await waitText(page.locator("form[data-add-to-cart] .form-message"), /Added to your cart\./);

      // Without JavaScript: the selects post with the form; "Check availability" reloads the choice.
      const plainContext = await t.browser.newContext({
        baseURL: page.url().split("/products")[0],
        javaScriptEnabled: false,
        viewport: { width: 390, height: 844 },
      });
      t.contexts.push(plainContext);
      const plain = await plainContext.newPage();
      t.watch(plain);
      await plain.goto("/products/organic-cotton-tee");
      await plain.selectOption("select[name=o1]", "Navy");
      await plain.selectOption("select[name=o2]", "XL");
      await plain.click("[data-check-availability]");
      await waitText(plain.locator("[data-variant-status]"), /not available/);
      // axe-core cannot run in a page without JavaScript: a plain screenshot (the same page was checked with JS above).
      await plain.screenshot({ path: `${t.dir}/04-tee-no-js-unavailable-390.png`, fullPage: true });
      await plain.selectOption("select[name=o1]", "Forest");
      await plain.selectOption("select[name=o2]", "L");
      await plain.click("[data-check-availability]");
      await waitText(plain.locator("[data-variant-sku]"), /TEE-FOR-L/);
      await plain.click("[data-add-button]");
      await waitPath(plain, /^\/cart(\?m=added)?$/);
      await waitText(plain.locator(".cart-lines"), /Forest \/ L/);
      await plain.screenshot({ path: `${t.dir}/05-tee-no-js-cart-390.png`, fullPage: true });
      t.shots += 2;

      // Buy the Sand M as a guest with the payment simulator; the order shows its SKU.
      await page.goto("/cart");
      await waitText(page.locator(".cart-lines"), /Sand \/ M/);
      const express = page.locator("label.choice", { hasText: "Standard" });
      if (await express.count()) await express.locator("input[type=radio]").check();
      await page.fill("#checkout-email", `tee-${Date.now().toString(36)}@example.com`);
      await t.shot("tee-cart-1280");
      await page.click("form[action='/checkout'] button[type=submit]");
      await waitPath(page, /^\/dev\/pay\/cs_test_/);
      await page.fill("input[name=name]", "Ada Lovelace");
      await page.fill("input[name=line1]", "12 Analytical Row");
      await page.fill("input[name=city]", "London");
      await page.fill("input[name=postalCode]", "N1 9GU");
      await page.click("button[name=outcome][value=paid]");
      await waitPath(page, /^\/orders\/[^/?]+\?status=success$/);
      await page.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      await waitText(page.locator("table.order-lines"), /SKU TEE-SAN-M/);
      await waitText(page.locator("table.order-lines"), /Sand \/ M/);
      await t.shot("tee-order-paid-1280");
      await page.setViewportSize({ width: 390, height: 844 });
      await noWiderThanViewport(page, "order page at 390 px");
      await t.shot("tee-order-paid-390");
    },
  ],
  [
    "19-staff-product-import",
    async (t, state) => {
      // Staff bring a catalog from Shopify: upload its product CSV, read the preview, import it,
      // and find the active product by search (the draft and archived ones stay out of sight).
      const page = await t.newPage();
      if (!state.adminTotp) {
        // Run on its own (`-g 19-staff`): enrol the admin's second factor as journey 10 does.
        assert((await signIn(page, state.admin)) === "done", "the fresh dev admin was asked for a second factor");
        state.adminTotp = { secret: await enableTotp(t, page, state.admin.password) };
        await signOut(page);
      }
      assert((await signIn(page, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(page, state.adminTotp.secret);
      await page.goto("/admin/product-imports");
      await t.shot("staff-import-page");
      const csv = readFileSync(path.join(ROOT, "test/catalog-io/fixtures/shopify-product-template.csv"));
      await page.setInputFiles("input[name=file]", { name: "product_template.csv", mimeType: "text/csv", buffer: csv });
      await page.click("form[action='/admin/product-imports/preview'] button[type=submit]");
      await waitPath(page, /^\/admin\/product-imports\/preview$/);
      const report = page.locator("[data-import-report]");
      await waitText(report, /Preview: nothing has changed yet/);
      await waitText(report, /Products: 3 would be created/);
      await waitText(report, /Variants: 16 would be created/);
      await t.shot("staff-import-preview");
      await fitsAt390(t, page, "staff-import-preview-390");
      await page.click("form[action='/admin/product-imports/apply'] button[type=submit]");
      await waitPath(page, /^\/admin\/product-imports\/apply$/);
      await waitText(page.locator("[data-import-report]"), /Products: 3 created/);
      // Offline, Shopify's image URLs cannot be fetched: reported, not fatal.
      await waitText(page.locator("[data-import-report]"), /could not be fetched/);
      await t.shot("staff-import-done");
      await page.goto("/?q=example");
      await waitText(page.locator("main"), /Example T-Shirt/);
      const text = (await page.locator("main").textContent()) ?? "";
      assert(!/Example Jeans|Example Beanie/.test(text), "a draft or archived import shows in search");
      await t.shot("search-finds-imported");
      await fitsAt390(t, page, "search-finds-imported-390");
    },
  ],
  [
    "20-guest-proves-mailbox-for-welcome-offer",
    async (t) => {
      // Issue 33: a guest cannot use a once-per-customer offer with a typed address; proving the
      // mailbox with the mailed code gets the welcome discount, and the receipt goes there.
      const page = await t.newPage();
      const email = `welcome-${Date.now().toString(36)}@example.com`;
      await addToCart(page, "linen-scarf", 1);
      await page.goto("/cart");
      await page.fill("#coupon-code", "WELCOME10");
      await page.click("form[action='/cart/coupon'] button[type=submit]");
      await waitText(page.locator("p.form-message.error"), /once per customer/);
      await fitsPhoneAndDesktop(t, page, "welcome-needs-proof");
      await proveMailboxInPage(t, page, email, "guest");
      const subtotal = cents((await page.locator("[data-subtotal]").textContent()) ?? "");
      await page.fill("#coupon-code", "WELCOME10");
      await page.click("form[action='/cart/coupon'] button[type=submit]");
      await waitText(page.locator("p.form-message"), /Coupon applied\./);
      const discount = cents((await page.locator("[data-discount]").textContent()) ?? "");
      assert(Math.abs(discount - Math.round(subtotal * 0.1)) <= 1, `WELCOME10 took ${discount} cents off ${subtotal}, expected 10%`);
      await fitsPhoneAndDesktop(t, page, "welcome-applied");
      await page.fill("#checkout-email", email);
      await page.click("form[action='/checkout'] button[type=submit]");
      await waitPath(page, /^\/dev\/pay\/cs_test_/);
      await page.fill("input[name=name]", "Grace Hopper");
      await page.fill("input[name=line1]", "1 Compiler Way");
      await page.fill("input[name=city]", "Arlington");
      await page.fill("input[name=postalCode]", "22201");
      await page.click("button[name=outcome][value=paid]");
      await waitPath(page, /^\/orders\/[^/?]+\?status=success$/);
      await page.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      await fitsPhoneAndDesktop(t, page, "welcome-order-paid");
      // The same mailbox proven in a new cart: its one use is spent.
      const again = await t.newPage();
      t.page = again;
      await addToCart(again, "linen-scarf", 1);
      await proveMailboxInPage(t, again, email);
      await again.fill("#coupon-code", "WELCOME10");
      await again.click("form[action='/cart/coupon'] button[type=submit]");
      await waitText(again.locator("p.form-message.error"), /already used this coupon/);
      await fitsPhoneAndDesktop(t, again, "welcome-used-once");
    },
  ],
  [
    "21-automatic-free-shipping",
    async (t) => {
      // Issue 33: an automatic promotion (no code) shows in the cart, with why it does not apply to
      // another cart, and on the paid order.
      const other = await t.newPage();
      await addToCart(other, "linen-scarf", 1);
      await other.goto("/cart");
      await waitText(other.locator("[data-promotion-missed=products_not_in_cart]"), /Free shipping on home goods does not apply/);
      await fitsPhoneAndDesktop(t, other, "promotion-not-applied");
      const page = await t.newPage();
      t.page = page;
      await addToCart(page, "cedar-smoke-candle", 1);
      await page.goto("/cart");
      await waitText(page.locator("[data-promotion-applied=free_shipping]"), /Free shipping on home goods: free shipping on this order/);
      await fitsPhoneAndDesktop(t, page, "free-shipping-cart");
      await page.fill("#checkout-email", `candle-${Date.now().toString(36)}@example.com`);
      await page.click("form[action='/checkout'] button[type=submit]");
      await waitPath(page, /^\/dev\/pay\/cs_test_/);
      await page.fill("input[name=name]", "Mary Somerville");
      await page.fill("input[name=line1]", "3 Orbit Lane");
      await page.fill("input[name=city]", "Boston");
      await page.fill("input[name=postalCode]", "02110");
      await page.click("button[name=outcome][value=paid]");
      await waitPath(page, /^\/orders\/[^/?]+\?status=success$/);
      await page.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      await waitText(page.locator("[data-shipping]"), /^Free$/);
      await waitText(page.locator("[data-order-promotion]"), /Free shipping on home goods: free shipping \(saved \$4\.95\)/);
      await fitsPhoneAndDesktop(t, page, "free-shipping-order");
    },
  ],
  [
    "23-staff-automatic-discount",
    async (t, state) => {
      // Decision 030: staff create an automatic discount with a decimal form (at 390 px), a
      // shopper's cart shows it applied in its totals, and staff switch it off again (so a rerun,
      // or any journey after this one, sees the demo's prices).
      const staff = await t.newPage();
      if (!state.adminTotp) {
        assert((await signIn(staff, state.admin)) === "done", "the fresh dev admin was asked for a second factor");
        state.adminTotp = { secret: await enableTotp(t, staff, state.admin.password) };
        await signOut(staff);
      }
      assert((await signIn(staff, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(staff, state.adminTotp.secret);
      await staff.goto("/admin/promotions");
      const name = `Home goods ${Date.now().toString(36)}`;
      await staff.fill("input[name=name]", name);
      await staff.selectOption("select[name=kind]", "percent_off");
      await staff.fill("input[name=value]", "10");
      await staff.fill("input[name=category]", "home");
      await staff.click("form[action='/admin/promotions'] button[type=submit]");
      await waitPath(staff, /^\/admin\/promotions\/promo_/);
      await fitsAt390(t, staff, "staff-promotion-390");
      const shopper = await t.newPage();
      t.page = shopper;
      await addToCart(shopper, "cedar-smoke-candle", 1);
      await shopper.goto("/cart");
      await waitText(shopper.locator("[data-promotion-applied=discount]"), new RegExp(`${name}: −\\$`));
      await shopper.locator("[data-promotion-discount]").waitFor();
      await fitsPhoneAndDesktop(t, shopper, "automatic-discount-cart");
      await staff.click("form[action$='/active'] button[type=submit]");
      await waitText(staff.locator("h1"), /\(inactive\)/);
    },
  ],
  [
    "22-return-a-delivered-order",
    async (t, state) => {
      // Issue 32, returns: a guest buys two mugs on a phone; staff ship and deliver the order; the
      // guest asks to return one; staff approve it, receive it for the shelf and refund it (step-up
      // code when asked). Every page at 390 px and 1280 px, none wider than its viewport.
      const staff = await t.newPage();
      if (!state.adminTotp) {
        // Run on its own (`-g 22-return`): enrol the admin's second factor as journey 10 does.
        assert((await signIn(staff, state.admin)) === "done", "the fresh dev admin was asked for a second factor");
        state.adminTotp = { secret: await enableTotp(t, staff, state.admin.password) };
        await signOut(staff);
      }
      const shopper = await t.newPage({ viewport: PHONE });
      await addToCart(shopper, "enamel-camp-mug", 2);
      await shopper.goto("/cart");
      await shopper.fill("#checkout-email", `returns-${Date.now().toString(36)}@example.com`);
      await shopper.click("form[action='/checkout'] button[type=submit]");
      await waitPath(shopper, /^\/dev\/pay\/cs_test_/);
      for (const [field, value] of [
        ["name", "Ada Lovelace"],
        ["line1", "12 Analytical Row"],
        ["city", "London"],
        ["postalCode", "N1 9GU"],
      ])
        if ((await shopper.locator(`input[name=${field}]`).count()) > 0) await shopper.fill(`input[name=${field}]`, value);
      await shopper.click("button[name=outcome][value=paid]");
      await waitPath(shopper, /^\/orders\/[^/?]+\?status=success$/);
      await shopper.locator("strong[data-status=paid]").waitFor({ timeout: 20_000 });
      const orderId = new URL(shopper.url()).pathname.split("/")[2];
      const number = /#\d+/.exec((await shopper.locator("h1.page-title").textContent()) ?? "")?.[0];
      assert(number, "the shopper's order page shows no order number");
      assert((await shopper.locator("[data-returns-link]").count()) === 0, "an order not delivered offers a return");

      // Staff ship and deliver it.
      assert((await signIn(staff, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(staff, state.adminTotp.secret);
      t.page = staff;
      await staff.goto(`/admin/orders/${orderId}`);
      await staff.fill(`form[action='/admin/orders/${orderId}/ship'] input[name=carrier]`, "DHL Express");
      await staff.fill(`form[action='/admin/orders/${orderId}/ship'] input[name=trackingNumber]`, "JD014600054321");
      await staff.click(`form[action='/admin/orders/${orderId}/ship'] button[type=submit]`);
      await staff.locator("[data-fulfilment=shipped]").waitFor();
      await staff.click(`form[action='/admin/orders/${orderId}/deliver'] button[type=submit]`);
      await staff.locator("[data-fulfilment=delivered]").waitFor();

      // The guest asks to return one mug, from the order page's link.
      t.page = shopper;
      await shopper.goto(`/orders/${orderId}`);
      await shopper.click("[data-returns-link]");
      await waitPath(shopper, new RegExp(`^/orders/${orderId}/returns$`));
      await shopper.locator("[data-return-form]").waitFor();
      await fitsPhoneAndDesktop(t, shopper, "return-form");
      await shopper.locator("[data-return-form] input[type=number]").first().fill("1");
      await shopper.fill("[data-return-form] textarea[name=reason]", "One is enough");
      await shopper.click("[data-return-form] button[type=submit]");
      await waitPath(shopper, new RegExp(`^/orders/${orderId}/returns\\?requested=1$`));
      await shopper.locator("[data-return-status=requested]").waitFor();
      await fitsPhoneAndDesktop(t, shopper, "return-requested");
      await waitForMail(shopper, new RegExp(`received your return request for order ${number}$`));

      // Staff: the queue, approve, receive for the shelf, refund.
      t.page = staff;
      await staff.goto("/admin/returns?status=requested");
      const row = staff.locator("tr[data-return-row]", { hasText: number });
      await row.waitFor();
      await fitsPhoneAndDesktop(t, staff, "staff-returns-list");
      await row.locator("a").click();
      await waitPath(staff, /^\/admin\/returns\/ret_[0-9a-f]+$/);
      const returnPath = new URL(staff.url()).pathname;
      await fitsPhoneAndDesktop(t, staff, "staff-return-requested");
      await staff.click(`form[action='${returnPath}/approve'] button[type=submit]`);
      await staff.locator("[data-return-status=approved]").waitFor();
      await staff.click(`form[action='${returnPath}/receive'] button[type=submit]`);
      await staff.locator("[data-return-status=received]").waitFor();
      const amount = (await staff.locator("[data-confirm-amount] strong").textContent()) ?? "";
      assert(/\d/.test(amount), `the refund names no amount: ${amount}`);
      await fitsPhoneAndDesktop(t, staff, "staff-return-received");
      if ((await staff.locator(`form[action='${returnPath}/refund'] input[name=code]`).count()) > 0)
        await staff.fill(`form[action='${returnPath}/refund'] input[name=code]`, await unspentTotp(state.adminTotp.secret));
      await staff.click(`form[action='${returnPath}/refund'] button[type=submit]`);
      await staff.locator("[data-return-status=refunded]").waitFor({ timeout: 20_000 });
      await fitsPhoneAndDesktop(t, staff, "staff-return-refunded");

      // The guest sees the refund on the returns page and the order page.
      t.page = shopper;
      await shopper.goto(`/orders/${orderId}/returns`);
      await shopper.locator("[data-return-status=refunded]").waitFor();
      await fitsPhoneAndDesktop(t, shopper, "return-refunded");
      await waitForMail(shopper, new RegExp(`return for order ${number} is refunded$`));
      await shopper.goto(`/orders/${orderId}`);
      await waitText(shopper.locator("strong[data-payment-state]"), /^Partially refunded$/);
      await fitsPhoneAndDesktop(t, shopper, "order-after-return");
    },
  ],
  [
    "25-staff-product-with-images",
    async (t, state) => {
      // Issue 32: staff create a product with an image from the form (the slug follows the name),
      // add a second image with alt text, move it first; the shop's page shows both. Every page fits 390 px.
      const page = await t.newPage();
      if (!state.adminTotp) {
        assert((await signIn(page, state.admin)) === "done", "the fresh dev admin was asked for a second factor");
        state.adminTotp = { secret: await enableTotp(t, page, state.admin.password) };
        await signOut(page);
      }
      assert((await signIn(page, state.admin)) === "second-factor", "admin sign-in did not ask for a code");
      await enterTotp(page, state.adminTotp.secret);
      await page.goto("/admin/products");
      const name = `Glazed Bowl ${Date.now().toString(36)}`;
      const form = page.locator("form[data-slug-form]");
      await form.locator("input[name=name]").pressSequentially(name);
      const slug = await form.locator("input[name=slug]").inputValue();
      assert(slug === name.toLowerCase().replaceAll(" ", "-"), `the slug did not follow the name: ${slug}`);
      await form.locator("input[name=price]").fill("24.00");
      const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
      await form.locator("input[name=image]").setInputFiles({ name: "bowl.png", mimeType: "image/png", buffer: Buffer.concat([png, Buffer.from(name)]) });
      await form.locator("input[name=imageAlt]").fill("A glazed bowl from above");
      await fitsAt390(t, page, "staff-new-product-390");
      await form.locator("button[type=submit]").click();
      await waitPath(page, /^\/admin\/products\/prd_[0-9a-f]+$/);
      const add = page.locator("form[action$='/image']");
      await add
        .locator("input[name=image]")
        .setInputFiles({ name: "side.png", mimeType: "image/png", buffer: Buffer.concat([png, Buffer.from(`${name} side`)]) });
      await add.locator("input[name=alt]").fill("The bowl from the side");
      await add.locator("button[type=submit]").click();
      await waitText(page.locator(".image-list"), /Image 2/);
      await page.locator(".image-list li").nth(1).locator("form:has(input[value=up]) button").click();
      await waitText(page.locator(".image-list li").first(), /Main image/);
      assert(
        (await page.locator(".image-list li").first().locator("input[name=alt]").inputValue()) === "The bowl from the side",
        "the moved image is not first",
      );
      await t.shot("staff-product-images");
      await fitsAt390(t, page, "staff-product-images-390");
      await page.goto(`/products/${slug}`);
      assert((await page.locator(".product-media > img").getAttribute("alt")) === "The bowl from the side", "the main image is not the first one");
      assert((await page.locator(".product-thumbs img").count()) === 1, "the second image is not a thumbnail");
      await t.shot("shop-product-images");
      await fitsAt390(t, page, "shop-product-images-390");
    },
  ],
];

/** Fails when the page scrolls sideways: no page may be wider than its viewport. */
async function noWiderThanViewport(page, where) {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert(scroll <= inner, `${where}: ${scroll} px wide in a ${inner} px viewport`);
}

/** Screenshots the page at 1280 px and at 390 px and asserts it is no wider than either viewport. */
async function fitsPhoneAndDesktop(t, page, step) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= width, `${step}: the page is ${wide} px wide in a ${width} px viewport`);
    await t.shot(`${step}-${width}`, page);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** Adds a passkey named `name` on /account with the browser's (virtual) authenticator. */
async function addPasskey(page, name) {
  await page.goto("/account");
  const form = page.locator("form[data-auth-form=add-passkey]");
  await form.locator("input[name=name]").fill(name);
  await form.locator("button[type=submit]").click();
  await page.locator("[data-passkey-list] li", { hasText: name }).waitFor({ timeout: 15_000 });
}

/** Signs in with the passkey button of /sign-in; resolves at /account. */
async function passkeySignIn(page) {
  await page.goto("/sign-in");
  await page.click("form[data-auth-form=passkey-signin] button[type=submit]");
  await waitPath(page, /^\/account$/);
}

/**
 * Creates a 15%-off coupon on /admin/coupons, then checks a shopper (a fresh guest) can apply it.
 */
async function createCoupon(t, page) {
  const form = page.locator("form[action='/admin/coupons']");
  if ((await form.count()) === 0) {
    t.notes.push("/admin/coupons has no create form: coupon creation not run");
    return;
  }
  const code = `E2E${Date.now().toString(36).toUpperCase()}`;
  await form.locator("input[name=code]").fill(code);
  await form.locator("select[name=kind]").selectOption("percent");
  await form.locator("input[name=value]").fill("15");
  // No per-customer limit: a guest applies it at once (a once-per-customer code needs a proven mailbox, journey 20).
  await form.locator("button[type=submit]").click();
  await waitPath(page, new RegExp(`^/admin/coupons/${code}$`));
  await waitText(page.locator("main"), new RegExp(code));
  await t.shot("coupon-created");
  const shopper = await t.newPage();
  await addToCart(shopper, "linen-scarf", 1);
  await shopper.goto("/cart");
  const subtotal = cents((await shopper.locator("[data-subtotal]").textContent()) ?? "");
  await shopper.fill("#coupon-code", code);
  await shopper.click("form[action='/cart/coupon'] button[type=submit]");
  await waitText(shopper.locator("p.form-message"), /Coupon applied\./);
  const discount = cents((await shopper.locator("[data-discount]").textContent()) ?? "");
  assert(Math.abs(discount - Math.round(subtotal * 0.15)) <= 1, `the new coupon took ${discount} cents off ${subtotal}, expected 15%`);
  await t.shot("new-coupon-in-cart", shopper);
}

/** The order number (`#1042`) the staff order page shows. */
async function orderNumberOn(page) {
  return ((await page.locator("[data-order-number]").textContent()) ?? "").trim();
}

/**
 * Ships the order, then refunds one unit of its first line with restock through the confirmation
 * page (asking for a code in place when the step-up is not recent), then the rest.
 */
async function refundOrder(t, page, orderId, secret) {
  const form = page.locator(`form[action='/admin/orders/${orderId}/refund']`);
  if ((await form.count()) === 0) {
    t.notes.push(`/admin/orders/${orderId} has no refund form: refund not run`);
    return;
  }
  const number = await orderNumberOn(page);
  // Ship it first: carrier and tracking number, then the customer's shipping notice.
  await page.fill(`form[action='/admin/orders/${orderId}/ship'] input[name=carrier]`, "DHL Express");
  await page.fill(`form[action='/admin/orders/${orderId}/ship'] input[name=trackingNumber]`, "JD014600012345");
  await page.click(`form[action='/admin/orders/${orderId}/ship'] button[type=submit]`);
  await waitText(page.locator("[data-fulfilment]"), /Shipped .* by DHL Express, tracking JD014600012345/);
  await t.shot("order-shipped");
  const notice = await waitForMail(page, new RegExp(`^Your .+ order ${number} has shipped$`));
  assert(notice.text.includes("JD014600012345"), `the shipping notice lacks the tracking number: ${notice.text}`);
  await refundFirstLine(t, page, orderId, secret);
  await waitForMail(page, new RegExp(`^Refund for your Bastion order ${number}$`));
  // The rest, as an explicit choice.
  await page.locator(`form[action='/admin/orders/${orderId}/refund'] input[name=mode][value=rest]`).check();
  await page.locator(`form[action='/admin/orders/${orderId}/refund'] button[type=submit]`).click();
  await confirmRefund(t, page, secret);
  await waitPath(page, new RegExp(`^/admin/orders/${orderId}(\\?refunded=\\d+)?$`));
  await waitText(page.locator("strong[data-payment-state]"), /^refunded$/);
  await t.shot("order-refunded");
}

/** The page at 390 px wide: no wider than its viewport (a phone), checked and shot. */
async function fitsAt390(t, page, step) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(wide <= 390, `${page.url()} is ${wide} px wide at 390 px`);
  await t.shot(step, page);
  if (size) await page.setViewportSize(size);
}

/** On the confirmation page: the amount is named; a code is typed when asked; the refund is made. */
async function confirmRefund(t, page, secret) {
  await waitPath(page, /^\/admin\/orders\/[^/]+\/refund(\?.*)?$/);
  const amount = (await page.locator("[data-confirm-amount] strong").textContent()) ?? "";
  assert(/\d/.test(amount), `the confirmation names no amount: ${amount}`);
  await t.shot("refund-confirmation");
  await assertFits(page, "refund-confirmation");
  if ((await page.locator("input[name=code]").count()) > 0) {
    assert(secret, "the refund asked for a code and the journey has no TOTP secret");
    await page.fill("input[name=code]", await unspentTotp(secret));
  }
  await page.locator("form.refund-confirm button[type=submit]").click();
  return amount;
}

/** Refunds one unit of the order's first line, back on the shelf: partially refunded, shown with its history. */
async function refundFirstLine(t, page, orderId, secret) {
  const form = page.locator(`form[action='/admin/orders/${orderId}/refund']`);
  await form.locator("input[name=mode][value=lines]").check();
  await form.locator("input.qty").first().fill("1");
  await form.locator("input[type=checkbox][name^='restock.']").first().check();
  await t.shot("refund-lines-chosen");
  await form.locator("button[type=submit]").click();
  const amount = await confirmRefund(t, page, secret);
  await waitPath(page, new RegExp(`^/admin/orders/${orderId}(\\?refunded=\\d+)?$`));
  await waitText(page.locator("strong[data-payment-state]"), /^partially refunded$/);
  await waitText(page.locator("[data-books]"), /restocked/);
  await t.shot("order-partly-refunded");
  await assertFits(page, "order-partly-refunded");
  return amount;
}
