import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetShopSettings } from "../../src/settings/shop-settings";
import { as, appRequest as request } from "../support/admin";
import { auditRowsAfter, lastAuditId } from "../support/audit";
import { ORIGIN } from "../support/http";

type Settings = Record<string, unknown> & { policies: Record<string, string>; version: string };

function send(headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<Response> {
  return request(path, {
    method,
    headers: { ...headers, origin: ORIGIN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function form(headers: Record<string, string>, path: string, fields: Record<string, string>): Promise<Response> {
  return request(path, {
    method: "POST",
    headers: { ...headers, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

/** A whole, valid settings document; `overrides` replace fields. */
function settingsBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    shopName: "Harbour Goods",
    logoUrl: null,
    brandColour: "#0f766e",
    accentColour: "#b04a22",
    heroTitle: "Tools for the harbour",
    heroText: "Rope, lamps and tins, packed by hand.",
    footerLinks: [{ label: "Journal", href: "https://journal.example.com/" }],
    contactEmail: "hello@harbour.example",
    contactAddress: "1 Quay Street\nPortsmouth",
    defaultCurrency: "USD",
    defaultLocale: "en-GB",
    returnWindowDays: 21,
    policies: { privacy: "# Your data\n\nWe keep **little**.", terms: "Plain terms.", shipping: "- Ships in 2 days\n- Tracked", returns: "Send it back." },
    ...overrides,
  };
}

async function settingsRow(): Promise<Record<string, unknown> | null> {
  return env.DB.prepare("SELECT * FROM shop_settings WHERE id = 1").first();
}

async function page(path: string): Promise<{ status: number; html: string; cache: string | null }> {
  const res = await request(path);
  return { status: res.status, html: await res.text(), cache: res.headers.get("x-bastion-cache") };
}

describe("shop settings (admin)", () => {
  it("with no settings saved (the table as its migration leaves it), pages use the defaults and the policy pages answer 200", async () => {
    expect(await settingsRow()).toBeNull();
    forgetShopSettings();
    const home = await page("/");
    expect(home.status).toBe(200);
    expect(home.html).toContain("<title>Bastion</title>");
    expect(home.html).not.toContain("threat model");
    expect(home.html).not.toContain("/theme.css");
    for (const path of ["/privacy", "/terms", "/shipping", "/returns", "/contact"]) {
      const res = await page(path);
      expect(res.status, path).toBe(200);
    }
    expect((await page("/returns")).html).toContain("within 30 days of delivery");
    // A row whose footer links do not parse (written by hand, say) reads as no links, never a 500.
    await env.DB.prepare(
      "INSERT INTO shop_settings (id, shop_name, brand_colour, accent_colour, hero_title, hero_text, footer_links, default_currency, default_locale, return_window_days, version) VALUES (1, 'Old Shop', '#1f3a5f', '#c2562b', 'Hello', '', 'not json', 'USD', 'en-US', 30, 'v-old')",
    ).run();
    forgetShopSettings();
    const old = await page("/");
    expect([old.status, old.html.includes("<title>Old Shop</title>")]).toEqual([200, true]);
    await env.DB.prepare("DELETE FROM shop_settings").run();
    forgetShopSettings();
  });

  it("an admin saves settings over the API; name, hero, footer, colours and policies show on the next request, and the change is audited with its fields", async () => {
    const admin = await as("admin");
    const before = await lastAuditId();
    expect((await page("/")).html).toContain("<title>Bastion</title>");
    const saved = await send(admin, "PUT", "/api/admin/settings", settingsBody());
    expect(saved.status).toBe(200);
    const doc = (await saved.json()) as Settings;
    expect(doc).toMatchObject({ shopName: "Harbour Goods", brandColour: "#0f766e", returnWindowDays: 21 });
    expect(doc.version).toMatch(/^[0-9a-f]{16}$/);
    expect(((await (await send(admin, "GET", "/api/admin/settings")).json()) as Settings).version).toBe(doc.version);

    const home = await page("/");
    expect(home.cache).toBe("miss"); // a new settings version is a new key: the old page is never served
    expect(home.html).toContain("<title>Harbour Goods</title>");
    expect(home.html).toContain("Tools for the harbour");
    expect(home.html).toContain("Rope, lamps and tins, packed by hand.");
    expect(home.html).toContain('href="https://journal.example.com/"');
    expect(home.html).toContain("© Harbour Goods.");
    const theme = /<link rel="stylesheet" href="(\/theme\.css\?v=[0-9a-f]+)" integrity="(sha384-[^"]+)"/.exec(home.html);
    expect(theme).not.toBeNull();
    const css = await request(theme![1]!);
    expect(await css.text()).toBe(":root{--brand:#0f766e;--accent:#b04a22;}\n");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", new TextEncoder().encode(":root{--brand:#0f766e;--accent:#b04a22;}\n")));
    expect(theme![2]).toBe(`sha384-${btoa(String.fromCharCode(...digest))}`);

    const privacy = await page("/privacy");
    expect(privacy.status).toBe(200);
    expect(privacy.html).toContain("<h2>Your data</h2><p>We keep <strong>little</strong>.</p>");
    expect((await page("/shipping")).html).toContain("<ul><li>Ships in 2 days</li><li>Tracked</li></ul>");
    expect((await page("/returns")).html).toContain("within 21 days of delivery");
    const contact = await page("/contact");
    expect(contact.html).toContain('href="mailto:hello@harbour.example"');
    expect(contact.html).toContain("1 Quay Street<br/>Portsmouth");

    const audit = await auditRowsAfter(before);
    const event = audit.find((a) => a.action === "settings.updated");
    expect(event).toBeDefined();
    expect(JSON.parse(event!.detail)).toEqual({
      fields: [
        "shopName",
        "brandColour",
        "accentColour",
        "heroTitle",
        "heroText",
        "footerLinks",
        "contactEmail",
        "contactAddress",
        "defaultLocale",
        "returnWindowDays",
        "policies",
      ],
      policies: ["privacy", "terms", "shipping", "returns"],
    });
    expect(event!.actor).not.toBe("anonymous");

    // Saving the same document again changes nothing and records nothing.
    const again = await lastAuditId();
    const same = await send(admin, "PUT", "/api/admin/settings", settingsBody());
    expect(((await same.json()) as Settings).version).toBe(doc.version);
    expect(await auditRowsAfter(again)).toEqual([]);

    // A second change names only its own field.
    const third = await lastAuditId();
    expect((await send(admin, "PUT", "/api/admin/settings", settingsBody({ heroTitle: "New season" }))).status).toBe(200);
    expect((await auditRowsAfter(third)).map((a) => [a.action, JSON.parse(a.detail)])).toEqual([["settings.updated", { fields: ["heroTitle"] }]]);
    expect((await page("/")).html).toContain("New season");
    // The default currency: an empty cart (no currency of its own) shows it.
    expect((await send(admin, "PUT", "/api/admin/settings", settingsBody({ heroTitle: "New season", defaultCurrency: "EUR" }))).status).toBe(200);
    expect((await page("/cart")).html).toContain('data-subtotal="true">€0.00<');
  });

  it("the settings page saves through the same rules, and a refused form keeps everything typed", async () => {
    const admin = await as("admin");
    const view = await request("/admin/settings", { headers: admin });
    expect(view.status).toBe(200);
    const fields = {
      shopName: "Form Shop",
      heroTitle: "Made on the form",
      heroText: "Typed by an admin",
      brandColour: "#ffee00", // too light for white text
      accentColour: "#b04a22",
      footerLinks: "About | /about",
      contactEmail: "",
      contactAddress: "",
      defaultCurrency: "USD",
      defaultLocale: "en-US",
      returnWindowDays: "14",
      privacy: "Typed privacy text",
      terms: "",
      shipping: "",
      returns: "",
      logoUrl: "",
    };
    const refused = await form(admin, "/admin/settings", fields);
    expect(refused.status).toBe(422);
    const html = await refused.text();
    expect(html).toContain("too light");
    expect(html).toContain('value="Form Shop"');
    expect(html).toContain("Typed privacy text");
    const ok = await form(admin, "/admin/settings", { ...fields, brandColour: "#1f3a5f" });
    expect([ok.status, ok.headers.get("location")]).toEqual([303, "/admin/settings?saved=1"]);
    expect((await page("/")).html).toContain("<title>Form Shop</title>");
    expect((await page("/privacy")).html).toContain("<p>Typed privacy text</p>");
  });

  it("P16 a guest, a customer and a support user cannot change the settings (API or page), and nothing changes", async () => {
    const admin = await as("admin");
    await send(admin, "PUT", "/api/admin/settings", settingsBody({ shopName: "Guarded Shop" }));
    const who: [string, Record<string, string>][] = [
      ["guest", {}],
      ["customer", await as("customer")],
      ["support", await as("support")],
      ["admin without a second factor", await as("admin", { twoFactorEnabled: false })],
    ];
    const row = await settingsRow();
    const before = await lastAuditId();
    for (const [name, headers] of who) {
      const put = await send(headers, "PUT", "/api/admin/settings", settingsBody({ shopName: "Hijacked" }));
      expect([401, 403], name).toContain(put.status);
      expect(put.headers.get("content-type"), name).toContain("application/problem+json");
      expect((await send(headers, "GET", "/api/admin/settings")).status, name).toBeGreaterThanOrEqual(401);
      const posted = await form(headers, "/admin/settings", { shopName: "Hijacked", heroTitle: "x", brandColour: "#000000", accentColour: "#000000" });
      expect([401, 403], name).toContain(posted.status);
    }
    // A cross-site post with the admin's own cookie is refused too.
    const crossSite = await request("/api/admin/settings", {
      method: "PUT",
      headers: { ...admin, origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify(settingsBody({ shopName: "Hijacked" })),
    });
    expect(crossSite.status).toBe(403);
    expect(await settingsRow()).toEqual(row);
    expect(await auditRowsAfter(before)).toEqual([]);
    expect((await page("/")).html).not.toContain("Hijacked");
  });

  it("P03 settings: unreadable or malformed colours, javascript: and data: links, foreign logos and unknown fields are refused with problem+json, and nothing changes", async () => {
    const admin = await as("admin");
    await send(admin, "PUT", "/api/admin/settings", settingsBody({ shopName: "Steady Shop" }));
    const row = await settingsRow();
    const before = await lastAuditId();
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ brandColour: "#ffffff" }, 422, "colour_contrast", "brandColour"],
      [{ brandColour: "#c2562b" }, 422, "colour_contrast", "brandColour"], // fine on white, too light as link text on the page
      [{ accentColour: "#ffcc00" }, 422, "colour_contrast", "accentColour"],
      [{ brandColour: "red" }, 422, "validation_failed", "brandColour"],
      [{ brandColour: "#12345" }, 422, "validation_failed", "brandColour"],
      [{ brandColour: "#123456;}body{display:none" }, 422, "validation_failed", "brandColour"],
      [{ footerLinks: [{ label: "x", href: "javascript:alert(1)" }] }, 422, "unsafe_link", "footerLinks.0.href"],
      [{ footerLinks: [{ label: "x", href: "JaVaScRiPt:alert(1)" }] }, 422, "unsafe_link", "footerLinks.0.href"],
      [{ footerLinks: [{ label: "x", href: "java\tscript:alert(1)" }] }, 422, "unsafe_link", "footerLinks.0.href"],
      [{ footerLinks: [{ label: "x", href: "data:text/html,<script>alert(1)</script>" }] }, 422, "unsafe_link", "footerLinks.0.href"],
      [{ footerLinks: [{ label: "x", href: "//evil.example/" }] }, 422, "unsafe_link", "footerLinks.0.href"],
      [{ footerLinks: [{ label: "x", href: "/ok", target: "_blank" }] }, 422, "validation_failed", "footerLinks.0"],
      [{ logoUrl: "https://evil.example/logo.png" }, 422, "logo_not_found", "logoUrl"],
      [{ logoUrl: `/media/products/${"a".repeat(64)}.png` }, 422, "logo_not_found", "logoUrl"],
      [{ defaultCurrency: "XXX" }, 422, "currency_not_accepted", "defaultCurrency"],
      [{ defaultLocale: "xx-XX" }, 422, "validation_failed", "defaultLocale"],
      [{ returnWindowDays: 366 }, 422, "validation_failed", "returnWindowDays"],
      [{ version: "mine" }, 422, "validation_failed", ""],
    ];
    for (const [override, status, code, path] of cases) {
      const res = await send(admin, "PUT", "/api/admin/settings", settingsBody(override));
      const label = JSON.stringify(override);
      expect(res.status, label).toBe(status);
      expect(res.headers.get("content-type"), label).toContain("application/problem+json");
      const problem = (await res.json()) as { code: string; errors?: { path: string }[] };
      expect(problem.code, label).toBe(code);
      if (path)
        expect(
          problem.errors?.map((e) => e.path),
          label,
        ).toContain(path);
    }
    expect(await settingsRow()).toEqual(row);
    expect(await auditRowsAfter(before)).toEqual([]);
  });

  it("P03 policy Markdown cannot inject script or attributes: raw HTML is text, javascript: and data: links are not links", async () => {
    const admin = await as("admin");
    const attack = [
      "<script>alert(1)</script>",
      '<img src=x onerror="alert(2)">',
      "[click](javascript:alert(3))",
      "[click](JAVASCRIPT:alert(3))",
      "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)",
      '[quote](/x" onmouseover="alert(5))',
      "[nested [link](javascript:alert(6))](/ok)",
      "**<svg onload=alert(7)>**",
      "`</code><script>alert(8)</script>`",
      "# <iframe src=javascript:alert(9)>",
      '[quoted](https://example.com/?a="b")',
      "[ok](https://example.com/docs)",
      "[fine](/shipping)",
    ].join("\n\n");
    const res = await send(admin, "PUT", "/api/admin/settings", settingsBody({ policies: { privacy: attack, terms: "", shipping: "", returns: "" } }));
    expect(res.status).toBe(200);
    const { html } = await page("/privacy");
    const article = html.slice(html.indexOf('<article class="prose policy"'), html.indexOf("</article>"));
    // Text is escaped, so every "<" left is a tag we wrote: only the subset's elements come out.
    const tags = [...article.matchAll(/<([a-z0-9]+)([^>]*)>/g)].map((m) => ({ name: m[1]!, attributes: [...m[2]!.matchAll(/([a-z-]+)=/g)].map((a) => a[1]) }));
    expect(new Set(tags.map((t) => t.name))).toEqual(new Set(["article", "h1", "p", "a", "strong", "code", "h2"]));
    // Every attribute is one we write (class, data-policy) or a checked link's href and rel.
    expect(new Set(tags.flatMap((t) => t.attributes))).toEqual(new Set(["class", "data-policy", "href", "rel"]));
    const hrefs = [...article.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs).toEqual(["https://example.com/docs", "/shipping"]);
    expect(article).not.toMatch(/<script|<img|<svg|<iframe/i);
    expect(article).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    // The page as a whole carries only our own scripts, each with SRI.
    expect([...html.matchAll(/<script\b[^>]*>/g)].every((m) => m[0].includes("integrity="))).toBe(true);
  });
});
