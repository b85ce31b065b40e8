import { describe, expect, it } from "vitest";
import { signUpAndSignIn } from "../support/accounts";
import { request } from "../support/http";
import { makeManyOrders } from "../support/orders";

// Issue 29: no statement binds more than D1's 100 parameters. A shopper's order history reads the
// lines of up to 100 orders in one statement; the ids go in as one JSON array.

describe("order history of a busy shopper (P13)", { timeout: 60_000 }, () => {
  it("P13 bound parameters: a shopper with 101 orders gets the newest 100 with their lines, over the API and on the orders page", async () => {
    const me = await signUpAndSignIn();
    const ids = await makeManyOrders(me.user.id, 101);
    const res = await request("/api/orders", { headers: { cookie: me.cookie } });
    expect(res.status, await res.clone().text()).toBe(200);
    const { items } = (await res.json()) as { items: { id: string; items: unknown[] }[] };
    expect(items).toHaveLength(100);
    expect(items.every((o) => ids.includes(o.id) && o.items.length === 1)).toBe(true);
    const page = await request("/orders", { headers: { cookie: me.cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(items[0]!.id);
  });
});
