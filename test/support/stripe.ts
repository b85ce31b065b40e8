import { computeStripeSignature } from "../../src/payments/signature";

/** Signs a raw webhook body exactly as Stripe does; returns the Stripe-Signature header value. */
export async function signStripePayload(
  body: string,
  secret: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  return `t=${timestamp},v1=${await computeStripeSignature(secret, timestamp, body)}`;
}
