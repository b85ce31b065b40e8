import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { orderLines } from "../checkout/schema";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { formatMoney } from "../web/format";
import { Layout } from "../web/layout";
import type { SessionEventInput, ShippingDetails } from "./events";
import { deliverSimulatorEvent, simulatorPaymentIntent } from "./simulator-events";
import {
  closeSimulatorSession,
  findSimulatorSession,
  saveSimulatorAddress,
  settleSimulatorSession,
  simulatedTax,
  simulatorAddress,
  simulatorOutcome,
  simulatorSettlement,
  type SimulatorOutcome,
  type SimulatorSession,
  type SimulatorSettlement,
} from "./simulator-store";

/**
 * Development routes only exist when the config says so (ENVIRONMENT=development and DEV_ROUTES
 * not off): otherwise every path answers the same 404 as an unknown page, so nothing reveals them.
 */
export const devOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.config.devRoutes) throw new ProblemError(404, "not_found", "There is nothing at this address.");
  await next();
});

const OutcomeForm = z.object({
  outcome: z.enum(["paid", "processing", "expired", "succeeded", "failed"]),
  // The address "Stripe" collects; checked against the session's countries like Checkout does.
  name: z.string().trim().max(300).optional(),
  line1: z.string().trim().max(300).optional(),
  city: z.string().trim().max(200).optional(),
  postalCode: z.string().trim().max(40).optional(),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/)
    .transform((v) => v.toUpperCase())
    .optional(),
});

/** The address fields of a completed session, or a 422 like Checkout refusing an incomplete or foreign address. */
function addressFrom(session: SimulatorSession, form: z.infer<typeof OutcomeForm>): ShippingDetails | null {
  if (!session.shippingRate) return null;
  if (!form.name || !form.line1 || !form.city || !form.postalCode || !form.country) {
    throw new ProblemError(422, "validation_failed", "Name, street, city, postal code and country are required for shipping.");
  }
  if (!(session.shipToCountries ?? []).includes(form.country)) throw new ProblemError(422, "validation_failed", "The shop does not ship to that country.");
  return { name: form.name, address: { line1: form.line1, line2: null, city: form.city, state: null, postal_code: form.postalCode, country: form.country } };
}

