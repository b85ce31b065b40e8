import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeProduct, unique } from "../support/factories";
import { appRequest, as } from "../support/admin";
import { auditRows, auditRowsAfter, lastAuditId } from "../support/audit";

function postForm(path: string, fields: Record<string, string>, headers: Record<string, string>): Promise<Response> {
  return appRequest(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost:8787", ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

describe("staff pages", () => {
  it("P16 guests, customers, support and staff without a second factor cannot open or post staff pages", async () => {
    const p = await makeProduct({ stock: 4 });
    const cases: [Record<string, string>, number][] = [
      [{}, 401],
      [await as("customer"), 403],
      [await as("support"), 403],
      [await as("admin", { twoFactorEnabled: false }), 403],
    ];
    const auditBefore = JSON.stringify(await auditRows());
    for (const [headers, status] of cases) {
      // Support may open /admin itself: it only redirects them to the order pages.
      const paths =
        headers === cases[2]![0]
          ? ["/admin/products", `/admin/products/${p.id}`, "/admin/audit"]
          : ["/admin", "/admin/products", `/admin/products/${p.id}`, "/admin/audit"];
      for (const path of paths) {
        const res = await appRequest(path, { headers });
        expect(res.status, path).toBe(status);
        expect(await res.text()).not.toContain(p.slug);
      }
      expect((await postForm(`/admin/products/${p.id}`, { slug: p.slug, name: p.name, price: "0.01", stock: "0" }, headers)).status).toBe(status);
    }
    expect(await env.DB.prepare("SELECT price_cents, stock FROM products WHERE id = ?").bind(p.id).first()).toEqual({ price_cents: p.priceCents, stock: 4 });
    expect(JSON.stringify(await auditRows())).toBe(auditBefore);
  });

  it("an admin creates and edits a product through forms; each change is audited; the audit page shows the verified chain", async () => {
    const admin = await as("admin");
    const before = await lastAuditId();
    const slug = unique("lamp").toLowerCase();
    const created = await postForm(
      "/admin/products",
      { slug, name: "Desk <lamp>", price: "31.00", stock: "2", description: "", currency: "USD", role: "admin" },
      admin,
    );
    expect(created.status).toBe(303);
    const location = created.headers.get("location")!;
    const id = decodeURIComponent(location.split("/").pop()!);
    const edited = await postForm(location, { slug, name: "Desk <lamp>", price: "33", stock: "2", currency: "USD", hidden: "on" }, admin);
    expect(edited.status).toBe(303);
    expect(await env.DB.prepare("SELECT price_cents, status FROM products WHERE id = ?").bind(id).first()).toEqual({ price_cents: 3300, status: "draft" });
    const events = await auditRowsAfter(before);
    expect(events.map((e) => e.action)).toEqual(["product.created", "product.updated"]);
    expect(JSON.parse(events[1]!.detail)).toEqual({ changes: { priceCents: { from: 3100, to: 3300 }, hidden: { from: false, to: true } } });

    const page = await appRequest(`/admin/products/${id}`, { headers: admin });
    const html = await page.text();
    expect(html).toContain("Desk &lt;lamp&gt;");
    const audit = await (await appRequest("/admin/audit", { headers: admin })).text();
    expect(audit).toContain('data-chain="ok"');
    expect(audit).toContain("product.updated");
  });

  it("a bad form is refused with 422 and changes nothing", async () => {
    const p = await makeProduct({ priceCents: 500 });
    const before = await lastAuditId();
    const res = await postForm(`/admin/products/${p.id}`, { slug: p.slug, name: p.name, price: "-4", stock: "1" }, await as("admin"));
    expect(res.status).toBe(422);
    expect((await env.DB.prepare("SELECT price_cents FROM products WHERE id = ?").bind(p.id).first<{ price_cents: number }>())!.price_cents).toBe(500);
    expect(await lastAuditId()).toBe(before);
  });
});
