import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { confirmCouponHold, reserveCouponHold } from "../../src/coupons/coupon-hold";
import { couponCustomerKey } from "../../src/coupons/customer";
import { signUpAndSignIn, markEmailVerified } from "../support/accounts";
import { lastAuditId, auditRowsAfter } from "../support/audit";
import { cartJson, guestCart } from "../support/cart";
import { ledger, makeCoupon, redemptionRows } from "../support/coupons";
import { countRows, makeProduct, unique } from "../support/factories";
import { outbox } from "../support/mail";
import { stockOf } from "../support/orders";
import { cartObjectId, latestProofCode, proveMailbox } from "../support/promotions";

const mailbox = () => `${unique("m").toLowerCase()}@example.com`;

async function guestWith(stock = 10) {
  const product = await makeProduct({ priceCents: 2000, stock });
  const cart = guestCart();
  expect((await cartJson(cart.cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 1 })).status).toBe(200);
  return { ...cart, product };
}

/** Puts a code into a cart as the cart held it before the code became once per customer (staff edited it). */
async function cartHolding(cookie: string, code: string): Promise<void> {
  await env.DB.prepare("UPDATE coupons SET per_customer_limit = NULL WHERE code = ?").bind(code).run();
  expect((await cartJson(cookie, "PUT", "/api/cart/coupon", { code })).status).toBe(200);
  await env.DB.prepare("UPDATE coupons SET per_customer_limit = 1 WHERE code = ?").bind(code).run();
}

/** Everything an attempt could have changed, to compare before and after. */
async function world(code: string, keys: string[]) {
  const shards = await Promise.all(keys.map((k) => ledger(code, k).snapshot()));
  return {
    orders: await countRows("orders"),
    redemptions: await redemptionRows(code),
    shards: shards.map((s) => ({ reserved: s.reserved, committed: s.committed })),
  };
}

const problem = async (res: Response) => ({ status: res.status, code: ((await res.clone().json()) as { code: string }).code });