function AddressFields({ countries }: { countries: string[] }) {
  return (
    <fieldset>
      <legend>Shipping address</legend>
      <label>
        Full name <input name="name" value="Ada Lovelace" autocomplete="shipping name" required maxlength={300} />
      </label>
      <label>
        Street <input name="line1" value="12 Analytical Row" autocomplete="shipping address-line1" required maxlength={300} />
      </label>
      <label>
        City <input name="city" value="Springfield" autocomplete="shipping address-level2" required maxlength={200} />
      </label>
      <label>
        Postal code <input name="postalCode" value="12345" autocomplete="shipping postal-code" required maxlength={40} />
      </label>
      <label>
        Country{" "}
        <select name="country" autocomplete="shipping country">
          {countries.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
      </label>
    </fieldset>
  );
}

interface PageLine {
  name: string;
  quantity: number;
  unitPriceCents: number;
}

type PageState = { closed: SimulatorOutcome | null; settled: SimulatorSettlement | null };

function SimulatorPage(props: { session: SimulatorSession; lines: PageLine[] } & PageState) {
  const { session, lines } = props;
  const currency = session.currency.toUpperCase();
  const free = session.amountTotal === 0;
  const tax = simulatedTax(session);
  const charge = session.amountTotal + tax;
  return (
    <Layout title="Pay (simulator)">
      <section class="hosted-checkout" aria-labelledby="pay-title">
        <p class="notice" role="note">
          Payment simulator — development only. No card is charged and no data leaves this machine.
        </p>
        <h1 id="pay-title">Pay Bastion</h1>
        <p class="price">{formatMoney(charge, currency)}</p>
        <ul class="checkout-lines">
          {lines.map((l) => (
            <li>
              {l.quantity} × {l.name} — {formatMoney(l.unitPriceCents * l.quantity, currency)}
            </li>
          ))}
          {session.amountDiscount ? <li>Discount — −{formatMoney(session.amountDiscount, currency)}</li> : null}
          {session.shippingRate ? (
            <li data-sim-shipping>
              Shipping ({session.shippingRate.name}) — {session.amountShipping ? formatMoney(session.amountShipping, currency) : "Free"}
            </li>
          ) : null}
          {session.taxMode === "automatic" ? <li data-sim-tax>Tax (simulated 8 %) — {formatMoney(tax, currency)}</li> : null}
        </ul>
        {session.customerEmail ? <p>Receipt to {session.customerEmail}</p> : null}
        <p>
          Session <code>{session.id}</code>
        </p>
        {props.closed === "processing" && !props.settled ? (
          <form method="post" action={`/dev/pay/${session.id}`}>
            <p role="status">The bank transfer is on its way (payment processing).</p>
            <button type="submit" name="outcome" value="succeeded">
              The bank confirms the payment
            </button>
            <button type="submit" name="outcome" value="failed" class="secondary">
              The bank declines the payment
            </button>
          </form>
        ) : props.closed ? (
          <p role="status">This checkout is closed ({props.settled ? `payment ${props.settled}` : props.closed}).</p>
        ) : (
          <form method="post" action={`/dev/pay/${session.id}`}>
            {session.shippingRate ? <AddressFields countries={session.shipToCountries ?? []} /> : null}
            {free ? null : (
              <label>
                Card number <input name="card" value="4242 4242 4242 4242" readonly autocomplete="off" />
              </label>
            )}
            <button type="submit" name="outcome" value="paid">
              {free ? "Place the order (nothing to pay)" : `Pay ${formatMoney(charge, currency)}`}
            </button>
            {free ? null : (
              <button type="submit" name="outcome" value="processing" class="secondary">
                Pay by bank transfer (settles later)
              </button>
            )}
            <button type="submit" name="outcome" value="expired" class="secondary">
              Let the session expire
            </button>
          </form>
        )}
      </section>
    </Layout>
  );
}

async function sessionOr404(c: { env: Env }, sessionId: string): Promise<SimulatorSession> {
  const session = await findSimulatorSession(getDb(c.env.DB), sessionId);
  if (!session) throw new ProblemError(404, "not_found", "There is no checkout at this address.");
  return session;
}

/** The Stripe event a simulator choice makes "Stripe" send, in Stripe's documented formats. */
function eventFor(
  session: SimulatorSession,
  outcome: SimulatorOutcome | SimulatorSettlement,
): Pick<SessionEventInput, "type" | "paymentStatus" | "paymentIntentId"> {
  const pi = simulatorPaymentIntent(session);
  switch (outcome) {
    case "paid":
      return session.amountTotal === 0
        ? { type: "checkout.session.completed", paymentStatus: "no_payment_required", paymentIntentId: null }
        : { type: "checkout.session.completed", paymentStatus: "paid", paymentIntentId: pi };
    case "processing":
      return { type: "checkout.session.completed", paymentStatus: "unpaid", paymentIntentId: pi };
    case "succeeded":
      return { type: "checkout.session.async_payment_succeeded", paymentStatus: "paid", paymentIntentId: pi };
    case "failed":
      return { type: "checkout.session.async_payment_failed", paymentStatus: "unpaid", paymentIntentId: pi };
    case "expired":
      return { type: "checkout.session.expired", paymentStatus: "unpaid", paymentIntentId: null };
  }
}

/**
 * The payment simulator (API.md "Payments"): a page that looks like a hosted checkout, and a form
 * post that makes "Stripe" deliver a signed event to the shop's own webhook handler. It plays every
 * way a Checkout Session ends: paid by card, nothing to pay (`no_payment_required`), a delayed
 * method (`unpaid`, then `async_payment_succeeded` / `_failed`), expired on request or by itself
 * when its time is up (the Cron Trigger, `expireDueSimulatorSessions`).
 */
export const devPay = new Hono<AppEnv>()
  .use("/dev/*", devOnly)
  .get("/dev/pay/:sessionId", async (c) => {
    const session = await sessionOr404(c, c.req.param("sessionId"));
    const db = getDb(c.env.DB);
    const lines = await db
      .select({ name: orderLines.name, quantity: orderLines.quantity, unitPriceCents: orderLines.unitPriceCents })
      .from(orderLines)
      .where(eq(orderLines.orderId, session.orderId));
    return c.html(
      <SimulatorPage session={session} lines={lines} closed={await simulatorOutcome(db, session.id)} settled={await simulatorSettlement(db, session.id)} />,
    );
  })
  .post(
    "/dev/pay/:sessionId",
    zValidator("form", OutcomeForm, (result) => {
      if (!result.success) throw new ProblemError(422, "validation_failed", "Choose paid, processing, expired, succeeded or failed.");
    }),
    async (c) => {
      const session = await sessionOr404(c, c.req.param("sessionId"));
      const form = { data: c.req.valid("form") };
      if (!c.var.config.STRIPE_WEBHOOK_SECRET) throw new ProblemError(503, "misconfigured", "Set STRIPE_WEBHOOK_SECRET in .dev.vars to use the simulator.");
      const db = getDb(c.env.DB);
      let outcome = form.data.outcome;
      // Checked before anything is recorded: an incomplete address leaves the session open, like Checkout.
      const givenAddress = outcome === "paid" || outcome === "processing" ? addressFrom(session, form.data) : null;
      if (outcome === "succeeded" || outcome === "failed") {
        // Only a session completed with a delayed method settles, and only once.
        if ((await simulatorOutcome(db, session.id)) !== "processing" || !(await settleSimulatorSession(db, session, outcome))) {
          throw new ProblemError(409, "checkout_closed", "This payment is not waiting to settle.");
        }
      } else {
        // Like Stripe, a session past its expiry can no longer be paid; a free session has no bank transfer.
        if (outcome !== "expired" && session.expiresAt < Math.floor(Date.now() / 1000)) outcome = "expired";
        if (outcome === "processing" && session.amountTotal === 0) outcome = "paid";
        if (!(await closeSimulatorSession(db, session, outcome))) {
          throw new ProblemError(409, "checkout_closed", "This checkout is already closed.");
        }
      }
      // The address goes with completion; a settlement later repeats the one given then.
      let shippingDetails: ShippingDetails | null = null;
      if (outcome === "paid" || outcome === "processing") {
        shippingDetails = givenAddress;
        if (shippingDetails) await saveSimulatorAddress(db, session, shippingDetails);
      } else if (outcome === "succeeded") {
        shippingDetails = await simulatorAddress(db, session.id);
      }
      const result = await deliverSimulatorEvent(c.env, c.var.config, session, { ...eventFor(session, outcome), shippingDetails });
      if (result && result.status !== 200) throw new ProblemError(502, "webhook_refused", `The shop refused the simulated event (${result.code}).`);
      return c.redirect(outcome === "expired" || outcome === "failed" ? session.cancelUrl : session.successUrl, 303);
    },
  );
