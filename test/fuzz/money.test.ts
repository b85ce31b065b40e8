import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cartJson, getCart, guestCart } from "../support/cart";
import { makeCoupon } from "../support/coupons";
import { makeProduct } from "../support/factories";

// Money invariants over random carts (P11): every amount is an integer number of cents, each line
// is D1's price × quantity, subtotal is their sum, total = max(0, subtotal − discount), and the
// discount follows the coupon's rule (percent floored, amount capped at the subtotal).

const cartArb = fc.record({
  lines: fc.array(fc.record({ priceCents: fc.integer({ min: 0, max: 5_000_000 }), quantity: fc.integer({ min: 1, max: 99 }) }), { minLength: 1, maxLength: 4 }),
  coupon: fc.option(
    fc.oneof(fc.record({ percentOff: fc.integer({ min: 1, max: 100 }) }), fc.record({ amountOffCents: fc.integer({ min: 1, max: 600_000_000 }) })),
    { nil: null },
  ),
});

describe("cart money", () => {
  it("P11 random carts: integer cents, lines = D1 price × qty, total = max(0, subtotal − discount)", async () => {
    await fc.assert(
      fc.asyncProperty(cartArb, async ({ lines, coupon }) => {
        const { cookie } = guestCart();
        const made = [];
        for (const line of lines) {
          const product = await makeProduct({ priceCents: line.priceCents, stock: 100 });
          const res = await cartJson(cookie, "POST", "/api/cart/items", { productId: product.id, quantity: line.quantity, priceCents: 1 });
          expect(res.status).toBe(200);
          made.push({ id: product.id, quantity: line.quantity });
        }
        let couponRow = null;
        if (coupon) {
          couponRow = await makeCoupon(coupon);
          const res = await cartJson(cookie, "PUT", "/api/cart/coupon", { code: couponRow.code, discountCents: 999_999 });
          expect(res.status).toBe(200);
        }
        const cart = await getCart(cookie);

        // Prices as D1 has them now, never as the client sent them.
        const ids = made.map((m) => m.id);
        const { results } = await env.DB.prepare(`SELECT id, price_cents FROM products WHERE id IN (${ids.map(() => "?").join(",")})`)
          .bind(...ids)
          .all<{ id: string; price_cents: number }>();
        const price = new Map(results.map((r) => [r.id, r.price_cents]));
        for (const amount of [cart.subtotalCents, cart.discountCents, cart.totalCents]) expect(Number.isSafeInteger(amount)).toBe(true);
        expect(cart.items).toHaveLength(made.length);
        let subtotal = 0;
        for (const m of made) {
          const item = cart.items.find((i) => i.productId === m.id)!;
          expect(item.quantity).toBe(m.quantity);
          expect(item.unitPriceCents).toBe(price.get(m.id));
          expect(item.lineTotalCents).toBe(price.get(m.id)! * m.quantity);
          expect(Number.isSafeInteger(item.lineTotalCents)).toBe(true);
          subtotal += item.lineTotalCents;
        }
        expect(cart.subtotalCents).toBe(subtotal);
        const expectedDiscount = !couponRow
          ? 0
          : couponRow.percentOff !== null
            ? Math.min(subtotal, Math.floor((subtotal * couponRow.percentOff) / 100))
            : Math.min(subtotal, couponRow.amountOffCents!);
        expect(cart.discountCents).toBe(expectedDiscount);
        expect(cart.coupon?.discountCents ?? 0).toBe(expectedDiscount);
        expect(cart.totalCents).toBe(Math.max(0, cart.subtotalCents - cart.discountCents));
        expect(cart.totalCents).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
