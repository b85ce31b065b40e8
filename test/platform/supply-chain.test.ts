import { describe, expect, it } from "vitest";
import { request } from "../support/http";

async function sha384(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", bytes));
  return `sha384-${btoa(String.fromCharCode(...digest))}`;
}

describe("T03 front-end supply chain", () => {
  it("T03 supply chain: every script and stylesheet on our pages is same-origin and its SRI hash matches the served bytes", async () => {
    for (const page of ["/", "/api/docs"]) {
      const html = await (await request(page)).text();
      const tags = [...html.matchAll(/<(script|link)\b[^>]*>/g)].map((m) => m[0]).filter((t) => t.startsWith("<script") || t.includes('rel="stylesheet"'));
      expect(tags.length).toBeGreaterThanOrEqual(2);
      for (const tag of tags) {
        const url = /(?:src|href)="([^"]+)"/.exec(tag)?.[1];
        const integrity = /integrity="([^"]+)"/.exec(tag)?.[1];
        expect(url, tag).toMatch(/^\/assets\//);
        expect(integrity, tag).toBeDefined();
        const res = await request(url!);
        expect(res.status, url).toBe(200);
        expect(await sha384(await res.arrayBuffer()), url).toBe(integrity);
      }
    }
  });

  it("T03 supply chain: versioned assets are cacheable for a year, everything else defaults to no-store", async () => {
    const html = await (await request("/")).text();
    const css = /href="(\/assets\/app\.css\?v=[^"]+)"/.exec(html)![1]!;
    const res = await request(css);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("content-type")).toContain("text/css");
    const api = await request("/api/nothing");
    expect(api.headers.get("cache-control")).toBe("no-store");
  });
});
