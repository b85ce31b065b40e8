import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { deliveryEstimate } from "../shipping/checkout-pricing";
import { createShippingRateAudited, listShippingRates, ShippingRateInput, updateShippingRateAudited } from "../shipping/rate-management";
import type { ShippingRateRow } from "../shipping/schema";
import { formatMoney, minorUnits } from "../web/format";
import { Layout } from "../web/layout";
import { firstIssue, formInto } from "./forms";
import { clientIp, staffUser } from "./guard";
import { StaffNav } from "./page-parts";

/** Whole days from a text field; blank is "no estimate". */
const DaysField = z
  .string()
  .trim()
  .transform((v) => (v === "" ? null : v))
  .pipe(
    z
      .string()
      .regex(/^\d{1,3}$/, "whole days")
      .transform(Number)
      .nullable(),
  );

/**
 * The form as a browser posts it: amounts as decimals in the rate's currency (4.95, not 495),
 * turned into minor units by the currency's own exponent, then checked by the API's schema.
 */
const RateForm = formInto(
  z
    .object({
      name: z.string(),
      currency: z.string().trim().toUpperCase(),
      amount: z.string(),
      freeAbove: z.string().default(""),
      minDays: DaysField,
      maxDays: DaysField,
      sortOrder: z.string().trim().default("0"),
    })
    .transform((f, ctx) => {
      const currency = /^[A-Z]{3}$/.test(f.currency) ? f.currency : "USD";
      const amountCents = minorUnits(f.amount, currency);
      if (amountCents === null) ctx.addIssue({ code: "custom", path: ["amount"], message: `an amount in ${currency}, like 4.95` });
      const freeAboveCents = f.freeAbove.trim() === "" ? null : minorUnits(f.freeAbove, currency);
      if (f.freeAbove.trim() !== "" && freeAboveCents === null)
        ctx.addIssue({ code: "custom", path: ["freeAbove"], message: `an amount in ${currency}, or blank` });
      return {
        name: f.name,
        currency: f.currency,
        amountCents: amountCents ?? -1,
        freeAboveCents,
        minDays: f.minDays,
        maxDays: f.maxDays,
        sortOrder: Number(f.sortOrder),
      };
    }),
  ShippingRateInput,
);

function RatesPage(props: { rates: ShippingRateRow[]; shipTo: string[]; error?: string | undefined; status?: number }) {
  return (
    <Layout title="Staff: shipping rates">
      <StaffNav />
      <h1>Shipping rates</h1>
      <p>
        Checkout offers the active rates in the cart's currency; once a currency has one, every order in it must choose one. The shop ships to:{" "}
        <strong>{props.shipTo.join(", ")}</strong> (SHIP_TO_COUNTRIES).
      </p>
      {props.error ? <p role="alert">{props.error}</p> : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Price</th>
            <th scope="col">Free from</th>
            <th scope="col">Delivery</th>
            <th scope="col">State</th>
            <th scope="col">
              <span class="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rates.map((r) => (
            <tr data-rate={r.id}>
              <td>{r.name}</td>
              <td>{formatMoney(r.amountCents, r.currency)}</td>
              <td>{r.freeAboveCents === null ? "—" : formatMoney(r.freeAboveCents, r.currency)}</td>
              <td>{deliveryEstimate(r) ?? "—"}</td>
              <td>{r.active ? "active" : "retired"}</td>
              <td>
                <form method="post" action={`/admin/shipping-rates/${encodeURIComponent(r.id)}/active`}>
                  <input type="hidden" name="active" value={r.active ? "false" : "true"} />
                  <button type="submit" class="secondary">
                    {r.active ? "Retire" : "Offer again"}
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>New rate</h2>
      <form method="post" action="/admin/shipping-rates" class="form">
        <label>
          Name <input name="name" required maxlength={80} placeholder="Standard" />
        </label>
        <label>
          Price <input name="amount" required inputmode="decimal" placeholder="4.95" />
        </label>
        <label>
          Currency <input name="currency" required maxlength={3} value="USD" />
        </label>
        <label>
          Free when the goods reach (blank: never) <input name="freeAbove" inputmode="decimal" placeholder="75.00" />
        </label>
        <label>
          Delivery from (business days) <input name="minDays" inputmode="numeric" />
        </label>
        <label>
          Delivery to (business days) <input name="maxDays" inputmode="numeric" />
        </label>
        <label>
          Order in the list <input name="sortOrder" inputmode="numeric" value="0" />
        </label>
        <button type="submit">Create rate</button>
      </form>
    </Layout>
  );
}

async function renderRates(c: Context<AppEnv>, error?: string, status: 200 | 404 | 409 | 422 = 200) {
  const rates = await listShippingRates(getDb(c.env.DB));
  return c.html(<RatesPage rates={rates} shipTo={c.var.config.SHIP_TO_COUNTRIES} error={error} />, status);
}

/** A refusal of the shared functions shown on the page (422/404), anything else goes to onError. */
function refusal(c: Context<AppEnv>, error: unknown) {
  if (error instanceof ProblemError && (error.status === 422 || error.status === 404)) return renderRates(c, error.detail ?? error.code, error.status);
  throw error;
}

/** Staff pages for shipping rates: the same audited functions as the API (admin only, guarded under /admin). */
export const shippingRatePages = new Hono<AppEnv>()
  .get("/admin/shipping-rates", (c) => renderRates(c))
  .post(
    "/admin/shipping-rates",
    zValidator("form", RateForm, (result, c) => {
      if (!result.success) return renderRates(c as unknown as Context<AppEnv>, firstIssue(result.error), 422);
    }),
    async (c) => {
      try {
        await createShippingRateAudited(c.env, c.var.config, { id: staffUser(c).id, ip: clientIp(c) }, c.req.valid("form"));
      } catch (error) {
        return refusal(c, error);
      }
      return c.redirect("/admin/shipping-rates", 303);
    },
  )
  .post("/admin/shipping-rates/:id/active", zValidator("form", z.object({ active: z.enum(["true", "false"]) })), async (c) => {
    try {
      await updateShippingRateAudited(c.env, c.var.config, { id: staffUser(c).id, ip: clientIp(c) }, c.req.param("id"), {
        active: c.req.valid("form").active === "true",
      });
    } catch (error) {
      return refusal(c, error);
    }
    return c.redirect("/admin/shipping-rates", 303);
  });
