import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { couponCustomerKey } from "../../src/coupons/customer";
import type { CartObject } from "../../src/cart/cart-object";
import { cartJson } from "./cart";
import { outbox, waitForMail } from "./mail";

/** The object id of a cart by its name (`guest:<id>` / `user:<id>`): the key its mailbox proof is stored under. */
export function cartObjectId(name: string): string {
  return (env.CART as unknown as DurableObjectNamespace<CartObject>).idFromName(name).toString();
}

/** The code in the newest "Your Bastion code" mail to `email`. */
export async function latestProofCode(email: string, seen = 0): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const mails = (await outbox(email)).filter((m) => m.subject.startsWith("Your Bastion code"));
    if (mails.length > seen) return /(\d{6})/.exec(mails.at(-1)!.subject)![1]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitForMail(email);
  throw new Error(`no new code for ${email}`);
}

/** Proves `email` for the cart of `cookie` over HTTP, as a shopper does: ask, read the mail, type it back. */
export async function proveMailbox(cookie: string, email: string): Promise<void> {
  const seen = (await outbox(email)).filter((m) => m.subject.startsWith("Your Bastion code")).length;
  const asked = await cartJson(cookie, "POST", "/api/cart/mailbox-proof", { email });
  expect(asked.status).toBe(202);
  const code = await latestProofCode(email, seen);
  const confirmed = await cartJson(cookie, "POST", "/api/cart/mailbox-proof/confirm", { code });
  expect(confirmed.status).toBe(200);
}

/** Writes a proven mailbox for a cart straight into D1 (races that need many proven carts of one mailbox). */
export async function writeProvenMailbox(cartName: string, email: string): Promise<void> {
  await env.DB.prepare("INSERT OR REPLACE INTO mailbox_proofs (cart_key, email, customer_key, attempts, proven_at) VALUES (?, ?, ?, 0, ?)")
    .bind(cartObjectId(cartName), email.toLowerCase(), await couponCustomerKey(email), Date.now())
    .run();
}
