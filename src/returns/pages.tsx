import { Hono } from "hono";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { readShopSettings } from "../settings/shop-settings";
import { MAX_RETURN_LINES, requestReturn, returnability, returnViews } from "./returns";
import { ReturnsPage, returnMessage } from "./return-views";
import { shopperOrder } from "./shopper-access";

/** The form's lines: `qty.<variantId>` fields with a whole number of units above zero. */
function linesOf(form: Record<string, string>): { variantId: string; quantity: number }[] {
  return Object.entries(form)
    .filter(([name, value]) => name.startsWith("qty.") && /^\d{1,5}$/.test(value.trim()) && Number(value) > 0)
    .map(([name, value]) => ({ variantId: name.slice(4, 104), quantity: Number(value) }))
    .slice(0, MAX_RETURN_LINES);
}

/**
 * The shopper's returns page (no script): an account's order, or a guest's order opened by its
 * cookie (the order page's link set it; SameSite=Lax, so another site's POST never carries it).
 * A refusal comes back to the page with its words, never a bare error on a POST address.
 */
export const returnPages = new Hono<AppEnv>()
  .get("/orders/:id/returns", async (c) => {
    const { order, guest } = await shopperOrder(c, c.req.param("id"));
    const db = getDb(c.env.DB);
    const settings = await readShopSettings(c.env.DB);
    const [returns, returnable] = await Promise.all([returnViews(db, { orderId: order.id }), returnability(db, order, settings.returnWindowDays)]);
    c.header("cache-control", "private, no-store");
    // No `no-referrer` here: the address holds no key, and a browser sends `Origin: null` on a
    // form posted from a no-referrer page, which the CSRF check refuses.
    const error = returnMessage(c.req.query("error")?.slice(0, 40));
    return c.html(
      <ReturnsPage order={order} returns={returns} returnable={returnable} guest={guest} requested={c.req.query("requested") === "1"} error={error} />,
    );
  })
  .post("/orders/:id/returns", async (c) => {
    const { order, actor } = await shopperOrder(c, c.req.param("id"));
    const form = Object.fromEntries(Object.entries(await c.req.parseBody()).filter((e): e is [string, string] => typeof e[1] === "string"));
    const back = `/orders/${encodeURIComponent(order.id)}/returns`;
    const settings = await readShopSettings(c.env.DB);
    try {
      await requestReturn(
        c.env,
        getDb(c.env.DB),
        order,
        actor,
        { lines: linesOf(form), reason: (form.reason ?? "").trim().slice(0, 1000) },
        settings.returnWindowDays,
      );
    } catch (error) {
      if (error instanceof ProblemError && error.status < 500) return c.redirect(`${back}?error=${error.code}`, 303);
      throw error;
    }
    return c.redirect(`${back}?requested=1`, 303);
  });
