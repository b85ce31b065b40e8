import type { Database } from "../db/client";
import type { Config } from "../platform/config";
import type { PaymentProvider } from "./provider-types";
import { createSimulatorProvider } from "./simulator-provider";
import { createStripeProvider } from "./stripe-provider";

export * from "./provider-types";
export { createStripeProvider } from "./stripe-provider";

/** The provider the config names. Stripe needs its secret key; the simulator needs nothing. */
export function paymentProvider(config: Config, db: Database): PaymentProvider {
  if (config.PAYMENTS_PROVIDER === "stripe") {
    if (!config.STRIPE_SECRET_KEY) throw new Error("PAYMENTS_PROVIDER=stripe needs STRIPE_SECRET_KEY");
    return createStripeProvider(config.STRIPE_SECRET_KEY);
  }
  return createSimulatorProvider(db, config.PUBLIC_ORIGIN);
}
