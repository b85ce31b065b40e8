import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { experimental_readRawConfig } from "wrangler";
import { SECURITY_HEADERS } from "../../src/platform/security";
import { ASSETS } from "../../src/web/asset-manifest";

// Decision 001: static files are served by the platform without the worker, with the security
// headers of public/_headers; every other path reaches the worker first.
const root = path.resolve(import.meta.dirname, "../..");
const { rawConfig } = experimental_readRawConfig({ config: path.join(root, "wrangler.toml") });

/** `_headers` as Workers Static Assets reads it: a path pattern, then indented `Name: value` lines. */
function parseHeadersFile(text: string): Map<string, Record<string, string>> {
  const rules = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      current = {};
      rules.set(line.trim(), current);
    } else if (current) {
      const at = line.indexOf(":");
      current[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
    }
  }
  return rules;
}

/** Does a `run_worker_first` / `_headers` pattern match this path? (`*` spans any characters, slashes included.) */
function matches(pattern: string, pathname: string): boolean {
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${source.join(".*")}$`).test(pathname);
}

/** Whether the platform hands this path to the worker before looking for a file (negative rules win). */
function reachesWorkerFirst(rules: boolean | string[] | undefined, pathname: string): boolean {
  if (typeof rules === "boolean" || rules === undefined) return rules === true;
  const positive = rules.filter((r) => !r.startsWith("!"));
  const negative = rules.filter((r) => r.startsWith("!")).map((r) => r.slice(1));
  return positive.some((r) => matches(r, pathname)) && !negative.some((r) => matches(r, pathname));
}

function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name), `${prefix}/${entry.name}`) : [`${prefix}/${entry.name}`],
  );
}

const headersFile = parseHeadersFile(readFileSync(path.join(root, "public/_headers"), "utf8"));
const environments = [
  ["top level", rawConfig.assets],
  ["production", rawConfig.env?.production?.assets],
] as const;

describe("static files are served by the platform, with the pages' security headers (decision 001)", () => {
  it("public/_headers gives every static file the same CSP, HSTS, nosniff, framing, referrer, COOP/CORP and permissions headers as the worker", () => {
    expect(headersFile.get("/*")).toEqual(SECURITY_HEADERS);
    // No narrower rule overrides a security header.
    for (const [pattern, headers] of headersFile) {
      if (pattern === "/*") continue;
      expect(
        Object.keys(headers).filter((name) => name in SECURITY_HEADERS),
        pattern,
      ).toEqual([]);
    }
  });

  it("scripts and styles are cached for a year only because every page references them by a versioned URL", () => {
    expect(headersFile.get("/assets/*")).toEqual({ "cache-control": "public, max-age=31536000, immutable" });
    for (const asset of Object.values(ASSETS)) expect(asset.path).toMatch(/^\/assets\/[^?]+\?v=[A-Za-z0-9_-]{8}$/);
  });

  it("in both environments, every file in public/ skips the worker and every route (uploaded /media/ images, the API, pages) reaches it first", () => {
    const files = filesUnder(path.join(root, "public")).filter((f) => f !== "/_headers");
    expect(files.length).toBeGreaterThan(10);
    const workerPaths = [
      "/",
      "/media/products/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.png",
      "/api/products",
      "/api/openapi.json",
      "/orders/ord_1",
      "/sign-in",
      "/admin",
      "/healthz",
      "/robots.txt",
      "/sitemap.xml",
      "/.well-known/passkey-endpoints",
      "/_headers",
    ];
    for (const [name, assets] of environments) {
      expect(assets?.directory, name).toBe("public");
      const rules = assets?.run_worker_first;
      expect(Array.isArray(rules), `${name}: run_worker_first is a list of routes`).toBe(true);
      for (const file of files) expect(reachesWorkerFirst(rules, file), `${name}: ${file} should be served without the worker`).toBe(false);
      for (const route of workerPaths) expect(reachesWorkerFirst(rules, route), `${name}: ${route} must reach the worker first`).toBe(true);
    }
    // Nothing in public/ shadows a worker route.
    expect(files.filter((f) => f.startsWith("/media/") || f.startsWith("/api/"))).toEqual([]);
  });
});
