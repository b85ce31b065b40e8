import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { requireUser } from "../accounts/session";
import { guestOrderCookieName } from "../checkout/guest-access";
import { guestOrderRow } from "../checkout/orders";
import { orders, type OrderRow } from "../checkout/schema";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";

/** Who is asking for a return, for the audit log: the order's owner id and the client address. */
export interface ShopperActor {
  id: string;
  ip: string | null;
}

/**
 * The order a shopper may act on (P12): a guest's order opened by its cookie (the page) or its
 * link's key in `X-Order-Key` (the API), else one of the signed-in account's own orders. Anything
 * else (another's order, an unknown id, a wrong key) is one 404 `order_not_found`; no session and
 * no guest proof is 401.
 */
export async function shopperOrder(c: Context<AppEnv>, orderId: string): Promise<{ order: OrderRow; actor: ShopperActor; guest: boolean }> {
  const db = getDb(c.env.DB);
  const ip = c.req.header("cf-connecting-ip") ?? null;
  const notFound = () => new ProblemError(404, "order_not_found", "We could not find that order.");
  if (orderId.length > 100) throw notFound();
  const cookieName = guestOrderCookieName(orderId);
  const cookie = cookieName ? getCookie(c, cookieName) : undefined;
  const key = c.req.header("x-order-key");
  if (cookie || key) {
    const row = await guestOrderRow(c.env, db, orderId, key ? { key } : { cookie: cookie! });
    if (row) return { order: row, actor: { id: row.userId, ip }, guest: true };
    if (key) throw notFound();
  }
  const user = await requireUser(c);
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), eq(orders.userId, user.id)))
    .limit(1);
  if (!row) throw notFound();
  return { order: row, actor: { id: user.id, ip }, guest: false };
}
