import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { as } from "../support/admin";
import { signUpAndSignIn, type SignedIn } from "../support/accounts";
import { getCart, guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { makeProduct } from "../support/factories";
import { ORIGIN, request } from "../support/http";
import { signStripePayload, WEBHOOK_SECRET } from "../support/stripe";
import { d1State, expectJsonAnswer, hostileBody } from "./arbitraries";

// Property-based attacks on every JSON route: whatever body arrives, the worker answers JSON or
// problem+json, never a 5xx, and a refused request (4xx) changes nothing: the caller's cart and
// the watched D1 tables are byte-for-byte what they were.

const RUNS = { numRuns: 100 };
/** Each property sends hundreds of requests through workerd. */
const SLOW = 60_000;

function send(method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return request(path, { method, headers: { "content-type": "application/json", origin: ORIGIN, ...headers }, body });
}

/**
 * Runs a hostile-body property against one route. `observe` reads the caller-visible state
 * (a cart, say); after a success the baseline is taken again (a success may change state).
 */
async function fuzzRoute(opts: {
  arb: fc.Arbitrary<string>;
  call: (body: string) => Promise<Response>;
  observe?: () => Promise<unknown>;
  afterSuccess?: (res: Response, answer: unknown) => Promise<void>;
  runs?: number;
}): Promise<void> {
  const observe = opts.observe ?? (async () => null);
  let baseline = JSON.stringify([await observe(), await d1State()]);
  await fc.assert(
    fc.asyncProperty(opts.arb, async (body) => {
      const res = await opts.call(body);
      const answer = await expectJsonAnswer(res);
      if (res.status >= 400) {
        expect(JSON.stringify([await observe(), await d1State()])).toBe(baseline);
      } else {
        await opts.afterSuccess?.(res, answer);
        baseline = JSON.stringify([await observe(), await d1State()]);
      }
    }),
    { numRuns: opts.runs ?? RUNS.numRuns },
  );
}

describe("fuzzing the cart API", () => {
  it(
    "P13 POST /api/cart/items: hostile bodies never 5xx, always JSON, refusals change nothing",
    async () => {
      const product = await makeProduct({ priceCents: 1234, stock: 50 });
      const { cookie } = guestCart();
      await fuzzRoute({
        arb: hostileBody({
          productId: fc.oneof(fc.constant(product.id), fc.string()),
          quantity: fc.oneof(fc.integer({ min: -5, max: 120 }), fc.double(), fc.string()),
        }),
        call: (body) => send("POST", "/api/cart/items", body, { cookie }),
        observe: () => getCart(cookie),
      });
    },
    SLOW,
  );

  it(
    "P13 PUT /api/cart/items/{id}: hostile bodies and ids never 5xx, refusals change nothing",
    async () => {
      const product = await makeProduct({ priceCents: 999, stock: 50 });
      const { cookie } = guestCart();
      const added = await send("POST", "/api/cart/items", JSON.stringify({ productId: product.id, quantity: 2 }), { cookie });
      expect(added.status).toBe(200);
      const id = fc.oneof(
        fc.constant(product.id),
        fc.string({ minLength: 1, maxLength: 120 }),
        fc.constantFrom("__proto__", "constructor", "..", "%2e%2e", "a".repeat(101)),
      );
      await fc.assert(
        fc.asyncProperty(id, hostileBody({ quantity: fc.oneof(fc.integer({ min: -5, max: 120 }), fc.double()) }), async (productId, body) => {
          const before = JSON.stringify([await getCart(cookie), await d1State()]);
          const res = await send("PUT", `/api/cart/items/${encodeURIComponent(productId)}`, body, { cookie });
          await expectJsonAnswer(res);
          if (res.status >= 400) expect(JSON.stringify([await getCart(cookie), await d1State()])).toBe(before);
          const cart = await getCart(cookie);
          // Whatever was accepted, the line stays within 1–99 and priced from D1 (P11, P13).
          for (const item of cart.items) {
            expect(item.quantity).toBeGreaterThanOrEqual(1);
            expect(item.quantity).toBeLessThanOrEqual(99);
            expect(item.unitPriceCents).toBe(999);
          }
        }),
        RUNS,
      );
    },
    SLOW,
  );

  it(
    "P11 PUT /api/cart/coupon: hostile codes never 5xx, refusals change nothing",
    async () => {
      const product = await makeProduct({ priceCents: 5000, stock: 50 });
      const coupon = await makeCoupon({ percentOff: 15 });
      const { cookie } = guestCart();
      expect((await send("POST", "/api/cart/items", JSON.stringify({ productId: product.id, quantity: 1 }), { cookie })).status).toBe(200);
      await fuzzRoute({
        arb: hostileBody({ code: fc.oneof(fc.constant(coupon.code), fc.constant(coupon.code.toLowerCase()), fc.string({ maxLength: 80 })) }),
        call: (body) => send("PUT", "/api/cart/coupon", body, { cookie }),
        observe: () => getCart(cookie),
        afterSuccess: async (_res, answer) => {
          const cart = answer as { discountCents: number; totalCents: number; subtotalCents: number };
          expect(cart.totalCents).toBe(cart.subtotalCents - cart.discountCents);
          expect(cart.discountCents).toBe(750);
        },
      });
    },
    SLOW,
  );
});

describe("fuzzing checkout and the webhook", () => {
  it(
    "P15 POST /api/checkout: hostile bodies and keys never 5xx; refusals leave orders, stock and the cart alone",
    async () => {
      const product = await makeProduct({ priceCents: 700, stock: 1000 });
      const who: SignedIn = await signUpAndSignIn();
      expect((await send("POST", "/api/cart/items", JSON.stringify({ productId: product.id, quantity: 1 }), { cookie: who.cookie })).status).toBe(200);
      const key = fc.option(fc.oneof(fc.string({ maxLength: 250 }), fc.constantFrom("key-1", " ", "é", "a".repeat(201))), { nil: undefined });
      let baseline = JSON.stringify([await getCart(who.cookie), await d1State()]);
      await fc.assert(
        fc.asyncProperty(hostileBody({ totalCents: fc.integer(), items: fc.anything() }), key, async (body, idem) => {
          const headers: Record<string, string> = { cookie: who.cookie };
          // A header value the platform itself cannot carry is not an attack on the worker.
          if (idem !== undefined && /^[\t\x20-\x7e]*$/.test(idem)) headers["idempotency-key"] = idem;
          const res = await send("POST", "/api/checkout", body, headers);
          const answer = (await expectJsonAnswer(res)) as { checkoutUrl?: string; orderId?: string };
          if (res.status >= 400) {
            expect(JSON.stringify([await getCart(who.cookie), await d1State()])).toBe(baseline);
            return;
          }
          // Accepted: the order is priced from D1 whatever the body said; then expire it so the cart opens again.
          const order = await env.DB.prepare("SELECT total_cents, status FROM orders WHERE id = ?")
            .bind(answer.orderId!)
            .first<{ total_cents: number; status: string }>();
          expect(order?.total_cents).toBe(700);
          // A key already used replays its first answer (an order that is closed by now): nothing new.
          if (order?.status !== "pending") {
            expect(JSON.stringify([await getCart(who.cookie), await d1State()])).toBe(baseline);
            return;
          }
          const expired = await request(new URL(answer.checkoutUrl!).pathname, {
            method: "POST",
            headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
            body: "outcome=expired",
            redirect: "manual",
          });
          expect(expired.status).toBe(303);
          baseline = JSON.stringify([await getCart(who.cookie), await d1State()]);
        }),
        { numRuns: 60 },
      );
    },
    SLOW,
  );

  it(
    "T05 POST /api/webhooks/stripe: hostile bodies, signed or not, never 5xx and never change an order",
    async () => {
      const product = await makeProduct({ priceCents: 1500, stock: 10 });
      const who = await signUpAndSignIn();
      expect((await send("POST", "/api/cart/items", JSON.stringify({ productId: product.id, quantity: 1 }), { cookie: who.cookie })).status).toBe(200);
      const started = (await (await send("POST", "/api/checkout", "{}", { cookie: who.cookie })).json()) as { orderId: string };
      const ordersNow = async () => JSON.stringify((await env.DB.prepare("SELECT id, status, paid_at FROM orders ORDER BY id").all()).results);
      const before = await ordersNow();
      // Signed bodies pass the signature and reach the parser: the envelope fields get random values.
      const envelope = hostileBody({
        id: fc.oneof(fc.string(), fc.constant(`evt_${"x".repeat(10)}`)),
        object: fc.constantFrom("event", "charge"),
        type: fc.constantFrom("checkout.session.completed", "checkout.session.expired", "charge.refunded", "customer.created", ""),
        livemode: fc.oneof(fc.boolean(), fc.string()),
        created: fc.oneof(fc.integer(), fc.double()),
        data: fc.oneof(
          fc.anything(),
          fc.record({
            object: fc.record({
              id: fc.string(),
              object: fc.constant("checkout.session"),
              client_reference_id: fc.constant(started.orderId),
              amount_total: fc.oneof(fc.integer(), fc.constant(1500)),
              currency: fc.constantFrom("usd", "eur", null),
              payment_status: fc.constantFrom("paid", "unpaid", "bogus"),
            }),
          }),
        ),
      });
      await fc.assert(
        fc.asyncProperty(envelope, fc.constantFrom("signed", "unsigned", "garbage"), async (body, how) => {
          const signature = how === "signed" ? await signStripePayload(body, WEBHOOK_SECRET) : how === "garbage" ? "t=1,v1=deadbeef" : null;
          const stateBefore = await d1State();
          const res = await request("/api/webhooks/stripe", {
            method: "POST",
            headers: { "content-type": "application/json", ...(signature ? { "stripe-signature": signature } : {}) },
            body,
          });
          await expectJsonAnswer(res);
          if (how !== "signed") expect(res.status).toBe(400);
          if (res.status >= 400) expect(await d1State()).toBe(stateBefore);
          // No random event pays, expires or refunds the order: its session id is never guessed.
          expect(await ordersNow()).toBe(before);
        }),
        RUNS,
      );
    },
    SLOW,
  );
});

describe("fuzzing sign-in and the staff API", () => {
  it(
    "P05 POST /api/auth/sign-in/email: hostile bodies never 5xx, always JSON, never create a session",
    async () => {
      const who = await signUpAndSignIn();
      await fuzzRoute({
        arb: hostileBody({
          email: fc.oneof(fc.constant(who.email), fc.emailAddress(), fc.string()),
          password: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(123)),
          rememberMe: fc.anything(),
        }),
        call: (body) => send("POST", "/api/auth/sign-in/email", body),
        // A random password never matches, so even a 200 would be a failure of the test.
        afterSuccess: async () => expect.fail("a hostile sign-in body signed in"),
        runs: 50,
      });
    },
    SLOW,
  );

  it(
    "P16 POST /api/admin/products: hostile bodies never 5xx and refusals create nothing",
    async () => {
      const admin = await as("admin");
      await fuzzRoute({
        arb: hostileBody({
          slug: fc.oneof(fc.string(), fc.constant("fuzz-slug")),
          name: fc.string(),
          priceCents: fc.oneof(fc.integer(), fc.double(), fc.constant(-1)),
          currency: fc.constantFrom("USD", "usd", "", "EURO"),
          stock: fc.oneof(fc.integer(), fc.constant(2 ** 53)),
          hidden: fc.anything(),
          imageUrl: fc.oneof(fc.webUrl(), fc.constantFrom("javascript:alert(1)", "http://evil.example/x.png", "//evil.example")),
        }),
        call: (body) => send("POST", "/api/admin/products", body, admin),
        afterSuccess: async (res, answer) => {
          expect(res.status).toBe(201);
          const p = answer as { priceCents: number; stock: number; imageUrl: string | null };
          expect(Number.isSafeInteger(p.priceCents) && p.priceCents >= 0).toBe(true);
          expect(Number.isSafeInteger(p.stock) && p.stock >= 0).toBe(true);
          if (p.imageUrl !== null) expect(p.imageUrl).toMatch(/^(https:\/\/|\/)/);
        },
      });
    },
    SLOW,
  );

  it(
    "P16 PATCH /api/admin/products/{id}: hostile bodies never 5xx and refusals change nothing",
    async () => {
      const admin = await as("admin");
      const product = await makeProduct({ priceCents: 4200, stock: 7 });
      await fuzzRoute({
        arb: hostileBody({
          priceCents: fc.oneof(fc.integer(), fc.double()),
          stock: fc.integer(),
          hidden: fc.anything(),
          id: fc.string(),
          createdAt: fc.string(),
        }),
        call: (body) => send("PATCH", `/api/admin/products/${product.id}`, body, admin),
        afterSuccess: async (_res, answer) => {
          const p = answer as { id: string; priceCents: number; stock: number };
          expect(p.id).toBe(product.id);
          expect(Number.isSafeInteger(p.priceCents) && p.priceCents >= 0).toBe(true);
          expect(Number.isSafeInteger(p.stock) && p.stock >= 0).toBe(true);
        },
      });
    },
    SLOW,
  );
});
