import { describe, expect, it } from "vitest";
import { request } from "../support/http";

describe("staff API in the OpenAPI document", () => {
  it("describes the admin routes and offers no method that edits or deletes audit events", async () => {
    const res = await request("/api/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths["/api/admin/products"] ?? doc.paths["/admin/products"] ?? {})).toEqual(expect.arrayContaining(["get", "post"]));
    const methods = (p: string) => Object.keys(doc.paths[`/api${p}`] ?? doc.paths[p] ?? {}).sort();
    expect(methods("/admin/coupons")).toEqual(["get", "post"]);
    expect(methods("/admin/coupons/{code}")).toEqual(["get", "patch"]);
    expect(methods("/admin/orders")).toEqual(["get"]);
    expect(methods("/admin/orders/{id}")).toEqual(["get"]);
    expect(methods("/admin/orders/{id}/refund")).toEqual(["post"]);
    expect(methods("/admin/users")).toEqual(["get"]);
    expect(methods("/admin/users/{id}/role")).toEqual(["put"]);
    expect(methods("/me/export")).toEqual(["get"]);
    expect(methods("/me/delete")).toEqual(["post"]);
    const auditPaths = Object.entries(doc.paths).filter(([p]) => p.includes("/admin/audit"));
    expect(auditPaths.length).toBeGreaterThan(0);
    // Reads only, except the one route that appends an `audit.restored` event (it edits nothing).
    for (const [p, methods] of auditPaths) expect(Object.keys(methods)).toEqual(p.endsWith("/admin/audit/restored") ? ["post"] : ["get"]);
    expect(auditPaths.some(([p]) => p.endsWith("/admin/audit/restored"))).toBe(true);
  });
});
