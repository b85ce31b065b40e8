import type { Database } from "../db/client";
import type { PaymentProvider } from "./provider-types";
import { paymentStateOf, StripeDispute } from "./payment-state";
import { closeSimulatorSession, createSimulatorSession, findSimulatorSession, simulatorOutcome } from "./simulator-store";
import { refundInWorld, saveWorld, sessionOfIntent, worldAsRetrieved, worldOf } from "./simulator-world";

/**
 * The local payment simulator: sessions live in D1 (payment_events), the checkout page is
 * `/dev/pay/{sessionId}` on the shop's own origin. Refused in production by the config gate.
 */
export function createSimulatorProvider(db: Database, origin: string): PaymentProvider {
  return {
    name: "simulator",
    async createCheckoutSession(input) {
      const { order } = input;
      const sessionId = await createSimulatorSession(db, {
        orderId: order.id,
        amountTotal: order.totalCents,
        currency: order.currency.toLowerCase(),
        amountSubtotal: order.subtotalCents,
        amountDiscount: order.discountCents,
        amountShipping: order.shippingCents,
        shippingRate: order.shipping ? { id: order.shipping.rateId, name: order.shipping.name } : null,
        customerEmail: order.customerEmail,
        taxMode: order.taxMode,
        shipToCountries: order.shipToCountries,
        successUrl: input.successUrl,
        cancelUrl: input.cancelUrl,
        expiresAt: input.expiresAt,
        idempotencyKey: input.idempotencyKey,
      });
      return { sessionId, url: `${origin}/dev/pay/${sessionId}` };
    },
    async refund(input) {
      const sessionId = input.sessionId ?? (await sessionOfIntent(db, input.paymentIntentId!));
      if (!sessionId) throw new Error("The simulator knows no payment with this intent");
      const { refundId } = await refundInWorld(db, sessionId, {
        amountCents: input.amountCents,
        idempotencyKey: input.idempotencyKey,
        claimId: input.claimId ?? null,
      });
      return { refundId };
    },
    async readPayment(sessionId) {
      const world = await worldOf(db, sessionId);
      if (!world) return null;
      return paymentStateOf(
        worldAsRetrieved(world),
        world.disputes.map((d) => StripeDispute.parse(d)),
      );
    },
    sessionForIntent(paymentIntentId) {
      return sessionOfIntent(db, paymentIntentId);
    },
    async expireSession(sessionId) {
      const session = await findSimulatorSession(db, sessionId);
      if (!session) return true;
      const world = await worldOf(db, sessionId);
      if (world && world.session.status !== "open") return world.session.status === "expired";
      const outcome = await simulatorOutcome(db, sessionId);
      if (outcome) return outcome === "expired";
      // Records the outcome first, so the simulator page can no longer pay this session.
      const expired = (await closeSimulatorSession(db, session, "expired")) || (await simulatorOutcome(db, sessionId)) === "expired";
      if (expired && world) await saveWorld(db, { ...world, session: { ...world.session, status: "expired" } });
      return expired;
    },
  };
}
