import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ORIGIN, request } from "../support/http";
import { countRows, makeProduct, unique } from "../support/factories";

function cspDirectives(res: Response): Map<string, string> {
  const csp = res.headers.get("content-security-policy") ?? "";
  return new Map(
    csp
      .split(";")
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...rest] = d.split(/\s+/);
        return [name!, rest.join(" ")];
      }),
  );
}

describe("P03 injection attacks on the web interface", () => {
  it("P03 XSS: a script in the search box and in product text is rendered as inert text", async () => {
    const word = unique("xss");
    const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>"'${word}`;
    await makeProduct({ name: `Mug ${word} <b onmouseover=alert(3)>`, description: evil });
    const res = await request(`/?q=${encodeURIComponent(evil)}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).not.toContain("<img src=x onerror");
    expect(html).not.toContain("<b onmouseover");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    // The only scripts on the page are our own, with SRI.
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    for (const tag of scripts) {
      expect(tag).toMatch(/src="\/assets\/[a-z-]+\.js\?v=[\w-]+"/);
      expect(tag).toMatch(/integrity="sha384-[A-Za-z0-9+/=]+"/);
    }
  });

  it("P03 XSS: every page carries a CSP without unsafe-inline scripts, with object-src, base-uri and frame-ancestors locked", async () => {
    for (const path of ["/", "/api/products", "/does-not-exist", "/favicon.svg", "/api/docs"]) {
      const res = await request(path);
      const csp = cspDirectives(res);
      expect(csp.get("script-src"), path).toBeDefined();
      expect(csp.get("script-src"), path).not.toContain("unsafe-inline");
      expect(csp.get("script-src"), path).not.toContain("unsafe-eval");
      expect(csp.get("object-src"), path).toBe("'none'");
      expect(csp.get("base-uri"), path).toBe("'none'");
      expect(csp.get("frame-ancestors"), path).toBe("'none'");
      expect(res.headers.get("strict-transport-security"), path).toBe("max-age=31536000; includeSubDomains");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), path).toBe("strict-origin-when-cross-origin");
    }
  });

  it("P03 CSRF: a cross-site state-changing request carrying cookies is refused whatever its content type", async () => {
    const before = await countRows("products");
    const attempts: Array<Record<string, string>> = [
      { origin: "https://evil.example", "content-type": "application/json" },
      { origin: "https://evil.example", "content-type": "text/plain" },
      { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      { origin: "null", "content-type": "multipart/form-data; boundary=x" },
      { "sec-fetch-site": "cross-site", "content-type": "application/json" },
      { "content-type": "application/json" },
    ];
    for (const headers of attempts) {
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        const res = await request("/api/cart/items", {
          method,
          headers: { cookie: "__Host-bastion_session=stolen", ...headers },
          body: method === "DELETE" ? null : "{}",
        });
        expect(res.status, `${method} ${JSON.stringify(headers)}`).toBe(403);
        expect(res.headers.get("content-type")).toContain("application/problem+json");
        expect(((await res.json()) as { code: string }).code).toBe("csrf_origin_mismatch");
      }
    }
    expect(await countRows("products")).toBe(before);
  });

  it("P03 CSRF: the shop's own origin, or Sec-Fetch-Site same-origin, passes the check", async () => {
    for (const headers of [{ origin: ORIGIN }, { "sec-fetch-site": "same-origin" }] as Record<string, string>[]) {
      const res = await request("/api/nothing-here", {
        method: "POST",
        headers: { cookie: "a=b", "content-type": "application/json", ...headers },
        body: "{}",
      });
      expect(res.status).toBe(404);
    }
  });

  it("P03 CSRF: in development a loopback alias of the local origin (127.0.0.1 for localhost, same port) passes; other ports, schemes and hosts do not", async () => {
    expect(ORIGIN).toBe("http://localhost:8787");
    for (const origin of ["http://127.0.0.1:8787", "http://[::1]:8787"]) {
      const res = await request("/api/nothing-here", { method: "POST", headers: { cookie: "a=b", "content-type": "application/json", origin }, body: "{}" });
      expect(res.status, origin).toBe(404);
    }
    const before = await countRows("products");
    for (const origin of [
      "http://127.0.0.1:8788",
      "https://127.0.0.1:8787",
      "http://localhost.evil.example:8787",
      "http://127.0.0.2:8787",
      "http://localhost",
    ]) {
      const res = await request("/api/cart/items", {
        method: "POST",
        headers: { cookie: "__Host-bastion_session=stolen", "content-type": "application/json", origin },
        body: "{}",
      });
      expect(res.status, origin).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("csrf_origin_mismatch");
    }
    expect(await countRows("products")).toBe(before);
  });

  it("P03 CSRF: production refuses loopback aliases of its origin; only the exact origin passes", async () => {
    const production = {
      ...env,
      ENVIRONMENT: "production",
      PUBLIC_ORIGIN: "https://localhost:8443",
      PAYMENTS_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: ["rk", "live", "a".repeat(24)].join("_"),
      STRIPE_WEBHOOK_SECRET: ["whsec", "b".repeat(32)].join("_"),
      BETTER_AUTH_SECRET: "p".repeat(48),
      AUDIT_HMAC_KEY: "q".repeat(48),
      WEBHOOK_SECRETS_KEY: "w".repeat(48),
      TURNSTILE_SECRET_KEY: "0x4AAAAAAAproductionSecretKey",
      MAIL_PROVIDER_URL: "https://mail.example.net/v1/send",
      MAIL_PROVIDER_TOKEN: "mail-provider-token-for-tests",
      MAIL_FROM: "Bastion <no-reply@shop.example.com>",
      ADMIN_PASSWORD: undefined,
      PASSWORD_HASH_COST: undefined,
    } as unknown as Env;
    const send = async (origin: string, path: string): Promise<Response> =>
      worker.fetch(
        new Request(`https://localhost:8443${path}`, {
          method: "POST",
          headers: { cookie: "__Host-bastion_session=stolen", "content-type": "application/json", origin },
          body: "{}",
        }),
        production,
        createExecutionContext(),
      );
    const before = await countRows("products");
    for (const origin of ["https://127.0.0.1:8443", "https://[::1]:8443"]) {
      const res = await send(origin, "/api/cart/items");
      expect(res.status, origin).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("csrf_origin_mismatch");
    }
    expect((await send("https://localhost:8443", "/api/nothing-here")).status).toBe(404);
    expect(await countRows("products")).toBe(before);
  });

  it("P03 path traversal: encoded dots, slashes and config file names are 404 and leak nothing", async () => {
    const paths = [
      "/..%2f..%2fwrangler.toml",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/.dev.vars",
      "/.dev.vars.example",
      "/wrangler.toml",
      "/package.json",
      "/src/index.ts",
      "/assets/..%2f..%2f.dev.vars",
      "/images/%2e%2e%2f%2e%2e%2fwrangler.toml",
      "/..%5c..%5cwrangler.toml",
      "/.git/config",
      "/migrations/0000_catalog.sql",
      "/_headers", // the static files' header rules are config, not content
    ];
    for (const path of paths) {
      const res = await request(path);
      expect(res.status, path).toBe(404);
      const text = await res.text();
      expect(text, path).not.toMatch(/STRIPE_WEBHOOK_SECRET|compatibility_date|BETTER_AUTH_SECRET|CREATE TABLE|"devDependencies"/);
    }
  });

  it("P03 bodies: wrong content type is 415, over 64 KiB is 413, both as problem+json", async () => {
    const cookie = { origin: ORIGIN };
    const wrongType = await request("/api/cart/items", { method: "POST", headers: { ...cookie, "content-type": "text/plain" }, body: "{}" });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { code: string }).code).toBe("unsupported_media_type");
    const big = JSON.stringify({ productId: "x", quantity: 1, pad: "a".repeat(70 * 1024) });
    const tooLarge = await request("/api/cart/items", { method: "POST", headers: { ...cookie, "content-type": "application/json" }, body: big });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get("content-type")).toContain("application/problem+json");
    // Chunked (no Content-Length) bodies are measured too.
    const stream = new Blob([big]).stream();
    const chunked = await request("/api/cart/items", {
      method: "POST",
      headers: { ...cookie, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // A Content-Length that is not one plain number is not trusted: the body is measured.
    const odd = await request("/api/cart/items", {
      method: "POST",
      headers: { ...cookie, "content-type": "application/json", "content-length": "10, 10" },
      body: big,
    });
    expect(odd.status).toBe(413);
  });

  it("P03 errors: unknown pages are an HTML 404 and unknown API routes a problem+json 404, no stack traces", async () => {
    const page = await request("/no/such/page");
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toContain("text/html");
    const api = await request("/api/no/such/route");
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ status: 404, code: "not_found" });
  });
});

describe("empty bodies", () => {
  it("P03 bodies: a POST with Content-Length 0 and no content type is not refused as 415", async () => {
    const res = await request("/api/checkout", { method: "POST", headers: { origin: ORIGIN, "content-length": "0" }, body: "" });
    expect(res.status).toBe(401);
  });
});
