import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mailLowStockAlerts } from "../../src/admin/low-stock";
import { appJson, as } from "../support/admin";
import { makeProduct, makeProductWithOptions } from "../support/factories";
import { makeStaff } from "../support/accounts";
import { outbox } from "../support/mail";

// Staff's side of variants (decision 025): the API edits one variant, stock is on hand, every
// change names its author in the inventory ledger, and a threshold crossed mails admins once.

interface AdminVariantJson {
  id: string;
  sku: string | null;
  options: Record<string, string>;
  priceCents: number;
  stock: number;
  held: number;
  sellable: number;
  lowStockThreshold: number | null;
}
interface AdminProductJson {
  id: string;
  status: string;
  hidden: boolean;
  stock: number;
  priceCents: number;
  options: { name: string; values: string[] }[];
  variants: AdminVariantJson[];
}

async function ledger(variantId: string): Promise<{ delta: number; reason: string; actor: string }[]> {
  const { results } = await env.DB.prepare("SELECT delta, reason, actor FROM inventory_ledger WHERE variant_id = ? ORDER BY id").bind(variantId).all();
  return results as { delta: number; reason: string; actor: string }[];
}

describe("staff API for variants", () => {
  it("creates a product with options and variants; the product JSON has status, options and variants; API.md's fields still work", async () => {
    const admin = await as("admin");
    const res = await appJson(
      "POST",
      "/api/admin/products",
      {
        slug: `tee-${crypto.randomUUID().slice(0, 8)}`,
        name: "Tee",
        priceCents: 2800,
        status: "draft",
        vendor: "Bastion Goods",
        tags: ["cotton", "basics", "cotton"],
        options: [
          { name: "Color", values: ["Green", "Navy"] },
          { name: "Size", values: ["S", "M"] },
        ],
        variants: [
          { sku: `TEE-G-S-${Date.now()}`, options: { Color: "Green", Size: "S" }, priceCents: 2800, stock: 4 },
          { options: { Color: "Navy", Size: "M" }, priceCents: 3000, compareAtPriceCents: 3400, stock: 2, weightGrams: 180 },
        ],
      },
      admin,
    );
    expect(res.status).toBe(201);
    const product = (await res.json()) as AdminProductJson & { tags: string[]; vendor: string };
    expect(product).toMatchObject({ status: "draft", hidden: true, vendor: "Bastion Goods", tags: ["cotton", "basics"], priceCents: 2800, stock: 6 });
    expect(product.options).toEqual([
      { name: "Color", values: ["Green", "Navy"] },
      { name: "Size", values: ["S", "M"] },
    ]);
    expect(product.variants.map((v) => [v.options, v.priceCents, v.stock])).toEqual([
      [{ Color: "Green", Size: "S" }, 2800, 4],
      [{ Color: "Navy", Size: "M" }, 3000, 2],
    ]);
    // A value that is not one of the option's: 422, nothing created.
    const bad = await appJson(
      "POST",
      "/api/admin/products",
      {
        slug: `bad-${crypto.randomUUID().slice(0, 8)}`,
        name: "Bad",
        priceCents: 100,
        options: [{ name: "Size", values: ["S"] }],
        variants: [{ options: { Size: "XXL" }, priceCents: 100 }],
      },
      admin,
    );
    expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([422, "variant_options_invalid"]);
    // `hidden: false` (API.md) makes it active.
    const shown = (await (await appJson("PATCH", `/api/admin/products/${product.id}`, { hidden: false }, admin)).json()) as AdminProductJson;
    expect([shown.status, shown.hidden]).toEqual(["active", false]);
  });

  it("PATCH /api/admin/products/{id}/variants/{variantId}: stock on hand with a ledger row naming staff; another product's variant is 404 and changes nothing", async () => {
    const admin = await makeStaff("admin");
    const shirt = await makeProductWithOptions();
    const other = await makeProductWithOptions();
    const v = shirt.variants[0]!;
    const res = await appJson(
      "PATCH",
      `/api/admin/products/${shirt.product.id}/variants/${v.id}`,
      { stock: 9, priceCents: 3100, sku: `${v.sku}-X` },
      { cookie: admin.cookie },
    );
    expect(res.status).toBe(200);
    const after = ((await res.json()) as AdminProductJson).variants.find((x) => x.id === v.id)!;
    expect(after).toMatchObject({ stock: 9, sellable: 9, held: 0, priceCents: 3100, sku: `${v.sku}-X` });
    expect((await ledger(v.id)).at(-1)).toEqual({ delta: 4, reason: "staff_edit", actor: admin.user.id });
    // Another product's variant through this product's path: 404, nothing changed.
    const before = await env.DB.prepare("SELECT * FROM product_variants WHERE id = ?").bind(other.variants[0]!.id).first();
    const foreign = await appJson("PATCH", `/api/admin/products/${shirt.product.id}/variants/${other.variants[0]!.id}`, { stock: 0 }, { cookie: admin.cookie });
    expect(foreign.status).toBe(404);
    expect(await env.DB.prepare("SELECT * FROM product_variants WHERE id = ?").bind(other.variants[0]!.id).first()).toEqual(before);
    // The product's price and stock belong to its variants when it has several.
    const whole = await appJson("PATCH", `/api/admin/products/${shirt.product.id}`, { priceCents: 1 }, { cookie: admin.cookie });
    expect([whole.status, ((await whole.json()) as { code: string }).code]).toEqual([422, "variant_required"]);
    // A product without options keeps API.md's stock and price.
    const simple = await makeProduct({ stock: 5 });
    expect((await appJson("PATCH", `/api/admin/products/${simple.id}`, { stock: 7 }, { cookie: admin.cookie })).status).toBe(200);
    expect((await ledger(simple.variantId)).at(-1)).toEqual({ delta: 2, reason: "staff_edit", actor: admin.user.id });
  });

  it("a variant crossing its low-stock threshold mails admins once; staying below does not mail again", async () => {
    const admin = await makeStaff("admin");
    const shirt = await makeProductWithOptions({ stockOf: () => 10 });
    const v = shirt.variants[2]!;
    const path = `/api/admin/products/${shirt.product.id}/variants/${v.id}`;
    expect((await appJson("PATCH", path, { lowStockThreshold: 3 }, { cookie: admin.cookie })).status).toBe(200);
    expect((await appJson("PATCH", path, { stock: 2 }, { cookie: admin.cookie })).status).toBe(200);
    await mailLowStockAlerts(env);
    expect((await appJson("PATCH", path, { stock: 1 }, { cookie: admin.cookie })).status).toBe(200);
    await mailLowStockAlerts(env);
    const alerts = await env.DB.prepare("SELECT stock, threshold, mailed_at IS NOT NULL AS mailed FROM low_stock_alerts WHERE variant_id = ?").bind(v.id).all();
    expect(alerts.results).toEqual([{ stock: 2, threshold: 3, mailed: 1 }]);
    // The queue delivers to the development outbox.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const mails = (await outbox(admin.email)).filter((m) => m.subject.startsWith("Low stock:"));
    expect(mails.length).toBeLessThanOrEqual(1);
  });

  it("P16 a support account cannot edit a variant: 403 and nothing changed", async () => {
    const support = await makeStaff("support");
    const shirt = await makeProductWithOptions();
    const v = shirt.variants[0]!;
    const before = await env.DB.prepare("SELECT * FROM product_variants WHERE id = ?").bind(v.id).first();
    const res = await appJson("PATCH", `/api/admin/products/${shirt.product.id}/variants/${v.id}`, { stock: 0, priceCents: 1 }, { cookie: support.cookie });
    expect(res.status).toBe(403);
    expect(await env.DB.prepare("SELECT * FROM product_variants WHERE id = ?").bind(v.id).first()).toEqual(before);
    expect((await ledger(v.id)).length).toBe(1);
  });
});
