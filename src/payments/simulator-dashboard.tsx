import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { formatMoney } from "../web/format";
import { Layout } from "../web/layout";
import { isOpenDispute } from "./payment-state";
import { RefundRefused } from "./provider-types";
import { devOnly } from "./simulator";
import { sendAsStripe, simulatedCharge, stripeEvent } from "./simulator-events";
import { randomStripeSuffix } from "./simulator-store";
import { refundInWorld, saveWorld, worldOf, type SimulatorWorld } from "./simulator-world";

/**
 * Development: the parts of the Stripe Dashboard the shop must cope with, played by the simulator
 * (issue 29): a refund made outside the shop, a dispute opened and closed, and Stripe's habit of
 * delivering events late, twice and out of order. Each changes "Stripe's" state first and then
 * sends the signed event through the shop's own webhook handler, as Stripe does.
 */

const RefundForm = z.object({ amount: z.coerce.number().int().min(1).max(99_999_999) });
const DisputeForm = z.object({ outcome: z.enum(["open", "won", "lost"]) });

async function worldOr404(env: Env, sessionId: string): Promise<SimulatorWorld> {
  const world = /^cs_test_[A-Za-z0-9_]{1,80}$/.test(sessionId) ? await worldOf(getDb(env.DB), sessionId) : null;
  if (!world) throw new ProblemError(404, "not_found", "There is no payment at this address.");
  return world;
}

function DashboardPage(props: { world: SimulatorWorld }) {
  const { world } = props;
  const currency = String(world.session.currency ?? "usd").toUpperCase();
  const charge = world.charge;
  const base = `/dev/stripe/${world.session.id}`;
  const open = world.disputes.find((d) => isOpenDispute(d.status));
  return (
    <Layout title="Stripe Dashboard (simulator)">
      <p class="notice" role="note">
        Stripe Dashboard simulator — development only.
      </p>
      <h1>Payment {String(world.session.payment_intent ?? world.session.id)}</h1>
      <p>
        Session <code>{world.session.id}</code>: {world.session.status}, {String(world.session.payment_status ?? "")}
      </p>
      {charge ? (
        <p data-charge>
          Charged {formatMoney(charge.amount, currency)}, refunded {formatMoney(charge.amount_refunded, currency)}
        </p>
      ) : (
        <p>No charge yet.</p>
      )}
      {world.disputes.map((d) => (
        <p data-sim-dispute={d.status}>
          Dispute <code>{d.id}</code>: {d.status}
        </p>
      ))}
      {charge && charge.amount_refunded < charge.amount && !open ? (
        <form class="stack" method="post" action={`${base}/refund`}>
          <label>
            Refund in the Dashboard (minor units) <input name="amount" inputmode="numeric" value={String(charge.amount - charge.amount_refunded)} />
          </label>
          <button type="submit">Refund from the Dashboard</button>
        </form>
      ) : null}
      {charge ? (
        <form method="post" action={`${base}/dispute`}>
          {open ? (
            <>
              <button type="submit" name="outcome" value="won">
                Close the dispute: won
              </button>
              <button type="submit" name="outcome" value="lost" class="secondary">
                Close the dispute: lost
              </button>
            </>
          ) : (
            <button type="submit" name="outcome" value="open">
              Open a dispute (fraudulent)
            </button>
          )}
        </form>
      ) : null}
      <form method="post" action={`${base}/replay`}>
        <button type="submit" class="secondary">
          Deliver this payment's {world.events.length} events again, newest first, each twice
        </button>
      </form>
    </Layout>
  );
}

function disputeObject(world: SimulatorWorld, existing: SimulatorWorld["disputes"][number] | undefined, status: string): SimulatorWorld["disputes"][number] {
  const charge = world.charge!;
  return {
    id: existing?.id ?? `dp_test_${randomStripeSuffix()}`,
    object: "dispute",
    amount: charge.amount - charge.amount_refunded,
    currency: String(world.session.currency ?? "usd"),
    reason: "fraudulent",
    status,
    charge: charge.id,
    payment_intent: world.session.payment_intent,
    evidence_details: { due_by: Math.floor(Date.now() / 1000) + 7 * 24 * 3600, has_evidence: false, past_due: false, submission_count: 0 },
    created: Math.floor(Date.now() / 1000),
  };
}

export const devStripeDashboard = new Hono<AppEnv>()
  .use("/dev/*", devOnly)
  .get("/dev/stripe/:sessionId", async (c) => c.html(<DashboardPage world={await worldOr404(c.env, c.req.param("sessionId"))} />))
  .post(
    "/dev/stripe/:sessionId/refund",
    zValidator("form", RefundForm, (r) => {
      if (!r.success) throw new ProblemError(422, "validation_failed", "Give the amount in minor units.");
    }),
    async (c) => {
      const world = await worldOr404(c.env, c.req.param("sessionId"));
      const pi = String(world.session.payment_intent ?? "");
      try {
        await refundInWorld(getDb(c.env.DB), world.session.id, { amountCents: c.req.valid("form").amount, idempotencyKey: null, claimId: null });
      } catch (error) {
        if (error instanceof RefundRefused) throw new ProblemError(409, error.code, error.message);
        throw error;
      }
      const charge = await simulatedCharge(getDb(c.env.DB), pi);
      if (charge) await sendAsStripe(c.env, c.var.config, stripeEvent("charge.refunded", charge), { stale: true });
      return c.redirect(`/dev/stripe/${world.session.id}`, 303);
    },
  )
  .post(
    "/dev/stripe/:sessionId/dispute",
    zValidator("form", DisputeForm, (r) => {
      if (!r.success) throw new ProblemError(422, "validation_failed", "Choose open, won or lost.");
    }),
    async (c) => {
      const world = await worldOr404(c.env, c.req.param("sessionId"));
      if (!world.charge) throw new ProblemError(409, "charge_missing", "This payment has no charge to dispute.");
      const outcome = c.req.valid("form").outcome;
      const open = world.disputes.find((d) => isOpenDispute(d.status));
      if ((outcome === "open") !== !open)
        throw new ProblemError(409, "dispute_state", outcome === "open" ? "A dispute is open already." : "No dispute is open.");
      const dispute = disputeObject(world, open, outcome === "open" ? "needs_response" : outcome);
      await saveWorld(getDb(c.env.DB), { ...world, disputes: [...world.disputes.filter((d) => d.id !== dispute.id), dispute] });
      await sendAsStripe(c.env, c.var.config, stripeEvent(outcome === "open" ? "charge.dispute.created" : "charge.dispute.closed", dispute), { stale: true });
      return c.redirect(`/dev/stripe/${world.session.id}`, 303);
    },
  )
  .post("/dev/stripe/:sessionId/replay", async (c) => {
    const world = await worldOr404(c.env, c.req.param("sessionId"));
    // Late, twice and out of order: what Stripe's retries after an outage look like.
    for (const raw of [...world.events].reverse()) {
      const event = JSON.parse(raw) as Record<string, unknown>;
      await sendAsStripe(c.env, c.var.config, event, { stale: true });
      await sendAsStripe(c.env, c.var.config, event, { stale: true });
    }
    return c.redirect(`/dev/stripe/${world.session.id}`, 303);
  });
