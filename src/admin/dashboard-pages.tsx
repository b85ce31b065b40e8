import { Hono } from "hono";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { currentTimeZone, zonedMidnight, zonedToday } from "../web/dates";
import { Layout } from "../web/layout";
import { dashboardFigures, LOW_STOCK_THRESHOLD, lowStockQuery, type SalesWindow } from "./dashboard";
import { staffUser } from "./guard";
import { money, StaffNav } from "./page-parts";

/** The local day `days` before `date` (YYYY-MM-DD). */
function daysBefore(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - days)).toISOString().slice(0, 10);
}

function Tile(props: { label: string; value: string; href: string | null; detail?: string; data: string }) {
  return (
    <li class="tile" data-tile={props.data}>
      <span class="tile-label">{props.label}</span>
      {props.href ? (
        <a class="tile-value" href={props.href}>
          {props.value}
        </a>
      ) : (
        <span class="tile-value">{props.value}</span>
      )}
      {props.detail ? <span class="tile-detail">{props.detail}</span> : null}
    </li>
  );
}

const salesLink = (w: SalesWindow) => `/admin/orders?from=${w.fromDate}`;

/**
 * `/admin`: the day at a glance (issue 32). Each figure links into the list it counts: sales into
 * the orders since that day, "to ship" into paid unshipped orders, disputes into open ones, low
 * stock into the products running out (admins; support sees the count).
 */
export const dashboardPages = new Hono<AppEnv>()
  .get("/admin", async (c) => {
    const zone = currentTimeZone();
    const today = zonedToday(zone);
    const windowFrom = (days: number) => {
      const fromDate = daysBefore(today, days);
      return { fromDate, since: zonedMidnight(fromDate, zone) };
    };
    const currency = c.var.config.SHOP_CURRENCY ?? "USD";
    const d = await dashboardFigures(getDb(c.env.DB), currency, { today: windowFrom(0), week: windowFrom(6), month: windowFrom(29) });
    const admin = staffUser(c).role === "admin";
    return c.html(
      <Layout title="Staff: dashboard">
        <StaffNav />
        <h1>Today</h1>
        <p class="hint">
          Sales in {currency}: paid less refunded, by payment day in {zone}.
        </p>
        <ul class="tiles">
          <Tile
            data="sales-today"
            label="Sales today"
            value={money(d.today.netCents, currency)}
            detail={`${d.today.orders} orders`}
            href={salesLink(d.today)}
          />
          <Tile data="sales-7" label="Last 7 days" value={money(d.week.netCents, currency)} detail={`${d.week.orders} orders`} href={salesLink(d.week)} />
          <Tile data="sales-30" label="Last 30 days" value={money(d.month.netCents, currency)} detail={`${d.month.orders} orders`} href={salesLink(d.month)} />
          <Tile data="to-ship" label="Orders to ship" value={String(d.toShip)} href="/admin/orders?status=paid&fulfilment=unfulfilled" />
          <Tile data="disputes" label="Open disputes" value={String(d.openDisputes)} href="/admin/orders?dispute=open" />
          <Tile data="low-stock" label={`Low stock (≤ ${LOW_STOCK_THRESHOLD})`} value={String(d.lowStock.length)} href={admin ? "/admin/stock/low" : null} />
        </ul>
      </Layout>,
    );
  })
  .get("/admin/stock/low", async (c) => {
    const items = await lowStockQuery(getDb(c.env.DB), LOW_STOCK_THRESHOLD, 200);
    return c.html(
      <Layout title="Staff: low stock">
        <StaffNav />
        <h1>Low stock</h1>
        <p>Products with {LOW_STOCK_THRESHOLD} or fewer units left to sell.</p>
        <table class="desk-table">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Left</th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr data-low-stock={p.id}>
                <td>
                  <a href={`/admin/products/${encodeURIComponent(p.id)}`}>{p.name}</a>
                </td>
                <td>{p.stock}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
    );
  });
