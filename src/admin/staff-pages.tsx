import { formatMoney } from "../web/format";
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { requireFreshSession } from "../accounts/session";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { Layout } from "../web/layout";
import {
  couponInUse,
  CouponCreateBody,
  CouponPatchBody,
  createCouponAudited,
  findAdminCoupon,
  listCoupons,
  listRedemptions,
  updateCouponAudited,
  type AdminCoupon,
} from "./coupons";
import { firstIssue, formInto } from "./forms";
import { clientIp, staffUser } from "./guard";
import { requestRefund } from "./order-refunds";
import { findAdminOrder, ORDER_STATUSES, OrderSearchQuery, searchOrders, type AdminOrder } from "./orders";
import type { StaffActor } from "./products";
import { changeRoleAudited, ROLES, searchUsers, UserSearchQuery } from "./users";
import { ShippingSection } from "./shipping-pages";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { IdempotencyKey } from "../checkout/replay";
import { minorUnits } from "../web/format";

/** The staff navigation: every staff page links to every other one it may open. */
export function StaffNav() {
  return (
    <nav aria-label="Staff">
      <a href="/admin/products">Products</a> · <a href="/admin/coupons">Coupons</a> · <a href="/admin/orders">Orders</a> ·{" "}
      <a href="/admin/shipping-rates">Shipping</a> · <a href="/admin/users">Users</a> · <a href="/admin/audit">Audit log</a>
    </nav>
  );
}

function money(cents: number | null, currency: string | null): string {
  return cents === null ? "" : formatMoney(cents, currency ?? "USD");
}

function actorOf(c: Context<AppEnv>): StaffActor {
  return { id: staffUser(c).id, ip: clientIp(c) };
}

/** A refusal from the shared functions, shown on the page instead of the generic error page. */
function refusalOf(error: unknown): { status: ContentfulStatusCode; message: string } {
  if (error instanceof ProblemError && error.status < 500) return { status: error.status, message: error.detail ?? error.code };
  throw error;
}

function Alert(props: { message?: string | undefined }) {
  return props.message ? <p role="alert">{props.message}</p> : null;
}

// ---- Coupons ---------------------------------------------------------------------------------

