import { and, desc, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { user as userTable } from "../accounts/schema";
import { parseOptionValues } from "../catalog/variants";
import { LineItemName } from "../checkout/order-views";
import { addressLines, paymentStateOf } from "../checkout/orders";
import { orderLines, orders } from "../checkout/schema";
import { getDb, inList, type Database } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { parseShippingAddress } from "../checkout/orders";
import { When } from "../web/dates";
import { orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import { PAYMENT_WORDS } from "./order-pages";
import { money, StaffNav } from "./page-parts";

/** A customer's orders: an account's (by user id), or a guest's (by the address paid with); newest first, 200 at most. */
async function customerOrders(db: Database, who: { userId: string } | { email: string }) {
  const where =
    "userId" in who ? eq(orders.userId, who.userId) : and(eq(orders.customerEmail, who.email.toLowerCase()), sql`substr(${orders.userId}, 1, 6) = 'guest_'`);
  return db.select().from(orders).where(where).orderBy(desc(orders.createdAt), desc(orders.id)).limit(200);
}

/** Total spent per currency: what was paid less what was refunded. */
function spentByCurrency(rows: { status: string; currency: string; totalCents: number; refundedCents: number }[]): [string, number][] {
  const spent = new Map<string, number>();
  for (const r of rows)
    if (r.status === "paid" || r.status === "refunded") spent.set(r.currency, (spent.get(r.currency) ?? 0) + r.totalCents - r.refundedCents);
  return [...spent.entries()];
}

/** Staff pages of the order desk that are not the list: packing slips (print) and customers (issue 32). */
export const deskPages = new Hono<AppEnv>()
  .get("/admin/orders/packing-slips", async (c) => {
    const ids = (c.req.query("ids") ?? "")
      .split(",")
      .filter((id) => id && id.length <= 100)
      .slice(0, 50);
    const db = getDb(c.env.DB);
    const rows = ids.length ? await db.select().from(orders).where(inList(orders.id, ids)) : [];
    const lines = rows.length
      ? await db
          .select()
          .from(orderLines)
          .where(
            inList(
              orderLines.orderId,
              rows.map((r) => r.id),
            ),
          )
          .orderBy(sql`rowid`)
      : [];
    if (rows.length === 0) throw new ProblemError(404, "order_not_found", "No order has these ids.");
    return c.html(
      <Layout title="Staff: packing slips">
        <p class="no-print">
          <a href="/admin/orders">Back to orders</a> · Print this page: one slip per order.
        </p>
        {rows.map((o) => {
          const address = parseShippingAddress(o.shippingAddress);
          return (
            <article class="slip" data-slip={o.id}>
              <h1>Packing slip {orderNumberLabel(o)}</h1>
              <p>
                Ordered <When iso={o.createdAt} kind="date" />
                {o.shippingRateName ? ` · ${o.shippingRateName}` : ""}
              </p>
              {address ? (
                <address>
                  {addressLines(address).map((l) => (
                    <>
                      {l}
                      <br />
                    </>
                  ))}
                </address>
              ) : (
                <p>No shipping address.</p>
              )}
              <table>
                <thead>
                  <tr>
                    <th scope="col">Item</th>
                    <th scope="col">Qty</th>
                    <th scope="col">Packed</th>
                  </tr>
                </thead>
                <tbody>
                  {lines
                    .filter((l) => l.orderId === o.id)
                    .map((l) => (
                      <tr>
                        <td>
                          <LineItemName name={l.name} options={parseOptionValues(l.optionValues)} sku={l.sku} />
                        </td>
                        <td>{l.quantity}</td>
                        <td>☐</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </article>
          );
        })}
      </Layout>,
    );
  })
  .get("/admin/customers/:id", async (c) => {
    const db = getDb(c.env.DB);
    const id = c.req.param("id").slice(0, 100);
    const guestEmail = id === "guest" ? (c.req.query("email") ?? "").trim().slice(0, 320) : null;
    const [account] =
      guestEmail === null ? await db.select({ email: userTable.email, name: userTable.name }).from(userTable).where(eq(userTable.id, id)).limit(1) : [];
    const rows =
      guestEmail !== null ? (guestEmail.includes("@") ? await customerOrders(db, { email: guestEmail }) : []) : await customerOrders(db, { userId: id });
    if (!account && rows.length === 0) throw new ProblemError(404, "customer_not_found", "No customer has this id.");
    const spent = spentByCurrency(rows);
    return c.html(
      <Layout title="Staff: customer">
        <StaffNav />
        <h1 class="wrap-anywhere">{account ? account.name || account.email : guestEmail}</h1>
        <p class="wrap-anywhere">
          {account ? account.email : "Guest (no account)"} · {rows.length} order{rows.length === 1 ? "" : "s"} · spent{" "}
          <strong data-total-spent>{spent.length ? spent.map(([cur, cents]) => money(cents, cur)).join(" + ") : money(0, "USD")}</strong>
        </p>
        <table class="desk-table">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Payment</th>
              <th scope="col">Total</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((o) => (
              <tr data-order={o.id}>
                <td>
                  <a href={`/admin/orders/${encodeURIComponent(o.id)}`}>{orderNumberLabel(o)}</a>
                </td>
                <td>{PAYMENT_WORDS[paymentStateOf(o)]}</td>
                <td>{money(o.totalCents, o.currency)}</td>
                <td>
                  <When iso={o.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
    );
  });
