import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { decimalAmount, minorUnits } from "../web/format";
import { Layout } from "../web/layout";
import { firstIssue, formInto } from "./forms";
import { actorOf } from "./guard";
import { Alert, money, refusalOf, StaffNav } from "./page-parts";
import { withUsage } from "./promotion-routes";
import {
  createPromotionAudited,
  findPromotion,
  listPromotions,
  PromotionCreateBody,
  PromotionPatchBody,
  updatePromotionAudited,
  type AdminPromotion,
} from "./promotions";

// Staff pages for automatic promotions (issue 33, decision 030), inside `adminPages` after its
// guard; they call the same audited functions as the API. Amounts are typed as decimals in the
// promotion's currency ("12.50"), never as cents; the list is one card per promotion so it
// reads on a phone (390 px) without sideways scrolling.

/** datetime-local (read as UTC) or full ISO → ISO; blank → null. */
function timeField(value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v)) return `${v}:00Z`;
  return v;
}

const Fields = z.object({
  name: z.string().default(""),
  kind: z.string().default(""),
  value: z.string().default(""),
  currency: z.string().default(""),
  minSubtotal: z.string().default(""),
  category: z.string().default(""),
  productIds: z.string().default(""),
  startsAt: z.string().default(""),
  endsAt: z.string().default(""),
  firstOrderOnly: z.string().optional(),
  active: z.string().optional(),
});

/** The form as the API's body: decimals to minor units of the currency (NaN when not an amount, which the API refuses). */
function promotionBody(f: z.output<typeof Fields>): Record<string, unknown> {
  const currency = f.currency.trim().toUpperCase() || "USD";
  const amount = (v: string) => (v.trim() === "" ? null : (minorUnits(v, currency) ?? Number.NaN));
  const ids = f.productIds
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    name: f.name,
    kind: f.kind,
    currency,
    percentOff: f.kind === "percent_off" ? (f.value.trim() === "" ? Number.NaN : Number(f.value)) : null,
    amountOffCents: f.kind === "amount_off" ? (amount(f.value) ?? Number.NaN) : null,
    minSubtotalCents: amount(f.minSubtotal),
    category: f.category.trim() || null,
    productIds: ids.length > 0 ? ids : null,
    startsAt: timeField(f.startsAt),
    endsAt: timeField(f.endsAt),
    firstOrderOnly: f.firstOrderOnly === "on",
    active: f.active === "on",
  };
}

const CreateForm = formInto(Fields.transform(promotionBody), PromotionCreateBody);
const PatchForm = formInto(Fields.transform(promotionBody), PromotionPatchBody);

const KIND_WORDS: Record<AdminPromotion["kind"], string> = { free_shipping: "Free shipping", percent_off: "Percent off", amount_off: "Amount off" };

function what(p: AdminPromotion): string {
  if (p.kind === "percent_off") return `${p.percentOff} % off`;
  if (p.kind === "amount_off") return `${money(p.amountOffCents, p.currency)} off`;
  return "Free shipping";
}