/** datetime-local (read as UTC) or full ISO → ISO; blank → null. */
function timeField(value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v)) return `${v}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(v)) return `${v}Z`;
  return v;
}

function localTime(iso: string | null): string {
  return iso ? iso.slice(0, 16) : "";
}

/**
 * The coupon form as a browser posts it (text; the checkbox "on" or absent), turned into the
 * API's body (only known fields, numbers as numbers, blanks as null), which the API's own schema
 * then checks.
 */
const CouponFormFields = z.object({
  code: z.string().default(""),
  kind: z.string().default(""),
  value: z.string().default(""),
  currency: z.string().default(""),
  maxRedemptions: z.string().default(""),
  perCustomerLimit: z.string().default(""),
  startsAt: z.string().default(""),
  expiresAt: z.string().default(""),
  active: z.string().optional(),
});

function couponBody(f: z.output<typeof CouponFormFields>, withCode: boolean): Record<string, unknown> {
  const intOrNull = (v: string) => (v.trim() === "" ? null : Number(v));
  const value = f.value.trim() === "" ? Number.NaN : Number(f.value);
  return {
    ...(withCode ? { code: f.code } : {}),
    maxRedemptions: intOrNull(f.maxRedemptions),
    perCustomerLimit: intOrNull(f.perCustomerLimit),
    startsAt: timeField(f.startsAt),
    expiresAt: timeField(f.expiresAt),
    active: f.active === "on",
    ...(f.kind === "amount" ? { amountOffCents: value, currency: f.currency || "USD" } : { percentOff: value }),
  };
}

const CouponCreateForm = formInto(
  CouponFormFields.transform((f) => couponBody(f, true)),
  CouponCreateBody,
);
const CouponPatchForm = formInto(
  CouponFormFields.transform((f) => couponBody(f, false)),
  CouponPatchBody,
);

function CouponForm(props: { coupon?: AdminCoupon; action: string; error?: string | undefined }) {
  const k = props.coupon;
  const amount = k?.amountOffCents != null;
  return (
    <form method="post" action={props.action} class="form">
      <Alert message={props.error} />
      {k ? null : (
        <label>
          Code <input name="code" required pattern="[A-Za-z0-9][A-Za-z0-9_\-]{0,63}" maxlength={64} />
        </label>
      )}
      <label>
        Discount{" "}
        <select name="kind">
          <option value="percent" selected={!amount}>
            Percent off
          </option>
          <option value="amount" selected={amount}>
            Amount off (cents)
          </option>
        </select>
      </label>
      <label>
        Value <input name="value" type="number" min={1} step={1} required value={String(k?.percentOff ?? k?.amountOffCents ?? "")} />
      </label>
      <label>
        Currency (amount only) <input name="currency" pattern="[A-Z]{3}" value={k?.currency ?? "USD"} />
      </label>
      <label>
        Total limit (blank: none){" "}
        <input name="maxRedemptions" type="number" min={1} step={1} value={k?.maxRedemptions == null ? "" : String(k.maxRedemptions)} />
      </label>
      <label>
        Per customer (blank: none){" "}
        <input name="perCustomerLimit" type="number" min={1} step={1} value={k?.perCustomerLimit == null ? "" : String(k.perCustomerLimit)} />
      </label>
      <label>
        Starts (UTC) <input name="startsAt" type="datetime-local" value={localTime(k?.startsAt ?? null)} />
      </label>
      <label>
        Expires (UTC) <input name="expiresAt" type="datetime-local" value={localTime(k?.expiresAt ?? null)} />
      </label>
      <label>
        <input name="active" type="checkbox" value="on" checked={k?.active ?? true} /> Active
      </label>
      <button type="submit">{k ? "Save" : "Create"}</button>
    </form>
  );
}

async function CouponListPage(props: { c: Context<AppEnv>; error?: string }) {
  const cursor = props.c.req.query("cursor")?.slice(0, 200) ?? null;
  const page = await listCoupons(getDb(props.c.env.DB), cursor, 50);
  return (
    <Layout title="Staff: coupons">
      <StaffNav />
      <h1>Coupons</h1>
      <table>
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Discount</th>
            <th scope="col">Limits</th>
            <th scope="col">Window</th>
            <th scope="col">State</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((k) => (
            <tr>
              <td>
                <code>{k.code}</code>
              </td>
              <td>{k.percentOff !== null ? `${k.percentOff} %` : money(k.amountOffCents, k.currency)}</td>
              <td>
                total {k.maxRedemptions ?? "∞"} · per customer {k.perCustomerLimit ?? "∞"}
              </td>
              <td>
                {k.startsAt ?? "…"} – {k.expiresAt ?? "…"}
              </td>
              <td>{k.active ? "active" : "inactive"}</td>
              <td>
                <a href={`/admin/coupons/${encodeURIComponent(k.code)}`}>Edit</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.nextCursor ? <a href={`/admin/coupons?cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</a> : null}
      <h2>New coupon</h2>
      <CouponForm action="/admin/coupons" error={props.error} />
    </Layout>
  );
}

