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
import { buildCheckoutSessionEvent } from "./events";
import { computeStripeSignature } from "./signature";
import { closeSimulatorSession, findSimulatorSession, randomStripeSuffix, simulatorOutcome, type SimulatorSession } from "./simulator-store";
import type { Config } from "../platform/config";
import { handleStripeWebhook, type WebhookOutcome } from "./webhook";

/**
 * Development routes only exist when the config says so (ENVIRONMENT=development and DEV_ROUTES
 * not off): otherwise every path answers the same 404 as an unknown page, so nothing reveals them.
 */
export const devOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.config.devRoutes) throw new ProblemError(404, "not_found", "There is nothing at this address.");
  await next();
});

const OutcomeForm = z.object({ outcome: z.enum(["paid", "expired"]) });

interface PageLine {
  name: string;
  quantity: number;
  unitPriceCents: number;
}

function SimulatorPage(props: { session: SimulatorSession; lines: PageLine[]; closed: "paid" | "expired" | null }) {
  const { session, lines } = props;
  const currency = session.currency.toUpperCase();
  return (
    <Layout title="Pay (simulator)">
      <section class="hosted-checkout" aria-labelledby="pay-title">
        <p class="notice" role="note">
          Payment simulator — development only. No card is charged and no data leaves this machine.
        </p>
        <h1 id="pay-title">Pay Bastion</h1>
        <p class="price">{formatMoney(session.amountTotal, currency)}</p>
        <ul class="checkout-lines">
          {lines.map((l) => (
            <li>
              {l.quantity} × {l.name} — {formatMoney(l.unitPriceCents * l.quantity, currency)}
            </li>
          ))}
        </ul>
        <p>Session <code>{session.id}</code></p>
        {props.closed ? (
          <p role="status">This checkout is closed ({props.closed}).</p>
        ) : (
          <form method="post" action={`/dev/pay/${session.id}`}>
            <label>
              Card number <input name="card" value="4242 4242 4242 4242" readonly autocomplete="off" />
            </label>
            <button type="submit" name="outcome" value="paid">Pay {formatMoney(session.amountTotal, currency)}</button>
            <button type="submit" name="outcome" value="expired" class="secondary">Let the session expire</button>
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

/**
 * The payment simulator (API.md "Payments"): a page that looks like a hosted checkout, and a form
 * post that makes "Stripe" deliver a signed event to the shop's own webhook handler.
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
    return c.html(<SimulatorPage session={session} lines={lines} closed={await simulatorOutcome(db, session.id)} />);
  })
  .post("/dev/pay/:sessionId", async (c) => {
    const session = await sessionOr404(c, c.req.param("sessionId"));
    const form = OutcomeForm.safeParse(await c.req.parseBody());
    if (!form.success) throw new ProblemError(422, "validation_failed", "Choose paid or expired.");
    const secret = c.var.config.STRIPE_WEBHOOK_SECRET;
    if (!secret) throw new ProblemError(503, "misconfigured", "Set STRIPE_WEBHOOK_SECRET in .dev.vars to use the simulator.");
    let outcome = form.data.outcome;
    // Like Stripe, a session past its expiry can no longer be paid.
    if (outcome === "paid" && session.expiresAt < Math.floor(Date.now() / 1000)) outcome = "expired";
    if (!(await closeSimulatorSession(getDb(c.env.DB), session, outcome))) {
      throw new ProblemError(409, "checkout_closed", "This checkout is already closed.");
    }
    const event = buildCheckoutSessionEvent({
      type: outcome === "paid" ? "checkout.session.completed" : "checkout.session.expired",
      sessionId: session.id,
      orderId: session.orderId,
      amountTotal: session.amountTotal,
      currency: session.currency,
      paymentStatus: outcome === "paid" ? "paid" : "unpaid",
      paymentIntentId: outcome === "paid" ? `pi_test_${randomStripeSuffix()}` : null,
    });
    const rawBody = JSON.stringify(event);
    const t = Math.floor(Date.now() / 1000);
    // Delivered to the same handler as the network route, so the signature is verified here too.
    const result = await handleStripeWebhook(c.env, c.var.config, {
      rawBody,
      signature: `t=${t},v1=${await computeStripeSignature(secret, t, rawBody)}`,
      ip: null,
      fromNetwork: false,
    });
    if (result.status !== 200) throw new ProblemError(502, "webhook_refused", `The shop refused the simulated event (${result.code}).`);
    return c.redirect(outcome === "paid" ? session.successUrl : session.cancelUrl, 303);
  });

/**
 * Development: what Stripe does after a refund, done by the simulator. Builds a Stripe-format
 * `charge.refunded` event for a fully refunded payment intent, signs it with
 * STRIPE_WEBHOOK_SECRET and hands it to the same webhook handler as the network route, so the
 * order moves to `refunded` through the verified path only. No-op result without a secret.
 */
export async function deliverSimulatedRefund(
  env: Env,
  config: Config,
  input: { paymentIntentId: string; amountCents: number; currency: string },
): Promise<WebhookOutcome | null> {
  const secret = config.STRIPE_WEBHOOK_SECRET;
  if (!secret) return null;
  const created = Math.floor(Date.now() / 1000);
  const event = {
    id: `evt_${randomStripeSuffix()}`,
    object: "event",
    api_version: "2025-11-17.clover",
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: "charge.refunded",
    data: {
      object: {
        id: `ch_test_${randomStripeSuffix()}`,
        object: "charge",
        amount: input.amountCents,
        amount_refunded: input.amountCents,
        currency: input.currency.toLowerCase(),
        refunded: true,
        payment_intent: input.paymentIntentId,
        livemode: false,
        created,
      },
    },
  };
  const rawBody = JSON.stringify(event);
  return handleStripeWebhook(env, config, {
    rawBody,
    signature: `t=${created},v1=${await computeStripeSignature(secret, created, rawBody)}`,
    ip: null,
    fromNetwork: false,
  });
}
