import { Hono } from "hono";
import type { ShipmentInput } from "../shipping/fulfilment";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { currentTimeZone, When, zonedMidnight } from "../web/dates";
import { orderNumberLabel } from "../web/format";
import { Layout } from "../web/layout";
import { shipMany } from "./bulk-shipping";
import { ShipmentBody } from "./fulfilment-routes";
import { clientIp, staffUser } from "./guard";
import { ordersCsv } from "./order-export";
import { PAYMENT_WORDS } from "./order-pages";
import { FULFILMENT_STATES, OrderSearchQuery, PAYMENT_STATES, searchOrders, type AdminOrderSummary } from "./order-search";
import { Alert, filledQuery, money, refusalOf, StaffNav } from "./page-parts";

/** The list page's own fields: local dates (YYYY-MM-DD) instead of the API's instants. */
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The page's query as the API's search: `from`/`to` local days in the staff member's zone (`to` inclusive). */
function searchOf(fields: Record<string, string>): { query: OrderSearchQuery; valid: boolean; dates: { from?: string; to?: string } } {
  const { from, to, ...rest } = fields;
  const zone = currentTimeZone();
  const dates = { ...(from && DATE.test(from) ? { from } : {}), ...(to && DATE.test(to) ? { to } : {}) };
  const nextDay = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const parsed = OrderSearchQuery.safeParse({
    ...rest,
    ...(dates.from ? { from: zonedMidnight(dates.from, zone) } : {}),
    ...(dates.to ? { to: zonedMidnight(nextDay(dates.to), zone) } : {}),
  });
  const datesValid = (!from || DATE.test(from)) && (!to || DATE.test(to));
  return { query: parsed.success ? parsed.data : {}, valid: parsed.success && datesValid, dates };
}

/** Why bulk shipping refused an order, as staff read it. */
const SHIP_REFUSALS: Record<string, string> = {
  order_disputed: "its payment is disputed (ship it from its own page, with a reason)",
  order_not_shippable: "it is not a paid, unshipped order",
  order_not_found: "no such order",
  invalid_shipment: "its carrier or tracking number is missing or not accepted",
};

