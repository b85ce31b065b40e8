// The threat register: one entry per threat of the two seed threat models, with what we do about
// it and the attack tests that prove it. `npm run threats` renders THREATS.md, the README summary
// and threats/bastion.tc.json from this file; test/tooling/threats.test.ts fails when a threat
// marked mitigated names no test, names a test that does not exist, or a seed threat is missing.
//
// Seeds: PASTA model "E-commerce application decomposed" (threats 3-18 → P03-P18) and the STRIDE
// model of a Stripe Checkout flow (T01-T10, mitigations M-001..M-017).

/**
 * - `mitigated`: done in code and proven by the tests listed.
 * - `partial`: part of it is done (tests listed), the rest is being built or is an operator step.
 * - `planned`: being built; no test yet.
 * - `operator`: outside the code's reach; `operator` says what the person running the shop does.
 */
export type ThreatStatus = "mitigated" | "partial" | "planned" | "operator";

export interface Threat {
  /** `P03`…`P18` (PASTA threat number) or `T01`…`T10` (STRIDE threat id). */
  id: string;
  title: string;
  /** Where the threat comes from in the seed models. */
  seed: string;
  /** STRIDE category: S, T, R, I, D, E (several letters allowed). */
  stride: string;
  priority: "High" | "Medium" | "Low";
  /** The threat in our own words, in threat grammar (source, action, impact). */
  statement: string;
  status: ThreatStatus;
  /** What we do, in our own words; seed mitigation ids (M-0xx) inline where the seed has them. */
  mitigations: string[];
  /** The step a person must take that code cannot, with the document that describes it. */
  operator?: string;
  /** Exact titles of the attack tests (`it("…")` literals in test/**); each starts with `id`. */
  tests: string[];
}

const PASTA = "PASTA seed (000_3fbfbbdd86b1f06a)";
const STRIDE = "STRIDE seed (004_98eef493a01fb756)";

