import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetCatalogVersion } from "../../src/catalog/page-cache";
import worker from "../../src/index";
import { makeProduct, unique } from "../support/factories";
import { ORIGIN } from "../support/http";

async function page(path: string, vars: Record<string, string>): Promise<string> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${ORIGIN}${path}`), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  return res.text();
}

describe("responsive product images", () => {
  it("with IMAGE_RESIZING=cloudflare an uploaded image comes in five widths from our own origin; the shipped SVGs and the default stay one file", async () => {
    const hash = "a".repeat(64);
    const photo = await makeProduct({ name: `Photo ${unique("p")}`, imageUrl: `/media/products/${hash}.jpg` });
    const drawing = await makeProduct({ name: `Drawing ${unique("d")}`, imageUrl: "/images/canvas-tote.svg" });
    forgetCatalogVersion();
    const resized = await page(`/products/${photo.slug}`, { IMAGE_RESIZING: "cloudflare" });
    for (const w of [320, 480, 640, 960, 1280])
      expect(resized).toContain(`/cdn-cgi/image/width=${w},fit=scale-down,format=auto/media/products/${hash}.jpg ${w}w`);
    expect(resized).toContain('sizes="(max-width: 800px) 100vw, 600px"');
    expect(resized).toMatch(/<img src="\/media\/products\/a{64}\.jpg"[^>]* width="960" height="720"/);
    const svg = await page(`/products/${drawing.slug}`, { IMAGE_RESIZING: "cloudflare" });
    expect(svg).not.toContain("srcset");
    const plain = await page(`/products/${photo.slug}`, {});
    expect(plain).not.toContain("srcset");
    expect(plain).not.toContain("/cdn-cgi/");
  });
});
