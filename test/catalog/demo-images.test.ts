import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeProduct, unique } from "../support/factories";
import { ORIGIN, request } from "../support/http";

async function imageOf(id: string): Promise<string | null> {
  return (await env.DB.prepare("SELECT image_url AS url FROM products WHERE id = ?").bind(id).first<{ url: string | null }>())?.url ?? null;
}

/** Development routes are not in the committed contract (openapi.json has none): called on the worker directly. */
function storeDemoImages(): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}/api/dev/demo-images`, { method: "POST", headers: { origin: ORIGIN } }));
}

describe("demo images through R2", () => {
  it("the dev seed stores the demo drawings in the image bucket under their hash and serves them from /media/ like uploads; other products stay", async () => {
    const demo = await makeProduct({ id: `prd_demo_${unique("t").replaceAll("-", "_")}`, imageUrl: "/images/canvas-tote.svg" });
    const staffs = await makeProduct({ imageUrl: "/images/field-watch.svg" });
    const res = await storeDemoImages();
    expect(res.status).toBe(200);
    expect(((await res.json()) as { moved: number }).moved).toBeGreaterThanOrEqual(1);
    const url = await imageOf(demo.id);
    expect(url).toMatch(/^\/media\/products\/[0-9a-f]{64}\.svg$/);
    expect(await imageOf(staffs.id)).toBe("/images/field-watch.svg");
    const served = await request(url!);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/svg+xml");
    expect(served.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(served.headers.get("content-security-policy")).toContain("sandbox");
    const original = await request("/images/canvas-tote.svg");
    expect(await served.text()).toBe(await original.text());
    // Again: nothing left to move for it, and the URL stays.
    await storeDemoImages();
    expect(await imageOf(demo.id)).toBe(url);
  });
});
