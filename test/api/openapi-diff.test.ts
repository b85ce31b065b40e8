import { describe, expect, it } from "vitest";
import committed from "../../openapi/openapi.json";
import { breakingChanges } from "../../scripts/openapi-diff";
import { documentMismatch } from "../support/openapi";

// biome-ignore lint/suspicious/noExplicitAny: the tests edit a parsed JSON document freely
type Json = any;
type Doc = { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };
const copy = (): Doc => structuredClone(committed) as unknown as Doc;

describe("breaking changes in the OpenAPI document are named (scripts/openapi-diff.ts)", () => {
  it("finds none between the document and itself", () => {
    expect(breakingChanges(copy(), copy())).toEqual([]);
  });

  it("names a removed response field, a field made optional, a widened type and a removed operation", () => {
    const next = copy();
    const order = next.components.schemas.Order;
    delete order.properties.totalCents;
    order.required = order.required.filter((f: string) => f !== "totalCents" && f !== "status");
    order.properties.currency = { type: ["string", "null"] };
    delete next.paths["/orders/{id}/cancel"];
    const found = breakingChanges(copy(), next);
    expect(found).toEqual(
      expect.arrayContaining([
        "GET /orders/{id} 200.totalCents: response field removed",
        "GET /orders/{id} 200.status: response field no longer always present",
        "GET /orders/{id} 200.currency: response type widened from string to string,null",
        "POST /orders/{id}/cancel: operation removed",
      ]),
    );
  });

  it("names a request made stricter: a new required field, a value no longer accepted, a tighter limit, a renamed operationId", () => {
    const next = copy();
    const add = next.components.schemas.CartAddItem;
    add.properties.note = { type: "string" };
    add.required = [...add.required, "note"];
    add.properties.quantity.maximum = 5;
    next.paths["/cart/items"]!.post.operationId = "putInCart";
    const role = next.components.schemas.AdminRoleChange;
    role.properties.role.enum = role.properties.role.enum.filter((r: string) => r !== "support");
    const found = breakingChanges(copy(), next);
    expect(found).toEqual(
      expect.arrayContaining([
        "POST /cart/items body.note: request field now required",
        "POST /cart/items body.quantity: request limit maximum tightened from 99 to 5",
        "POST /cart/items: operationId changed from addCartItem to putInCart",
        'PUT /admin/users/{id}/role body.role: request value "support" no longer accepted',
      ]),
    );
  });

  it("lets additions through: a new optional response field or a new operation is not breaking", () => {
    const next = copy();
    next.components.schemas.Order.properties.giftMessage = { type: "string" };
    next.paths["/wishlist"] = { get: { operationId: "getWishlist", responses: { 200: { description: "ok" } } } };
    expect(breakingChanges(copy(), next)).toEqual([]);
  });
});

describe("answers are checked against the document (test/support/openapi.ts)", () => {
  it("accepts a documented answer and refuses an undocumented status, a wrong body or an unknown route", async () => {
    const problem = { type: "about:blank", title: "Not Found", status: 404, code: "order_not_found" };
    const json = (body: unknown, status: number, type = "application/json") =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
    expect(await documentMismatch("GET", "/orders/{id}", json(problem, 404, "application/problem+json"))).toBeNull();
    expect(await documentMismatch("GET", "/orders/{id}", json(problem, 418, "application/problem+json"))).toMatch(/answered 418/);
    expect(await documentMismatch("GET", "/orders/{id}", json({ id: 1 }, 200))).toMatch(/does not match its schema/);
    expect(await documentMismatch("GET", "/nowhere", json({}, 200))).toMatch(/not in the document/);
  });
});