function conditions(p: AdminPromotion): string {
  const parts = [
    p.minSubtotalCents !== null ? `goods from ${money(p.minSubtotalCents, p.currency)}` : null,
    p.category ? `category ${p.category}` : null,
    p.productIds ? `${p.productIds.length} product(s)` : null,
    p.firstOrderOnly ? "first order only" : null,
    p.startsAt || p.endsAt ? `${p.startsAt ?? "…"} – ${p.endsAt ?? "…"}` : null,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(" · ") : "every cart";
}

function PromotionForm(props: { promotion?: AdminPromotion; action: string; error?: string | undefined }) {
  const p = props.promotion;
  const currency = p?.currency ?? "USD";
  const value =
    p?.kind === "percent_off" ? String(p.percentOff) : p?.kind === "amount_off" && p.amountOffCents !== null ? decimalAmount(p.amountOffCents, currency) : "";
  return (
    <form method="post" action={props.action} class="form">
      <Alert message={props.error} />
      <label>
        Name <input name="name" required maxlength={80} value={p?.name ?? ""} />
      </label>
      <label>
        Kind{" "}
        <select name="kind">
          {(Object.keys(KIND_WORDS) as AdminPromotion["kind"][]).map((k) => (
            <option value={k} selected={(p?.kind ?? "percent_off") === k}>
              {KIND_WORDS[k]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Value (percent, or amount like 5.00; blank for free shipping) <input name="value" inputmode="decimal" value={value} />
      </label>
      <label>
        Currency <input name="currency" pattern="[A-Za-z]{3}" required value={currency} />
      </label>
      <label>
        Minimum goods (blank: none){" "}
        <input name="minSubtotal" inputmode="decimal" value={p?.minSubtotalCents == null ? "" : decimalAmount(p.minSubtotalCents, currency)} />
      </label>
      <label>
        Category (blank: any) <input name="category" maxlength={100} value={p?.category ?? ""} />
      </label>
      <label>
        Product ids, comma-separated (blank: any) <input name="productIds" value={p?.productIds?.join(", ") ?? ""} />
      </label>
      <label>
        Starts (UTC) <input name="startsAt" type="datetime-local" value={p?.startsAt?.slice(0, 16) ?? ""} />
      </label>
      <label>
        Ends (UTC) <input name="endsAt" type="datetime-local" value={p?.endsAt?.slice(0, 16) ?? ""} />
      </label>
      <label class="choice">
        <input name="firstOrderOnly" type="checkbox" value="on" checked={p?.firstOrderOnly ?? false} /> First order only
      </label>
      <label class="choice">
        <input name="active" type="checkbox" value="on" checked={p?.active ?? true} /> Active
      </label>
      <button type="submit">{p ? "Save" : "Create"}</button>
    </form>
  );
}

async function ListPage(props: { c: Context<AppEnv>; error?: string }) {
  const items = await withUsage(props.c.env.DB, await listPromotions(getDb(props.c.env.DB)));
  return (
    <Layout title="Staff: promotions">
      <StaffNav />
      <h1>Automatic promotions</h1>
      <p>
        No code needed. A cart gets at most one discount (the best for the shopper) and one free shipping, on top of its one coupon code; the code comes off
        first.
      </p>
      <ul class="promotion-list">
        {items.map((p) => (
          <li data-promotion={p.id}>
            <a href={`/admin/promotions/${encodeURIComponent(p.id)}`}>
              <strong>{p.name}</strong>
            </a>{" "}
            ({p.active ? "active" : "inactive"}) · {what(p)} · {conditions(p)} ·{" "}
            <span data-promotion-given={p.id}>
              {p.uses} {p.uses === 1 ? "use" : "uses"} · {money(p.discountGivenCents, p.currency)} given
            </span>
          </li>
        ))}
      </ul>
      <h2>New promotion</h2>
      <PromotionForm action="/admin/promotions" error={props.error} />
    </Layout>
  );
}

async function EditPage(props: { c: Context<AppEnv>; promotion: AdminPromotion; error?: string }) {
  const p = props.promotion;
  const action = `/admin/promotions/${encodeURIComponent(p.id)}`;
  const [withUse] = await withUsage(props.c.env.DB, [p]);
  return (
    <Layout title={`Staff: promotion ${p.name}`}>
      <StaffNav />
      <h1>
        Promotion {p.name} ({p.active ? "active" : "inactive"})
      </h1>
      <p data-promotion-given={p.id}>
        {withUse!.uses} paid {withUse!.uses === 1 ? "order" : "orders"} · {money(withUse!.discountGivenCents, p.currency)} given
      </p>
      <PromotionForm promotion={p} action={action} error={props.error} />
      <form method="post" action={`${action}/active`}>
        <input type="hidden" name="active" value={p.active ? "false" : "true"} />
        <button type="submit" class="secondary">
          {p.active ? "Deactivate" : "Activate"}
        </button>
      </form>
    </Layout>
  );
}

async function promotionOr404(c: Context<AppEnv>): Promise<AdminPromotion> {
  const found = await findPromotion(getDb(c.env.DB), (c.req.param("id") ?? "").slice(0, 100));
  if (!found) throw new ProblemError(404, "promotion_not_found", "No promotion has this id.");
  return found;
}

export const promotionPages = new Hono<AppEnv>()
  .get("/admin/promotions", async (c) => c.html(await ListPage({ c })))
  .post(
    "/admin/promotions",
    zValidator("form", CreateForm, async (result, hookContext) => {
      const c = hookContext as unknown as Context<AppEnv>;
      if (!result.success) return c.html(await ListPage({ c, error: firstIssue(result.error) }), 422);
    }),
    async (c) => {
      try {
        const created = await createPromotionAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("form"));
        return c.redirect(`/admin/promotions/${encodeURIComponent(created.id)}`, 303);
      } catch (error) {
        const refusal = refusalOf(error);
        return c.html(await ListPage({ c, error: refusal.message }), refusal.status);
      }
    },
  )
  .get("/admin/promotions/:id", async (c) => c.html(await EditPage({ c, promotion: await promotionOr404(c) })))
  .post(
    "/admin/promotions/:id",
    zValidator("form", PatchForm, async (result, hookContext) => {
      const c = hookContext as unknown as Context<AppEnv>;
      if (!result.success) return c.html(await EditPage({ c, promotion: await promotionOr404(c), error: firstIssue(result.error) }), 422);
    }),
    async (c) => {
      const promotion = await promotionOr404(c);
      try {
        await updatePromotionAudited(c.env, getDb(c.env.DB), actorOf(c), promotion.id, c.req.valid("form"));
        return c.redirect(`/admin/promotions/${encodeURIComponent(promotion.id)}`, 303);
      } catch (error) {
        const refusal = refusalOf(error);
        return c.html(await EditPage({ c, promotion, error: refusal.message }), refusal.status);
      }
    },
  )
  .post("/admin/promotions/:id/active", zValidator("form", z.object({ active: z.enum(["true", "false"]).optional().catch(undefined) })), async (c) => {
    const promotion = await promotionOr404(c);
    const active = c.req.valid("form").active;
    if (!active) return c.html(await EditPage({ c, promotion, error: "active must be true or false." }), 422);
    await updatePromotionAudited(c.env, getDb(c.env.DB), actorOf(c), promotion.id, { active: active === "true" });
    return c.redirect(`/admin/promotions/${encodeURIComponent(promotion.id)}`, 303);
  });