async function CouponPage(props: { c: Context<AppEnv>; coupon: AdminCoupon; error?: string }) {
  const db = getDb(props.c.env.DB);
  const { coupon } = props;
  const [redemptions, inUse] = await Promise.all([listRedemptions(db, coupon.code), couponInUse(db, coupon.code)]);
  const action = `/admin/coupons/${encodeURIComponent(coupon.code)}`;
  return (
    <Layout title={`Staff: coupon ${coupon.code}`}>
      <StaffNav />
      <h1>
        Coupon <code>{coupon.code}</code> ({coupon.active ? "active" : "inactive"})
      </h1>
      <CouponForm coupon={coupon} action={action} error={props.error} />
      {inUse ? <p>This code has been used: its total limit can be changed but not added or removed (create a new code instead).</p> : null}
      <form method="post" action={`${action}/active`}>
        <input type="hidden" name="active" value={coupon.active ? "false" : "true"} />
        <button type="submit" class="secondary">
          {coupon.active ? "Deactivate" : "Activate"}
        </button>
      </form>
      <h2>Redemptions ({redemptions.length})</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Customer</th>
            <th scope="col">Discount</th>
            <th scope="col">At</th>
          </tr>
        </thead>
        <tbody>
          {redemptions.map((r) => (
            <tr>
              <td>
                <a href={`/admin/orders/${encodeURIComponent(r.orderId)}`}>{r.orderId}</a>
              </td>
              <td>{r.userId}</td>
              <td>{r.discountCents ?? ""}</td>
              <td>{r.redeemedAt}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}

async function couponOr404(c: Context<AppEnv>): Promise<AdminCoupon> {
  const coupon = await findAdminCoupon(getDb(c.env.DB), c.req.param("code") ?? "");
  if (!coupon) throw new ProblemError(404, "coupon_not_found", "No coupon has this code.");
  return coupon;
}

// ---- Orders ----------------------------------------------------------------------------------

function OrderDetail(props: { order: AdminOrder; canRefund: boolean; error?: string | undefined; shippingError?: string | undefined }) {
  const o = props.order;
  return (
    <Layout title={`Staff: order ${o.id}`}>
      <StaffNav />
      <h1>
        Order <code>{o.id}</code>
      </h1>
      <Alert message={props.error} />
      <p>
        Status <strong data-status={o.status}>{o.status}</strong> · customer {o.customerEmail ?? "(deleted)"} (<code>{o.userId}</code>) · total{" "}
        {money(o.totalCents, o.currency)}
        {o.couponCode ? ` · coupon ${o.couponCode} (−${money(o.discountCents, o.currency)})` : ""}
      </p>
      <p>
        Created {o.createdAt}
        {o.paidAt ? ` · paid ${o.paidAt}` : ""} · provider {o.provider} · payment intent <code>{o.paymentIntentId ?? "—"}</code>
      </p>
      {o.paymentInFlight ? (
        <p class="notice" role="status" data-flag="payment-in-flight">
          A delayed payment is in flight: stock and coupon stay held until it settles.
        </p>
      ) : null}
      {o.couponOverRedeemed ? (
        <p class="alert" role="alert" data-flag="coupon-over-redeemed">
          Coupon over-redeemed: this order was paid with {o.couponCode} after its hold ended and no use was left. Decide with the customer (honour it, or refund
          the discount).
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Item</th>
            <th scope="col">Qty</th>
            <th scope="col">Unit</th>
            <th scope="col">Line</th>
          </tr>
        </thead>
        <tbody>
          {o.items.map((l) => (
            <tr>
              <td>{l.name}</td>
              <td>{l.quantity}</td>
              <td>{money(l.unitPriceCents, o.currency)}</td>
              <td>{money(l.lineTotalCents, o.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Payment timeline</h2>
      <ol>
        {o.timeline.map((t) => (
          <li>
            <time>{t.createdAt}</time> <code>{t.kind}</code> {t.detail && t.kind !== "simulator.session" ? <code>{t.detail}</code> : null}
          </li>
        ))}
      </ol>
      {o.paymentsAfterClose.length > 0 ? (
        <section aria-labelledby="after-close">
          <h2 id="after-close">Payments received after the order closed</h2>
          <ul>
            {o.paymentsAfterClose.map((p) => (
              <li data-payment={p.id}>
                {money(p.amountCents, p.currency.toUpperCase())} received {p.receivedAt} —{" "}
                {p.refundId ? (
                  <>
                    refunded (<code>{p.refundId}</code>)
                  </>
                ) : (
                  <strong>not refunded</strong>
                )}
              </li>
            ))}
          </ul>
          {props.canRefund && o.paymentsAfterClose.some((p) => p.refundId === null) ? (
            <form method="post" action={`/admin/orders/${encodeURIComponent(o.id)}/refund`}>
              <p>The shop never sold anything for this money. Needs a sign-in within the last 10 minutes.</p>
              <button type="submit" class="danger">
                Refund the payment received after close
              </button>
            </form>
          ) : null}
        </section>
      ) : null}
      <ShippingSection order={o} canShip={props.canRefund} error={props.shippingError} />
      {props.canRefund && o.status === "paid" ? (
        <form class="stack" method="post" action={`/admin/orders/${encodeURIComponent(o.id)}/refund`}>
          <p>
            Paid {money(o.totalCents, o.currency)}. Refund all of what is left, or part of it (e.g. one returned item). Needs a sign-in within the last 10
            minutes.
          </p>
          <label>
            Amount ({o.currency}, empty for everything left){" "}
            <input name="amount" inputmode="decimal" pattern="[0-9]+([.,][0-9]{1,3})?" maxlength={12} autocomplete="off" />
          </label>
          {/* One key per rendered form: a double click or a resubmitted page is one refund. */}
          <input type="hidden" name="idempotencyKey" value={crypto.randomUUID()} />
          <button type="submit" class="danger">
            Refund
          </button>
        </form>
      ) : null}
    </Layout>
  );
}

async function orderOr404(c: Context<AppEnv>): Promise<AdminOrder> {
  const order = await findAdminOrder(getDb(c.env.DB), c.req.param("id") ?? "");
  if (!order) throw new ProblemError(404, "order_not_found", "No order has this id.");
  return order;
}

/** Query parameters without the blanks a GET form sends for empty fields. */
function filledQuery(c: Context<AppEnv>): Record<string, string> {
  return Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v.trim() !== ""));
}

// ---- Users -----------------------------------------------------------------------------------

async function UsersPage(props: { c: Context<AppEnv>; error?: string }) {
  const parsed = UserSearchQuery.safeParse(filledQuery(props.c));
  const query = parsed.success ? parsed.data : {};
  const page = await searchUsers(getDb(props.c.env.DB), query);
  const q = query.q ?? "";
  return (
    <Layout title="Staff: users">
      <StaffNav />
      <h1>Users</h1>
      <Alert message={props.error} />
      <form method="get" action="/admin/users">
        <label>
          Email, name or id <input name="q" value={q} maxlength={320} />
        </label>
        <button type="submit">Search</button>
      </form>
      <p>A role change signs the user out everywhere; the new role applies at their next sign-in. It needs a sign-in within the last 10 minutes.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Id</th>
            <th scope="col">Second factor</th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((u) => (
            <tr>
              <td>{u.email}</td>
              <td>{u.name}</td>
              <td>
                <code>{u.id}</code>
              </td>
              <td>{u.twoFactorEnabled ? "on" : "off"}</td>
              <td>
                <form method="post" action={`/admin/users/${encodeURIComponent(u.id)}/role`}>
                  <select name="role" aria-label={`Role of ${u.email}`}>
                    {ROLES.map((r) => (
                      <option value={r} selected={r === u.role}>
                        {r}
                      </option>
                    ))}
                  </select>{" "}
                  <button type="submit">Set role</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.nextCursor ? <a href={`/admin/users?q=${encodeURIComponent(q)}&cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</a> : null}
    </Layout>
  );
}

/**
 * Staff pages for coupons, orders and users. Mounted inside `adminPages`, after its staff guard,
 * so every page and form post here has passed the same role, second-factor and session checks as
 * the API; the handlers call the same audited functions as the API routes.
 */
/** The refund form: an optional decimal amount and the form's own idempotency key (ignored when malformed). */
const RefundForm = z.object({ amount: z.string().trim().max(12).optional(), idempotencyKey: IdempotencyKey.optional().catch(undefined) });

export const staffPages = new Hono<AppEnv>()
  .get("/admin/coupons", async (c) => c.html(await CouponListPage({ c })))
  .post(
    "/admin/coupons",
    zValidator("form", CouponCreateForm, async (result, hookContext) => {
      const c = hookContext as unknown as Context<AppEnv>;
      if (!result.success) return c.html(await CouponListPage({ c, error: firstIssue(result.error) }), 422);
    }),
    async (c) => {
      try {
        const row = await createCouponAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("form"));
        return c.redirect(`/admin/coupons/${encodeURIComponent(row.code)}`, 303);
      } catch (error) {
        const refusal = refusalOf(error);
        return c.html(await CouponListPage({ c, error: refusal.message }), refusal.status);
      }
    },
  )
  .get("/admin/coupons/:code", async (c) => c.html(await CouponPage({ c, coupon: await couponOr404(c) })))
  .post(
    "/admin/coupons/:code",
    zValidator("form", CouponPatchForm, async (result, hookContext) => {
      const c = hookContext as unknown as Context<AppEnv>;
      if (!result.success) return c.html(await CouponPage({ c, coupon: await couponOr404(c), error: firstIssue(result.error) }), 422);
    }),
    async (c) => {
      const coupon = await couponOr404(c);
      try {
        await updateCouponAudited(c.env, getDb(c.env.DB), actorOf(c), coupon.code, c.req.valid("form"));
        return c.redirect(`/admin/coupons/${encodeURIComponent(coupon.code)}`, 303);
      } catch (error) {
        const refusal = refusalOf(error);
        return c.html(await CouponPage({ c, coupon, error: refusal.message }), refusal.status);
      }
    },
  )
  .post("/admin/coupons/:code/active", zValidator("form", z.object({ active: z.enum(["true", "false"]).optional().catch(undefined) })), async (c) => {
    const coupon = await couponOr404(c);
    const active = c.req.valid("form").active;
    if (!active) return c.html(await CouponPage({ c, coupon, error: "active must be true or false." }), 422);
    await updateCouponAudited(c.env, getDb(c.env.DB), actorOf(c), coupon.code, { active: active === "true" });
    return c.redirect(`/admin/coupons/${encodeURIComponent(coupon.code)}`, 303);
  })
  .get("/admin/orders", async (c) => {
    const parsed = OrderSearchQuery.safeParse(filledQuery(c));
    const query = parsed.success ? parsed.data : {};
    let page: Awaited<ReturnType<typeof searchOrders>>;
    let error: string | undefined;
    try {
      page = await searchOrders(getDb(c.env.DB), query);
    } catch (e) {
      error = refusalOf(e).message;
      page = { items: [], nextCursor: null };
    }
    const next = new URLSearchParams({ ...(query.status ? { status: query.status } : {}), ...(query.customer ? { customer: query.customer } : {}) });
    if (page.nextCursor) next.set("cursor", page.nextCursor);
    return c.html(
      <Layout title="Staff: orders">
        <StaffNav />
        <h1>Orders</h1>
        <Alert message={parsed.success ? error : "A search field is not valid."} />
        <form method="get" action="/admin/orders">
          <label>
            Status{" "}
            <select name="status">
              <option value="">any</option>
              {ORDER_STATUSES.map((s) => (
                <option value={s} selected={s === query.status}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Customer (email or user id) <input name="customer" value={query.customer ?? ""} maxlength={320} />
          </label>
          <button type="submit">Search</button>
        </form>
        <table>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Status</th>
              <th scope="col">Customer</th>
              <th scope="col">Total</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((o) => (
              <tr>
                <td>
                  <a href={`/admin/orders/${encodeURIComponent(o.id)}`}>{o.id}</a>
                </td>
                <td>{o.status}</td>
                <td>{o.customerEmail ?? o.userId}</td>
                <td>{money(o.totalCents, o.currency)}</td>
                <td>{o.createdAt}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.nextCursor ? <a href={`/admin/orders?${next.toString()}`}>Next page</a> : null}
      </Layout>,
    );
  })
  .get("/admin/orders/:id", async (c) =>
    c.html(<OrderDetail order={await orderOr404(c)} canRefund={staffUser(c).role === "admin"} shippingError={c.req.query("shipping_error")} />),
  )
  .post("/admin/orders/:id/refund", zValidator("form", RefundForm), async (c) => {
    const order = await orderOr404(c);
    const form = c.req.valid("form");
    const amountCents = form.amount ? minorUnits(form.amount, order.currency) : undefined;
    if (amountCents === null || amountCents === 0)
      return c.html(<OrderDetail order={order} canRefund error={`Give the amount in ${order.currency}, like 12.50.`} />, 422);
    try {
      requireFreshSession(staffUser(c));
      await requestRefund(c.env, c.var.config, getDb(c.env.DB), actorOf(c), order.id, { amountCents, idempotencyKey: form.idempotencyKey });
    } catch (error) {
      const refusal = refusalOf(error);
      return c.html(<OrderDetail order={order} canRefund error={refusal.message} />, refusal.status);
    }
    return c.redirect(`/admin/orders/${encodeURIComponent(order.id)}`, 303);
  })
  .get("/admin/users", async (c) => c.html(await UsersPage({ c })))
  .post("/admin/users/:id/role", zValidator("form", z.object({ role: z.enum(ROLES).optional().catch(undefined) })), async (c) => {
    const id = c.req.param("id");
    const role = c.req.valid("form").role;
    if (!role) return c.html(await UsersPage({ c, error: "Choose customer, support or admin." }), 422);
    try {
      requireFreshSession(staffUser(c));
      await changeRoleAudited(c.env, getDb(c.env.DB), actorOf(c), id, role);
    } catch (error) {
      const refusal = refusalOf(error);
      return c.html(await UsersPage({ c, error: refusal.message }), refusal.status);
    }
    return c.redirect(`/admin/users?q=${encodeURIComponent(id)}`, 303);
  });