function Filters(props: { fields: Record<string, string> }) {
  const f = props.fields;
  return (
    <form class="filters" method="get" action="/admin/orders">
      <label>
        Search <input name="q" value={f.q ?? ""} maxlength={100} placeholder="#1042, email, name, product" />
      </label>
      <label>
        Payment{" "}
        <select name="payment">
          <option value="">any</option>
          {PAYMENT_STATES.map((s) => (
            <option value={s} selected={s === f.payment}>
              {PAYMENT_WORDS[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Fulfilment{" "}
        <select name="fulfilment">
          <option value="">any</option>
          {FULFILMENT_STATES.map((s) => (
            <option value={s} selected={s === f.fulfilment}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        From <input type="date" name="from" value={f.from ?? ""} />
      </label>
      <label>
        To <input type="date" name="to" value={f.to ?? ""} />
      </label>
      {f.status ? <input type="hidden" name="status" value={f.status} /> : null}
      {f.dispute ? <input type="hidden" name="dispute" value={f.dispute} /> : null}
      {f.customer ? <input type="hidden" name="customer" value={f.customer} /> : null}
      <button type="submit">Search</button>
    </form>
  );
}

function OrderRows(props: { items: AdminOrderSummary[]; canShip: boolean }) {
  return (
    <table class="desk-table">
      <thead>
        <tr>
          {props.canShip ? (
            <th scope="col">
              <span class="visually-hidden">Ship</span>
            </th>
          ) : null}
          <th scope="col">Order</th>
          <th scope="col">Payment</th>
          <th scope="col">Fulfilment</th>
          <th scope="col">Customer</th>
          <th scope="col">Total</th>
          <th scope="col">Created</th>
          {props.canShip ? <th scope="col">Tracking number</th> : null}
        </tr>
      </thead>
      <tbody>
        {props.items.map((o) => {
          const shippable = props.canShip && o.status === "paid" && o.fulfilment === "unfulfilled";
          const label = orderNumberLabel(o);
          return (
            <tr data-order={o.id}>
              {props.canShip ? <td>{shippable ? <input type="checkbox" name="ship" value={o.id} aria-label={`Ship ${label}`} /> : null}</td> : null}
              <td>
                <a href={`/admin/orders/${encodeURIComponent(o.id)}`}>{label}</a>
              </td>
              <td data-payment-state={o.paymentState}>{PAYMENT_WORDS[o.paymentState]}</td>
              <td>{o.fulfilment}</td>
              <td class="wrap-anywhere">
                {o.customerName ? `${o.customerName} · ` : ""}
                {o.customerEmail ?? o.userId}
              </td>
              <td>{money(o.totalCents, o.currency)}</td>
              <td>
                <When iso={o.createdAt} />
              </td>
              {props.canShip ? (
                <td>{shippable ? <input name={`tracking.${o.id}`} maxlength={100} autocomplete="off" aria-label={`Tracking number of ${label}`} /> : null}</td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Staff order desk: the list with search and filters, bulk shipping, CSV export (issue 32). */
export const orderListPages = new Hono<AppEnv>()
  .get("/admin/orders", async (c) => {
    const fields = filledQuery(c);
    const { query, valid } = searchOf(fields);
    let page: Awaited<ReturnType<typeof searchOrders>>;
    let error: string | undefined;
    try {
      page = await searchOrders(getDb(c.env.DB), query);
    } catch (e) {
      error = refusalOf(e).message;
      page = { items: [], nextCursor: null };
    }
    const kept = Object.fromEntries(
      Object.entries(fields).filter(([k]) => ["q", "payment", "fulfilment", "from", "to", "status", "dispute", "customer"].includes(k)),
    );
    const next = new URLSearchParams(kept);
    if (page.nextCursor) next.set("cursor", page.nextCursor);
    const canShip = staffUser(c).role === "admin";
    const shipped = /^\d{1,3}$/.test(fields.shipped ?? "") ? Number(fields.shipped) : null;
    const refused = (fields.refused ?? "")
      .split(",")
      .map((r) => r.split(":"))
      .filter((r): r is [string, string] => r.length === 2 && /^#?\w{1,40}$/.test(r[0]!) && r[1]! in SHIP_REFUSALS);
    return c.html(
      <Layout title="Staff: orders">
        <StaffNav />
        <h1>Orders</h1>
        <Alert message={valid ? error : "A search field is not valid."} />
        {shipped !== null ? (
          <p class="notice" role="status" data-bulk-shipped={shipped}>
            {shipped} order{shipped === 1 ? "" : "s"} marked shipped.
            {refused.map(([label, code]) => ` ${label} was not: ${SHIP_REFUSALS[code]}.`).join("")}
          </p>
        ) : null}
        <Filters fields={kept} />
        {canShip ? (
          <p>
            <a href={`/admin/orders/export.csv?${new URLSearchParams(kept).toString()}`} download>
              Export these orders (CSV)
            </a>
          </p>
        ) : null}
        {canShip ? (
          <form method="post" action="/admin/orders/ship" class="bulk-ship">
            <OrderRows items={page.items} canShip />
            <fieldset class="stack">
              <legend>Mark the ticked orders shipped</legend>
              <label>
                Carrier <input name="carrier" maxlength={60} autocomplete="off" />
              </label>
              <button type="submit">Mark shipped and tell the customers</button>
            </fieldset>
          </form>
        ) : (
          <OrderRows items={page.items} canShip={false} />
        )}
        {page.nextCursor ? <a href={`/admin/orders?${next.toString()}`}>Next page</a> : null}
      </Layout>,
    );
  })
  .get("/admin/orders/export.csv", async (c) => {
    const { query } = searchOf(filledQuery(c));
    const csv = await ordersCsv(getDb(c.env.DB), query);
    c.header("content-disposition", `attachment; filename="orders-${new Date().toISOString().slice(0, 10)}.csv"`);
    c.header("cache-control", "private, no-store");
    return c.body(csv, 200, { "content-type": "text/csv; charset=utf-8" });
  })
  .post("/admin/orders/ship", async (c) => {
    const body = await c.req.parseBody({ all: true });
    const ids = ([] as unknown[]).concat(body.ship ?? []).filter((v): v is string => typeof v === "string" && v.length <= 100);
    const carrier = typeof body.carrier === "string" ? body.carrier : "";
    const db = getDb(c.env.DB);
    const valid: { orderId: string; carrier: string; trackingNumber: string }[] = [];
    const refused: string[] = [];
    for (const orderId of ids.slice(0, 50)) {
      const tracking = body[`tracking.${orderId}`];
      const checked = ShipmentBody.safeParse({ carrier, trackingNumber: typeof tracking === "string" ? tracking : "" } satisfies ShipmentInput);
      if (checked.success) valid.push({ orderId, carrier: checked.data.carrier, trackingNumber: checked.data.trackingNumber });
      else refused.push(`${orderId.slice(-8)}:invalid_shipment`);
    }
    if (ids.length === 0 || valid.length === 0)
      return c.redirect(`/admin/orders?shipped=0&refused=${encodeURIComponent(refused.join(","))}&fulfilment=unfulfilled`, 303);
    const results = await shipMany(c.env, db, { id: staffUser(c).id, ip: clientIp(c) }, valid);
    const shipped = results.filter((r) => r.shipped).length;
    for (const r of results) if (!r.shipped) refused.push(`${r.orderId.slice(-8)}:${r.code}`);
    return c.redirect(`/admin/orders?shipped=${shipped}&refused=${encodeURIComponent(refused.join(","))}`, 303);
  });
