import { env } from "cloudflare:workers";
import type { Cart } from "../../src/cart/cart";
import { CART_COOKIE, newGuestCartId } from "../../src/cart/cart";
import type { CartObject, CartState } from "../../src/cart/cart-object";
import { ORIGIN, request } from "./http";

/** A fresh guest cart: its id and the Cookie header that carries it. */
export function guestCart(): { id: string; cookie: string } {
  const id = newGuestCartId();
  return { id, cookie: `${CART_COOKIE}=${id}` };
}

/** The guest cart id a response set, or null. */
export function cartIdFrom(res: Response): string | null {
  for (const line of res.headers.getSetCookie()) {
    const match = line.match(/^__Host-bastion_cart=([^;]*)/);
    if (match) return match[1]!;
  }
  return null;
}

/** The raw Set-Cookie line of the cart cookie, or null. */
export function cartSetCookie(res: Response): string | null {
  return res.headers.getSetCookie().find((line) => line.startsWith(`${CART_COOKIE}=`)) ?? null;
}

/** A JSON request from the shop's origin with the given cookie. */
export function cartJson(cookie: string | null, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { origin: ORIGIN };
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  return request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** GET /api/cart as the holder of `cookie`, parsed. */
export async function getCart(cookie: string | null): Promise<Cart> {
  const res = await request("/api/cart", cookie ? { headers: { cookie } } : {});
  if (res.status !== 200) throw new Error(`GET /api/cart: ${res.status}`);
  return (await res.json()) as Cart;
}

/** The CartObject behind a name (`guest:<id>` or `user:<id>`), to read its state directly. */
export function cartObject(name: string): DurableObjectStub<CartObject> {
  return (env.CART as unknown as DurableObjectNamespace<CartObject>).getByName(name);
}

/** The stored state of a guest cart. */
export async function guestState(id: string): Promise<CartState> {
  return (await cartObject(`guest:${id}`).getState()) as CartState;
}

/** A form POST from the shop's origin (no JS), not following redirects. */
export function postForm(path: string, fields: Record<string, string>, cookie: string | null, origin: string = ORIGIN): Promise<Response> {
  const headers: Record<string, string> = { origin, "content-type": "application/x-www-form-urlencoded" };
  if (cookie) headers.cookie = cookie;
  return request(path, { method: "POST", headers, body: new URLSearchParams(fields).toString(), redirect: "manual" });
}