export const REGISTER: Threat[] = [
  {
    id: "P03",
    title: "Injection attacks: XSS, CSRF, path traversal",
    seed: `${PASTA} #3, Web interface`,
    stride: "T",
    priority: "Low",
    statement: "An external attacker who can put text in a request or a product could run script in another shopper's browser, make a signed-in shopper's browser change state cross-site, or read files outside the public folder.",
    status: "mitigated",
    mitigations: [
      "Every page is hono/jsx, which escapes text by default; no raw HTML from data anywhere.",
      "A strict Content-Security-Policy with a per-response nonce: no inline or third-party scripts, object-src, base-uri and frame-ancestors locked.",
      "Every non-GET request carrying cookies must come from our own origin (Origin / Sec-Fetch-Site), whatever its content type; session cookies are SameSite=Lax.",
      "Static files come from the ASSETS binding only; encoded dots and slashes never reach a file system.",
      "JSON bodies only on the API (415 otherwise), capped at 64 KiB (413); errors never carry a stack trace.",
    ],
    tests: [
      "P03 XSS: a script in the search box and in product text is rendered as inert text",
      "P03 XSS: every page carries a CSP without unsafe-inline scripts, with object-src, base-uri and frame-ancestors locked",
      "P03 CSRF: a cross-site state-changing request carrying cookies is refused whatever its content type",
      "P03 CSRF: the shop's own origin, or Sec-Fetch-Site same-origin, passes the check",
      "P03 path traversal: encoded dots, slashes and config file names are 404 and leak nothing",
      "P03 bodies: wrong content type is 415, over 64 KiB is 413, both as problem+json",
      "P03 errors: unknown pages are an HTML 404 and unknown API routes a problem+json 404, no stack traces",
    ],
  },
  {
    id: "P04",
    title: "SQL injection reveals hidden products",
    seed: `${PASTA} #4, View all products`,
    stride: "I",
    priority: "Medium",
    statement: "An external attacker who controls search text, a cursor or a slug could run SQL of their own and list hidden products or change the schema.",
    status: "mitigated",
    mitigations: [
      "Every query is built with drizzle-orm and bound parameters; no SQL is assembled from strings.",
      "Hidden products are filtered in one data-layer function (selectVisibleProducts) that every shopper read goes through.",
      "LIKE wildcards in search text are escaped; cursors are opaque, validated base64url and a forged one is a 400.",
    ],
    tests: [
      "P04 SQL injection: payloads in q, cursor, limit and slug never reveal a hidden product, never 500, never change the schema",
      "P04 SQL injection: LIKE wildcards are matched literally, so '%' cannot list the whole catalog",
      "P04 SQL injection: a malformed or forged cursor is a 400 problem, not a query",
    ],
  },
  {
    id: "P05",
    title: "Brute-force attacks on passwords",
    seed: `${PASTA} #5, Authentication`,
    stride: "S",
    priority: "Medium",
    statement: "An external attacker who knows an email address could try many passwords and take over an account with a weak password.",
    status: "mitigated",
    mitigations: [
      "Sign-in throttled in the LoginGuard Durable Object per submitted email (normalised, whether or not an account exists) and per client address (CF-Connecting-IP): Turnstile after 5 consecutive failures, exponential back-off (429 + Retry-After, a right password included) after 10, a notice mail to the owner; per address, Turnstile after 10 failures in 15 minutes and 429 after 50.",
      "The check and the count are one synchronous step inside the object, so parallel guesses cannot slip past; a password reset is never blocked and clears the streak.",
      "Passwords of 15-128 characters, no composition rules, refused when on a local list of 10,039 common passwords or in Pwned Passwords (k-anonymity); scrypt N=2^14 r=8 p=5 (decision 003).",
      "Unknown email and wrong password: same status (401), same code, and the same scrypt cost (the password is hashed for unknown emails too).",
    ],
    tests: [
      "P05 user enumeration: unknown email and wrong password give the same status and code",
      "P05 brute force: after 5 failures the next attempt needs Turnstile, and a correct password without it gets no session",
      "P05 credential stuffing: 20 parallel guesses cannot slip past the counter",
      "P05 after 10 failures even the right password is throttled with 429 and Retry-After, and the owner gets a notice",
      "P05 the throttle is keyed by the submitted email whether or not an account exists, so it reveals nothing",
      "P05 one address spraying many emails needs Turnstile after 10 failures and gets 429 after 50",
      "P05 password reset is never blocked by the counters, and a completed reset clears the email's streak",
      "P05 refuses passwords shorter than 15 or longer than 128 characters and creates no account",
      "P05 refuses a common password from the local list with no network",
    ],
  },
  {
    id: "P06",
    title: "Credential stuffing",
    seed: `${PASTA} #6, Authentication`,
    stride: "S",
    priority: "Medium",
    statement: "An external attacker with credentials leaked elsewhere could try them against our sign-in and take over accounts that reuse passwords.",
    status: "mitigated",
    mitigations: [
      "Breached passwords refused at sign-up, change and reset through the Pwned Passwords range API (only the first 5 hex characters of the SHA-1 leave the worker); if the API is down, the local list still applies and the event is logged.",
      "The per-address and per-email throttles of P05 slow stuffing from one address or against one account.",
      "Second factors: TOTP (5 wrong codes lock TOTP for 15 minutes per account, plus 5 per minute per address) with single-use backup codes, and passkeys; TOTP secrets and backup codes are stored encrypted.",
    ],
    tests: [
      "P06 TOTP brute force: wrong codes are limited and never open a session",
      "P06 backup codes are single-use",
      "P06 the TOTP secret and backup codes are not stored in plain text",
    ],
  },
  {
    id: "P07",
    title: "Phishing for credentials",
    seed: `${PASTA} #7, Authentication`,
    stride: "E",
    priority: "Medium",
    statement: "An external attacker could lure a shopper or a staff member to a look-alike page and collect their password and one-time code.",
    status: "partial",
    mitigations: [
      "Passkeys (WebAuthn) with the RP id and origin taken from PUBLIC_ORIGIN: a credential made for the shop cannot be used by a look-alike origin.",
      "Staff must enrol a second factor before any staff route answers (403 mfa_required); adding a passkey needs a sign-in within the last 10 minutes.",
      "Mail to shoppers never asks for a password or code; security notices on throttling, password change and reset.",
    ],
    operator: "Tell shoppers and staff that the shop never asks for a password or code by mail or phone; encourage staff to use passkeys (the /security page says so).",
    tests: ["P07 passkeys are bound to the shop's origin: registration options name the configured RP id"],
  },
  {
    id: "P08",
    title: "Session hijacking",
    seed: `${PASTA} #8, Authentication`,
    stride: "S",
    priority: "Medium",
    statement: "An attacker who steals or plants a session cookie could act as the shopper without knowing the password.",
    status: "mitigated",
    mitigations: [
      "__Host- session cookie: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain; HSTS in production.",
      "A new session token on every sign-in (no fixation); sign-out and 'sign out everywhere' delete sessions server-side; sessions expire.",
      "Fresh authentication required for sensitive actions (password, second factor, email changes).",
    ],
    tests: [
      "P08 session fixation: every sign-in issues a brand-new token and sign-out kills the session server-side",
      "P08 a forged or tampered session cookie is refused",
      "P08 a password change revokes every other session, even when the body asks not to",
      "P08 a stolen older session cannot add a passkey or change the email without signing in again",
    ],
  },
  {
    id: "P09",
    title: "Insecure credential recovery",
    seed: `${PASTA} #9, Authentication`,
    stride: "E",
    priority: "Medium",
    statement: "An attacker could abuse the forgot-password flow (guessable or reusable tokens, account enumeration) to take over an account.",
    status: "mitigated",
    mitigations: [
      "Reset tokens: ≥ 128 bits of randomness, stored hashed (verification.storeIdentifier = hashed), single use, 20-minute expiry, sent only by mail.",
      "request-password-reset answers identically for known and unknown emails; a reset revokes every session, does not sign the user in, and the next sign-in still asks for the second factor.",
      "Changing the email needs a fresh sign-in and the old address approves the change.",
    ],
    tests: [
      "P09 password reset: same answer for unknown emails, token single-use, revokes sessions, no sign-in, second factor still asked",
    ],
  },
  {
    id: "P10",
    title: "Coupon race conditions",
    seed: `${PASTA} #10, Shopping cart`,
    stride: "R",
    priority: "Medium",
    statement: "An external attacker could redeem a single-use coupon several times by sending parallel requests within milliseconds.",
    status: "mitigated",
    mitigations: [
      "One CouponObject Durable Object per coupon (per customer for codes without a total limit) decides every reservation single-threaded; outstanding reservations count against maxRedemptions and perCustomerLimit (M-012, M-013, M-016).",
      "Checkout reserves the coupon inside its object; payment commits it; expiry or cancellation releases it, and an alarm releases stale reservations (decision 004).",
    ],
    tests: [
      "P10/T07 race: 50 concurrent reserves from 50 users on a single-use coupon give exactly one ok",
      "P10/T07 race: the same user in two concurrent checkouts with perCustomerLimit 1 gets one reservation",
      "P10/T07 race: a hot code with only a per-customer limit is sharded per customer and still allows one per customer",
      "P10/T07 per-customer limit: a signed-in customer who has used up a per-customer coupon is refused with coupon_already_used",
    ],
  },
  {
    id: "P11",
    title: "Price manipulation",
    seed: `${PASTA} #11, Shopping cart`,
    stride: "T",
    priority: "Medium",
    statement: "An attacker who edits cart or checkout requests could send their own prices and pay less.",
    status: "mitigated",
    mitigations: [
      "The cart stores product ids and quantities only; priceCart computes every total from D1 prices with the server's discount (integer cents, percent discounts rounded down, never below zero); price-like fields in requests are ignored.",
      "The order is a snapshot of D1 prices at checkout, and the Stripe session's amount must equal the order total before an order is paid.",
    ],
    tests: [
      "P11 price manipulation: priceCents, unitPriceCents, totalCents, discountCents in bodies are ignored; totals are D1 price × qty",
      "P11 price manipulation: totals == D1 price × qty − server discount; a discountCents in the body is ignored",
    ],
  },
  {
    id: "P12",
    title: "Insecure direct object reference on carts and orders",
    seed: `${PASTA} #12, Shopping cart`,
    stride: "S",
    priority: "Medium",
    statement: "An attacker who changes an identifier in a request could read or change another shopper's cart or order.",
    status: "mitigated",
    mitigations: [
      "A cart is found from the session only: user:<id> for a signed-in shopper, a 128-bit random guest id in a __Host- cookie otherwise; no route reads a cart id from the body, query or path; forged cookies get a fresh empty cart.",
      "Orders are read scoped to their owner; another shopper's order is a 404 on the API and the pages.",
      "State-changing requests with cookies must come from the shop's origin (CSRF).",
    ],
    tests: [
      "P12 IDOR: another shopper's cart is unreachable; cart ids in the query, body or path are ignored",
      "P12 IDOR: a signed-in shopper's cart is the account's (user:<id>), not the guest cookie's, and another account cannot see it",
      "P12 a guest cart cookie cannot be used to read a signed-in user's cart",
      "P12 forged cookie: a cart id we could not have issued gets a fresh empty cart, a new cookie, and one audit event",
      "P12 stale cookie: a well-formed id nobody used is just an empty cart of its own, not another's",
      "P12 another user's order id is 404 on the API and the page, and absent from their list",
      "P12 CSRF: a cart change with the cookie from another origin is refused with 403 and changes nothing",
    ],
  },
  {
    id: "P13",
    title: "Negative and tampered quantities",
    seed: `${PASTA} #13, Shopping cart`,
    stride: "T",
    priority: "Medium",
    statement: "An attacker could send negative, zero, fractional or huge quantities to lower a total or break stock.",
    status: "mitigated",
    mitigations: [
      "zod validates quantities as integers 1-99 on every cart route and form; the CartObject validates again (defence in depth); at most 50 lines.",
      "D1 CHECK constraints keep stock and prices non-negative; stock is taken with a conditional decrement in one batch at checkout.",
    ],
    tests: [
      "P13 quantity tampering: -1, 0, 1.5, '2', 1e9, null (NaN), 100 and a missing quantity are refused with 422 and nothing changes",
      "P13 quantity tampering: the CartObject itself refuses invalid quantities (defence in depth)",
      "P13 quantity tampering via forms: bad quantities redirect with a clear message and change nothing",
      "P13 line overflow: the 51st different product is refused with 409 cart_full and the cart keeps 50 lines",
    ],
  },
  {
    id: "P14",
    title: "Insecure transmission of payment data",
    seed: `${PASTA} #14, Checkout page`,
    stride: "I",
    priority: "Medium",
    statement: "An attacker on the network could read card numbers if the shop handled or transmitted them itself.",
    status: "mitigated",
    mitigations: [
      "Card data never reaches the shop: Stripe Checkout collects it on Stripe's page; we only see session and payment ids.",
      "HTTPS only in production with HSTS; calls to Stripe over TLS (see T09).",
    ],
    tests: [
      "P14 the shop only sends Stripe order data over HTTPS and never a card field; the shopper pays on Stripe's page",
    ],
  },
  {
    id: "P15",
    title: "Insecure payment processing (PCI DSS)",
    seed: `${PASTA} #15, Checkout page`,
    stride: "R",
    priority: "Medium",
    statement: "Using an unsafe gateway or outdated payment library could break PCI DSS and expose shoppers to fraud.",
    status: "partial",
    mitigations: [
      "Stripe Checkout (a PCI DSS Level 1 provider, SAQ A for us) through the pinned official stripe library on its fetch client.",
      "An order is paid only by a verified checkout.session.completed / async_payment_succeeded whose session id, amount_total, currency and payment_status all match; a mismatch leaves it unpaid and writes a security audit event.",
    ],
    operator: "Complete the PCI DSS SAQ A that Stripe provides for Checkout users every year (Stripe dashboard, compliance settings) and keep the stripe library up to date.",
    tests: [
      "P15 amount mismatch: 200, order stays pending, security audit event payment.amount_mismatch",
      "P15 currency mismatch: 200, order stays pending, security audit event payment.amount_mismatch",
      "P15 payment_status unpaid: 200, order stays pending, security audit event payment.unpaid_completion",
      "P15 an unpaid completion followed by async_payment_succeeded pays the order",
      "P15 refuses a session whose amount_total differs from the order's total",
    ],
  },
  {
    id: "P16",
    title: "Improper access controls",
    seed: `${PASTA} #16, User data`,
    stride: "E",
    priority: "Medium",
    statement: "A guest, a customer or a support user could reach staff actions or data they are not allowed to see or change.",
    status: "mitigated",
    mitigations: [
      "Every staff route is behind requireStaff with explicit roles; staff must have a second factor (403 mfa_required otherwise).",
      "Request schemas are strict: unknown fields such as id, role or createdAt are refused (no mass assignment).",
      "Role changes and staff actions are written to the tamper-evident audit log.",
    ],
    tests: [
      "P16 a guest, a customer and a support user are refused on every admin action, and nothing changes",
      "P16 staff without a second factor get 403 mfa_required on every admin action, and nothing changes",
      "P16 guests, customers, support and staff without a second factor cannot open or post staff pages",
      "P16 mass assignment: id, createdAt, role and other unknown fields on create and update are refused with 422, nothing changes",
      "P16 mass assignment: role in the sign-up body is ignored; every new account is a customer",
    ],
  },
  {
    id: "P17",
    title: "Improper configuration",
    seed: `${PASTA} #17, User data`,
    stride: "S",
    priority: "Medium",
    statement: "A production worker with a missing secret, test keys, the payment simulator or development routes switched on could expose data or accept fake payments.",
    status: "mitigated",
    mitigations: [
      "One zod config schema checked on the first request: an unsafe production config answers 503 misconfigured to everything and logs the setting's name, never its value.",
      "Development routes are 404 outside development; secrets come only from bindings; `npm run doctor` checks wrangler.toml and local files before a deploy.",
    ],
    operator: "Run `npm run doctor` before every deploy and work through the production hardening checklist in docs/operations.md (restricted Stripe key, Turnstile keys, account members).",
    tests: [
      "P17 configuration: a safe production config serves the shop",
      "P17 configuration: development routes are 404 outside development",
    ],
  },
  {
    id: "P18",
    title: "Data loss",
    seed: `${PASTA} #18, User data`,
    stride: "D",
    priority: "Medium",
    statement: "An accidental deletion, a bad migration or a platform failure could lose orders, accounts and the audit log.",
    status: "operator",
    mitigations: [
      "D1 Time Travel restores any minute of the last 30 days; `npm run db:backup` / `db:restore` dump and restore the database.",
      "The restore drill verifies a restored audit log through its hash chain, so a tampered backup is detected.",
    ],
    operator: "Back up before every migration (`npm run db:backup -- --remote --env production`), keep dumps encrypted, and rehearse the restore runbook in docs/operations.md.",
    tests: ["P18 restore drill detects a tampered backup through the hash chain"],
  },
  {
    id: "T01",
    title: "Insider exfiltrates the Stripe API keys",
    seed: `${STRIDE} T01`,
    stride: "I",
    priority: "High",
    statement: "An internal employee with access to source code could exfiltrate the Stripe API keys and use them to read customer data or make fraudulent purchases.",
    status: "operator",
    mitigations: [
      "Keys live only in Workers secrets (encrypted, write-only, read by the worker at runtime), never in the repository or wrangler.toml; `npm run check:secrets` fails CI on a committed key (M-001).",
      "A restricted key (rk_live_) with only the permissions Checkout needs; Stripe IP allow-listing does not fit Workers' shared egress, so we rely on the restricted scope (M-005).",
      "Only operators can read or set secrets in the Cloudflare account; staff roles in the shop never see keys; staff actions are audited (M-006).",
    ],
    operator: "Create a restricted Stripe key, set it with `wrangler secret put STRIPE_SECRET_KEY --env production`, review Cloudflare account members quarterly and enforce 2FA/SSO (docs/operations.md, items 1, 2 and 6); roll the key when someone leaves.",
    tests: [],
  },
  {
    id: "T02",
    title: "Stripe test keys in production",
    seed: `${STRIDE} T02`,
    stride: "T",
    priority: "High",
    statement: "An external actor could pay with Stripe test cards if test keys were deployed to production, causing financial loss.",
    status: "mitigated",
    mitigations: [
      "The production config refuses sk_test_/rk_test_ keys, the payment simulator and missing webhook secrets: every route answers 503 (M-002, M-011).",
      "The secret scan in CI flags any Stripe key or webhook secret in tracked files (M-002).",
    ],
    tests: [
      "T02 test keys in production: ${label} makes every route answer 503 misconfigured without echoing secrets",
      "T02 test keys: the secret scan flags real-looking Stripe keys and webhook secrets",
    ],
  },
  {
    id: "T03",
    title: "Supply-chain attack on a front-end script",
    seed: `${STRIDE} T03`,
    stride: "T",
    priority: "High",
    statement: "An attacker who compromises a JavaScript library served to the browser could inject code into our pages and the checkout flow.",
    status: "mitigated",
    mitigations: [
      "No third-party scripts: our own script and stylesheet only, each pinned with a sha384 Subresource Integrity hash that `npm test` checks against the files (M-004).",
      "CSP script-src 'self' with a nonce; Stripe's page is a redirect, not an embedded script.",
    ],
    tests: [
      "T03 supply chain: every script and stylesheet on our pages is same-origin and its SRI hash matches the served bytes",
      "T03 supply chain: versioned assets are cacheable for a year, everything else defaults to no-store",
      "T03 supply chain: the SRI manifest matches the scripts and styles in public/",
    ],
  },
  {
    id: "T04",
    title: "Supply-chain attack on an npm package",
    seed: `${STRIDE} T04`,
    stride: "T",
    priority: "High",
    statement: "An attacker who compromises an npm package could run malicious code inside the worker.",
    status: "mitigated",
    mitigations: [
      "Every dependency is pinned to an exact version and locked in package-lock.json with integrity hashes; CI installs with `npm ci` (M-003).",
      "A small dependency set: Hono, zod, drizzle-orm, better-auth, stripe.",
    ],
    operator: "Review dependency updates one at a time and run `npm audit` (or an equivalent scanner) in CI on a schedule (M-003).",
    tests: [
      "T04 supply chain: every dependency is pinned to an exact version, locked, and only allow-listed packages may run install scripts",
    ],
  },
  {
    id: "T05",
    title: "Forged webhook events",
    seed: `${STRIDE} T05`,
    stride: "S",
    priority: "High",
    statement: "An attacker who finds the webhook path could post fake payment events and have unpaid orders fulfilled.",
    status: "mitigated",
    mitigations: [
      "Every webhook is verified with Stripe's signature scheme (HMAC-SHA256 over the raw body, constant-time compare) before it is parsed (M-007).",
      "Optional allow-list of Stripe's webhook IP addresses on CF-Connecting-IP (STRIPE_WEBHOOK_IPS) (M-010).",
    ],
    tests: [
      "T05 forged, wrong-secret, modified-body and unsigned are refused",
      "T05 a signature over the body is checked before JSON.parse: a malformed body with a bad signature is signature_invalid",
      "T05 livemode mismatch: a correctly signed live event on a test-mode shop is refused",
    ],
  },
  {
    id: "T06",
    title: "Replayed webhook events",
    seed: `${STRIDE} T06`,
    stride: "S",
    priority: "High",
    statement: "A rogue process that captures a signed webhook request could replay it to trigger fulfilment again.",
    status: "mitigated",
    mitigations: [
      "Signatures older than 300 seconds are refused; each event id is recorded once in D1 (unique key), and fulfilment is idempotent (M-008).",
    ],
    tests: [
      "T06 stale timestamp beyond 300 s is refused",
      "T06 replay guard: a second insert of one webhook event id fails the whole batch",
      "T06 replay of the same event id: 200, fulfilled once",
      "T06 replay after a refund does not pay the order again",
      "T06 ten concurrent deliveries of one completed event: paid once, one timeline entry",
      "T06 ten concurrent deliveries of one expired event: one status change, stock back once",
    ],
  },
  {
    id: "T07",
    title: "Coupon limit race during checkout",
    seed: `${STRIDE} T07`,
    stride: "T",
    priority: "High",
    statement: "An external actor could exceed a coupon's redemption limit by racing parallel checkouts.",
    status: "mitigated",
    mitigations: [
      "The coupon is checked when applied and again at checkout (M-012); the CouponObject reserves a redemption before the discount is applied and commits it on payment (M-013).",
      "Checkout works from a snapshot of the cart's coupon taken by the CartObject (M-015); Durable Objects serialise each coupon's counter (M-016).",
    ],
    tests: [
      "T07 stacking: after applying A then B the cart holds only B and only B's discount counts",
      "T07 expired, not-yet-started, inactive and unknown coupons are refused by the server's clock, and nothing is reserved",
      "T07 expired or inactive coupons are refused by the server's clock (422) and the cart is unchanged",
      "T07 exhausted: a used-up single-use coupon (reserved by someone's checkout) is refused with coupon_exhausted",
      "P10/T07 race: 50 concurrent reserves from 50 users on a single-use coupon give exactly one ok",
    ],
  },
  {
    id: "T08",
    title: "Cart changes during checkout",
    seed: `${STRIDE} T08`,
    stride: "T",
    priority: "High",
    statement: "An external actor could add items to the cart while a checkout is in progress and receive more than they paid for.",
    status: "mitigated",
    mitigations: [
      "beginCheckout snapshots the cart and locks it: changes during checkout are refused (checkout_in_progress) and orders are built from the snapshot only (M-014, M-016).",
    ],
    tests: [
      "T08 snapshot: changes during checkout bump the version but never the snapshot; completing removes only what was bought",
      "T08 race: 30 concurrent adds to one cart lose no update",
      "T08 out of stock: 422 out_of_stock, no order, no stock taken from any line, cart usable again",
      "T08 two shoppers race for the last item: exactly one order takes it, stock never negative",
      "T08 session id mismatch: 200, order stays pending, security audit event payment.session_mismatch",
    ],
  },
  {
    id: "T09",
    title: "Tampering in transit",
    seed: `${STRIDE} T09`,
    stride: "T",
    priority: "High",
    statement: "An attacker on the network could read or change traffic between shoppers, our worker and Stripe if it were not protected by TLS.",
    status: "mitigated",
    mitigations: [
      "Production redirects plain HTTP to HTTPS and sends HSTS; PUBLIC_ORIGIN must be https; outbound calls to Stripe use https only (M-017).",
    ],
    operator: "In the Cloudflare dashboard set SSL/TLS to Full (strict), minimum TLS 1.2 and Always Use HTTPS for the shop's zone (M-017).",
    tests: ["T09 transport security: production redirects plain HTTP to HTTPS and sends HSTS"],
  },
  {
    id: "T10",
    title: "Repudiated orders (missing audit trail)",
    seed: `${STRIDE} T10`,
    stride: "R",
    priority: "High",
    statement: "A customer could falsely claim they did not place an order if transactions were not logged in a way we can trust.",
    status: "partial",
    mitigations: [
      "A tamper-evident audit log: a SHA-256 hash chain written by one Durable Object, append-only in D1 (triggers), verifiable by staff and `npm run audit:verify` (M-009).",
      "Every order is timestamped and keeps Stripe's session and payment ids and the card's last four digits as reported by Stripe (M-009).",
    ],
    tests: [
      "T10 detects an edited, a deleted and a re-hashed event",
      "T10 detects deletion of the newest events, which leaves a valid shorter chain, through the object's head",
      "T10 forged audit line: newlines and JSON fragments in a name or email stay inside one field",
      "T10/M-009 D1 refuses UPDATE and DELETE of audit events (append-only triggers)",
      "T10/M-009 no route edits or deletes an audit event: PUT/PATCH/DELETE/POST on the audit log are 404/405 and the chain is unchanged",
      "T10 forged audit line through a crafted product name: one event, the name stays one escaped field, the chain verifies",
    ],
  },
];
