import { describe, expect, it } from "vitest";
import { couponCustomerKey } from "../../src/coupons/customer";
import { cartJson, guestCart } from "../support/cart";
import { ledger, makeCoupon } from "../support/coupons";
import { countRows, makeProduct, unique } from "../support/factories";
import { stockOf } from "../support/orders";
import { writeProvenMailbox } from "../support/promotions";

const SHOPPERS = 50;

/** `n` guest carts, each holding one unit of `productId`. */
async function carts(n: number, productId: string) {
  const out: { id: string; cookie: string }[] = [];
  for (let i = 0; i < n; i++) {
    const cart = guestCart();
    expect((await cartJson(cart.cookie, "POST", "/api/cart/items", { productId, quantity: 1 })).status).toBe(200);
    out.push(cart);
  }
  return out;
}

async function outcome(res: Response): Promise<string> {
  return res.status === 201 ? "201" : `${res.status} ${((await res.json()) as { code: string }).code}`;
}

describe("promotion limits under a race of 50 shoppers (issue 33)", () => {
  it("P10/T07 race: 50 shoppers check out at once on a code with a total of 10: exactly 10 orders carry it", async () => {
    const product = await makeProduct({ priceCents: 2000, stock: 500 });
    const coupon = await makeCoupon({ maxRedemptions: 10, percentOff: 20 });
    const shoppers = await carts(SHOPPERS, product.id);
    for (const s of shoppers) expect((await cartJson(s.cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
    const before = await countRows("orders");
    const results = await Promise.all(shoppers.map((s) => cartJson(s.cookie, "POST", "/api/checkout", { email: `${unique("racer")}@example.com` })));
    const outcomes = await Promise.all(results.map(outcome));
    expect(outcomes.filter((o) => o === "201")).toHaveLength(10);
    expect(outcomes.filter((o) => o !== "201").every((o) => o === "422 coupon_exhausted")).toBe(true);
    expect((await ledger(coupon.code).snapshot()).reserved).toBe(10);
    expect(await countRows("orders")).toBe(before + 10);
    expect(await stockOf(product.id)).toBe(490);
  }, 120_000);

  it("P10/T07 race: 50 carts proven for one mailbox check out at once on a once-per-customer code: exactly one holds it", async () => {
    const product = await makeProduct({ priceCents: 2000, stock: 500 });
    const coupon = await makeCoupon({ perCustomerLimit: 1, percentOff: 20 });
    const email = `${unique("one").toLowerCase()}@example.com`;
    const shoppers = await carts(SHOPPERS, product.id);
    for (const s of shoppers) {
      await writeProvenMailbox(`guest:${s.id}`, email);
      expect((await cartJson(s.cookie, "PUT", "/api/cart/coupon", { code: coupon.code })).status).toBe(200);
    }
    const before = await countRows("orders");
    const results = await Promise.all(shoppers.map((s) => cartJson(s.cookie, "POST", "/api/checkout", { email })));
    const outcomes = await Promise.all(results.map(outcome));
    expect(outcomes.filter((o) => o === "201")).toHaveLength(1);
    // The rest: the one use is held, or (the mailbox's open checkouts are bounded) too many units held.
    expect(outcomes.filter((o) => o !== "201").every((o) => o === "422 coupon_already_used" || o === "429 too_many_held_units")).toBe(true);
    expect(outcomes.filter((o) => o === "422 coupon_already_used").length).toBeGreaterThan(0);
    expect((await ledger(coupon.code, await couponCustomerKey(email)).snapshot()).reserved).toBe(1);
    expect(await countRows("orders")).toBe(before + 1);
    expect(await stockOf(product.id)).toBe(499);
  }, 120_000);
});
