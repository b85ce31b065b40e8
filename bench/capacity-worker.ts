// The worker `bench/capacity.mjs` runs (issue 18, docs/capacity.md): the shop's real objects and
// D1 schema, and one route that drives ONE hot resource with `writers` concurrent callers (each
// awaits its call before the next, like a request would) for `ms` milliseconds, answering how
// many operations completed. From inside workerd, so the figure is the resource's own ceiling,
// not the HTTP layers'.
import { AuditLog } from "../src/audit/audit-log";
import { CartObject } from "../src/cart/cart-object";
import { CouponObject } from "../src/coupons/coupon-object";

export { AuditLog, CartObject, CouponObject };

const HOT_PRODUCT = "prd_capacity_hot";

type Operation = (writer: number, i: number) => Promise<unknown>;

function operations(env: Env, kind: string): Operation {
  switch (kind) {
    case "cart": {
      // A shopper changing the quantity of a line in one cart: priced in the object (D1 pricing row).
      const cart = (env.CART as unknown as DurableObjectNamespace<CartObject>).getByName("guest:capacity-hot");
      return (_w, i) => cart.setQuantityPriced(HOT_PRODUCT, 1 + (i % 5));
    }
    case "coupon": {
      // One coupon ledger with a total limit (all shoppers on one object): reserve, then commit,
      // as a checkout and its paid webhook do.
      const ledger = (env.COUPON as unknown as DurableObjectNamespace<CouponObject>).getByName("coupon:CAPACITY");
      const definition = { maxRedemptions: 1_000_000_000, perCustomerLimit: null };
      return async (w, i) => {
        const orderId = `ord_cap_${w}_${i}_${crypto.randomUUID().slice(0, 8)}`;
        const userId = `usr_cap_${w}_${i}`;
        const held = await ledger.reserve({ orderId, userId, definition });
        if (!held.ok) throw new Error(`reserve refused: ${held.code}`);
        await ledger.commit(orderId, userId, definition);
      };
    }
    case "audit": {
      const log = (env.AUDIT_LOG as unknown as DurableObjectNamespace<AuditLog>).getByName("main");
      return (w, i) => log.append({ actor: `usr_cap_${w}`, action: "order.paid", subject: `ord_${i}`, detail: { w, i }, ip: "203.0.113.7" });
    }
    case "stock": {
      // The D1 primary's conditional decrement, as checkout takes stock (never below zero).
      const take = env.DB.prepare("UPDATE products SET stock = stock - 1 WHERE id = ? AND stock >= 1").bind(HOT_PRODUCT);
      return async () => {
        const r = await take.run();
        if (r.meta.changes !== 1) throw new Error("no stock taken");
      };
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/prepare") {
      await env.DB.prepare(
        "INSERT OR REPLACE INTO products (id, slug, name, description, price_cents, currency, stock, hidden) VALUES (?, 'capacity-hot', 'Hot', 'Capacity probe', 2500, 'USD', 1000000000, 0)",
      )
        .bind(HOT_PRODUCT)
        .run();
      const cart = (env.CART as unknown as DurableObjectNamespace<CartObject>).getByName("guest:capacity-hot");
      await cart.addItemPriced(HOT_PRODUCT, 1);
      return new Response("ready");
    }
    const kind = url.searchParams.get("kind") ?? "cart";
    const writers = Number(url.searchParams.get("writers") ?? "1");
    const ms = Number(url.searchParams.get("ms") ?? "3000");
    const op = operations(env, kind);
    const deadline = Date.now() + ms;
    let done = 0;
    let failed = 0;
    let firstError: string | null = null;
    const start = Date.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; Date.now() < deadline; i++) {
          try {
            await op(w, i);
            done += 1;
          } catch (error) {
            failed += 1;
            firstError ??= String(error);
          }
        }
      }),
    );
    const seconds = (Date.now() - start) / 1000;
    return Response.json({ kind, writers, done, failed, firstError, seconds, perSecond: done / seconds });
  },
};