describe("per-customer promotions count a proven customer only (issue 33)", () => {
  it("P10 once-per-customer reuse: a guest with no proven mailbox is refused at apply and at checkout, whatever address it types; nothing is held or written", async () => {
    const coupon = await makeCoupon({ perCustomerLimit: 1, percentOff: 10 });
    const { cookie, product } = await guestWith();
    const typed = mailbox();
    const auditBefore = await lastAuditId();
    const before = await world(coupon.code, [await couponCustomerKey(typed)]);
    const applied = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: coupon.code });
    expect(await problem(applied)).toEqual({ status: 422, code: "coupon_needs_proof" });
    await cartHolding(cookie, coupon.code);
    const res = await cartJson(cookie, "POST", "/api/checkout", { email: typed });
    expect(await problem(res)).toEqual({ status: 422, code: "coupon_needs_proof" });
    expect(await world(coupon.code, [await couponCustomerKey(typed)])).toEqual(before);
    expect(await stockOf(product.id)).toBe(10);
    expect((await auditRowsAfter(auditBefore)).filter((r) => r.action.startsWith("checkout") || r.action.startsWith("coupon"))).toEqual([]);
  });

  it("P10 once-per-customer reuse: an account whose address is not verified is refused; verified, it may use it once", async () => {
    const coupon = await makeCoupon({ perCustomerLimit: 1, percentOff: 10 });
    const who = await signUpAndSignIn();
    const product = await makeProduct({ priceCents: 2000 });
    expect((await cartJson(who.cookie, "POST", "/api/cart/items", { productId: product.id, quantity: 1 })).status).toBe(200);
    const key = await couponCustomerKey(who.email);
    const before = await world(coupon.code, [key]);
    expect(await problem(await cartJson(who.cookie, "PUT", "/api/cart/coupon", { code: coupon.code }))).toEqual({ status: 422, code: "coupon_needs_proof" });
    await cartHolding(who.cookie, coupon.code);
    expect(await problem(await cartJson(who.cookie, "POST", "/api/checkout", {}))).toEqual({ status: 422, code: "coupon_needs_proof" });
    expect(await world(coupon.code, [key])).toEqual(before);
    await markEmailVerified(who.user.id);
    expect((await cartJson(who.cookie, "POST", "/api/checkout", {})).status).toBe(201);
    expect((await ledger(coupon.code, key).snapshot()).reserved).toBe(1);
  });

  it("P10 customer oracle: the answer for a typed address is the same whether or not that person used the promotion", async () => {
    const coupon = await makeCoupon({ perCustomerLimit: 1, percentOff: 10 });
    const victim = mailbox();
    const stranger = mailbox();
    const orderId = unique("ord");
    expect((await reserveCouponHold(env, { code: coupon.code, orderId, userId: await couponCustomerKey(victim) })).ok).toBe(true);
    await confirmCouponHold(env, { code: coupon.code, orderId, userId: await couponCustomerKey(victim) });
    const answers: unknown[] = [];
    for (const typed of [victim, stranger]) {
      // As a fresh guest, and as a guest who proved a mailbox of its own.
      const fresh = await guestWith();
      await cartHolding(fresh.cookie, coupon.code);
      answers.push(await problem(await cartJson(fresh.cookie, "POST", "/api/checkout", { email: typed })));
      const proven = await guestWith();
      await proveMailbox(proven.cookie, mailbox());
      await cartHolding(proven.cookie, coupon.code);
      answers.push(await problem(await cartJson(proven.cookie, "POST", "/api/checkout", { email: typed })));
    }
    expect(answers).toEqual(Array(4).fill({ status: 422, code: "coupon_needs_proof" }));
  });

  it("P10 griefing: a stranger cannot hold a victim's use; the victim, proving her mailbox, uses it", async () => {
    const coupon = await makeCoupon({ perCustomerLimit: 1, percentOff: 10 });
    const victim = mailbox();
    const key = await couponCustomerKey(victim);
    const before = await world(coupon.code, [key]);
    for (let i = 0; i < 3; i++) {
      const stranger = await guestWith();
      await cartHolding(stranger.cookie, coupon.code);
      expect((await cartJson(stranger.cookie, "POST", "/api/checkout", { email: victim })).status).toBe(422);
    }
    expect(await world(coupon.code, [key])).toEqual(before);
    const own = await guestWith();
    await proveMailbox(own.cookie, victim);
    expect((await cartJson(own.cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
    const started = await cartJson(own.cookie, "POST", "/api/checkout", { email: victim });
    expect(started.status).toBe(201);
    expect((await ledger(coupon.code, key).snapshot()).reserved).toBe(1);
    // The same mailbox proven in another cart: its one use is held.
    const again = await guestWith();
    await proveMailbox(again.cookie, victim);
    expect(await problem(await cartJson(again.cookie, "PUT", "/api/cart/coupon", { code: coupon.code }))).toEqual({ status: 422, code: "coupon_already_used" });
  });

  it("P10 mailbox proof codes: single use, 5 tries, stored hashed, rate-limited per mailbox and per cart; a proof of one cart is not another's", async () => {
    const email = mailbox();
    const a = await guestWith();
    expect((await cartJson(a.cookie, "POST", "/api/cart/mailbox-proof", { email })).status).toBe(202);
    const code = await latestProofCode(email);
    const row = await env.DB.prepare("SELECT * FROM mailbox_proofs WHERE cart_key = ?")
      .bind(cartObjectId(`guest:${a.id}`))
      .first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(code);
    // Another cart cannot use the code mailed for this one.
    const b = await guestWith();
    expect(await problem(await cartJson(b.cookie, "POST", "/api/cart/mailbox-proof/confirm", { code }))).toEqual({ status: 422, code: "proof_code_invalid" });
    const wrong = code === "000000" ? "000001" : "000000";
    for (let i = 0; i < 5; i++) expect((await cartJson(a.cookie, "POST", "/api/cart/mailbox-proof/confirm", { code: wrong })).status).toBe(422);
    // Out of tries: even the right code is dead now.
    expect(await problem(await cartJson(a.cookie, "POST", "/api/cart/mailbox-proof/confirm", { code }))).toEqual({ status: 422, code: "proof_code_invalid" });
    expect(await (await cartJson(a.cookie, "GET", "/api/cart/mailbox-proof")).json()).toEqual({ email: null, via: null });
    // A new code works once.
    expect((await cartJson(a.cookie, "POST", "/api/cart/mailbox-proof", { email })).status).toBe(202);
    const second = await latestProofCode(email, 1);
    expect((await cartJson(a.cookie, "POST", "/api/cart/mailbox-proof/confirm", { code: second })).status).toBe(200);
    expect((await cartJson(a.cookie, "POST", "/api/cart/mailbox-proof/confirm", { code: second })).status).toBe(422);
    expect(await (await cartJson(a.cookie, "GET", "/api/cart/mailbox-proof")).json()).toEqual({ email, via: "mailbox" });
    // Per mailbox: the third code within 15 minutes is the last.
    const c = await guestWith();
    expect((await cartJson(c.cookie, "POST", "/api/cart/mailbox-proof", { email })).status).toBe(202);
    await latestProofCode(email, 2);
    const flooded = await cartJson(c.cookie, "POST", "/api/cart/mailbox-proof", { email });
    expect(await problem(flooded)).toEqual({ status: 429, code: "too_many_proof_codes" });
    expect(Number(flooded.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await outbox(email)).length).toBe(3);
    // Per cart: 5 codes, whatever the addresses.
    const d = await guestWith();
    for (let i = 0; i < 5; i++) expect((await cartJson(d.cookie, "POST", "/api/cart/mailbox-proof", { email: mailbox() })).status).toBe(202);
    expect(await problem(await cartJson(d.cookie, "POST", "/api/cart/mailbox-proof", { email: mailbox() }))).toEqual({
      status: 429,
      code: "too_many_proof_codes",
    });
  });
});
