import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
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
import { actorOf } from "./guard";
import { promotionUsage, type PromotionUsage } from "./promotion-usage";
import { Alert, money, refusalOf, StaffNav } from "./page-parts";

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
      <label class="choice">
        <input name="active" type="checkbox" value="on" checked={k?.active ?? true} /> Active
      </label>
      <button type="submit">{k ? "Save" : "Create"}</button>
    </form>
  );
}

/** "3 uses · $4.50 given" (a code's discount is in its own currency; a percent code's in the orders' currency, shown bare). */
function usageText(usage: PromotionUsage | undefined, currency: string | null): string {
  if (!usage) return "0 uses";
  const given = currency ? money(usage.discountGivenCents, currency) : `${usage.discountGivenCents} minor units`;
  return `${usage.uses} ${usage.uses === 1 ? "use" : "uses"} · ${given} given`;
}

/** Automatic promotions (no code) and what they have given, below the codes. */
function AutomaticPromotionsUsage(props: { usage: PromotionUsage[] }) {
  if (props.usage.length === 0) return null;
  return (
    <>
      <h2>Automatic promotions</h2>
      <ul>
        {props.usage.map((u) => (
          <li data-promotion-usage={u.id}>
            <strong>{u.name}</strong>: {u.uses} paid {u.uses === 1 ? "order" : "orders"}, {u.discountGivenCents} minor units given (
            <a href="/admin/promotions">manage promotions</a>)
          </li>
        ))}
      </ul>
    </>
  );
}

async function CouponListPage(props: { c: Context<AppEnv>; error?: string }) {
  const cursor = props.c.req.query("cursor")?.slice(0, 200) ?? null;
  const [page, usageItems] = await Promise.all([listCoupons(getDb(props.c.env.DB), cursor, 50), promotionUsage(props.c.env.DB)]);
  const usage = { usage: usageItems };
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
            <th scope="col">Uses · given</th>
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
              <td data-coupon-usage={k.code}>
                {usageText(
                  usage.usage.find((u) => u.kind === "code" && u.id === k.code),
                  k.currency,
                )}
              </td>
              <td>
                <a href={`/admin/coupons/${encodeURIComponent(k.code)}`}>Edit</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.nextCursor ? <a href={`/admin/coupons?cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</a> : null}
      <AutomaticPromotionsUsage usage={usage.usage.filter((u) => u.kind === "automatic")} />
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

/**
 * Staff pages for coupons (admin). Mounted inside `adminPages`, after its staff guard, so every
 * page and form post here has passed the same role, second-factor and session checks as the API;
 * the handlers call the same audited functions as the API routes.
 */
export const couponPages = new Hono<AppEnv>()
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
  });
