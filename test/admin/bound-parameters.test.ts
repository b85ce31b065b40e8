import { describe, expect, it } from "vitest";
import { as, appRequest as request } from "../support/admin";
import { makeProduct } from "../support/factories";
import { makeHeldOrder } from "../support/orders";

// Issue 29 item 9: `GET /api/admin/products?limit=100` (the documented maximum) answered 500 once
// the shop had 100 products: the held-units statement bound 100 product ids and the status, 101
// parameters, one over D1's limit. The ids now go in as one JSON array (src/db/client.ts inList).

describe("staff product list at its documented maximum (P13)", { timeout: 120_000 }, () => {
  it("P13 bound parameters: with 101 products, GET /api/admin/products?limit=100 answers 200 with 100 products and their held units, the next page has the rest; the staff page lists them", async () => {
    const admin = await as("admin");
    const held = await makeHeldOrder(); // one product with 2 units held by a pending order
    for (let i = 0; i < 100; i++) await makeProduct({ stock: 1 });
    const first = await request("/api/admin/products?limit=100", { headers: admin });
    expect(first.status, await first.clone().text()).toBe(200);
    const page = (await first.json()) as { items: { id: string; held: number; sellable: number; stock: number }[]; nextCursor: string | null };
    expect(page.items).toHaveLength(100);
    expect(page.nextCursor).not.toBeNull();
    const rest = (await (await request(`/api/admin/products?limit=100&cursor=${page.nextCursor}`, { headers: admin })).json()) as typeof page;
    const all = [...page.items, ...rest.items];
    expect(all).toHaveLength(101);
    expect(all.find((p) => p.id === held.productId)).toMatchObject({ held: 2, sellable: 3, stock: 5 });
    const staffPage = await request("/admin/products", { headers: admin });
    expect(staffPage.status).toBe(200);
  });
});
