import { createRoute, z } from "@hono/zod-openapi";
import { shopSettingsFor } from "../settings/shop-settings";
import type { Context } from "hono";
import { consumeRateLimit } from "../accounts/rate-limits";
import { couponCustomerKey } from "../coupons/customer";
import { confirmMailboxProof, PROOF_CODE_TTL_MS, startMailboxProof } from "../coupons/mailbox-proof";
import { getDb } from "../db/client";
import { enqueueMail } from "../mail/mail";
import type { AppEnv } from "../platform/app-env";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { resolveCart } from "./cart";
import { promotionCustomer } from "./promotion-identity";

// A cart proves a mailbox (issue 33): the shopper asks for a code mailed to the address, then
// types it back. The answer to the request is the same for every address (nothing about the
// person behind it is said), codes are rate-limited per mailbox and per cart, and the proof lasts
// for this cart: its per-customer promotions count that mailbox, and its receipt goes there.

/** Codes mailed per mailbox and per cart, and codes typed per cart, each per 15 minutes. */
export const PROOF_LIMITS = {
  perMailbox: { window: 15 * 60, max: 3 },
  perCart: { window: 15 * 60, max: 5 },
  confirmsPerCart: { window: 15 * 60, max: 10 },
} as const;

const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });

export const MailboxProofRequestBody = z.object({ email: z.email().max(320).openapi({ example: "shopper@example.com" }) }).openapi("MailboxProofRequest");
export const MailboxProofConfirmBody = z.object({ code: z.string().min(1).max(12).openapi({ example: "123456" }) }).openapi("MailboxProofConfirm");
const MailboxProofSent = z.object({ sent: z.literal(true), expiresInSeconds: z.number().int() }).openapi("MailboxProofSent");
const MailboxProofState = z
  .object({
    email: z.string().nullable().openapi({ description: "The address this cart's promotions count and its receipt goes to; null when none is proven" }),
    via: z.enum(["account", "mailbox"]).nullable(),
  })
  .openapi("MailboxProofState");

const requestRoute = createRoute({
  method: "post",
  path: "/cart/mailbox-proof",
  operationId: "requestMailboxProof",
  ...access.cart,
  tags: ["Cart"],
  summary: "Mail a one-time code that proves this address for the cart (same answer for every address)",
  request: { body: { content: json(MailboxProofRequestBody), required: true } },
  responses: {
    202: { description: "A code was mailed (valid 10 minutes, 5 tries)", content: json(MailboxProofSent) },
    422: problemResponseSpec("validation_failed"),
    429: problemResponseSpec("`too_many_proof_codes` per mailbox or per cart (Retry-After)"),
  },
});

const confirmRoute = createRoute({
  method: "post",
  path: "/cart/mailbox-proof/confirm",
  operationId: "confirmMailboxProof",
  ...access.cart,
  tags: ["Cart"],
  summary: "Type back the mailed code: the cart's promotions count this mailbox, and its receipt goes there",
  request: { body: { content: json(MailboxProofConfirmBody), required: true } },
  responses: {
    200: { description: "Proven", content: json(MailboxProofState) },
    422: problemResponseSpec("`proof_code_invalid`: wrong, used, expired or out of tries (the same for each)"),
    429: problemResponseSpec("`too_many_proof_attempts` (Retry-After)"),
  },
});

const stateRoute = createRoute({
  method: "get",
  path: "/cart/mailbox-proof",
  operationId: "getMailboxProof",
  ...access.cart,
  tags: ["Cart"],
  summary: "Which customer this cart's per-customer promotions count, if any",
  responses: { 200: { description: "The proven customer, or nulls", content: json(MailboxProofState) } },
});

async function limited(env: Env, scope: string, key: string, rule: { window: number; max: number }, code: string, message: string): Promise<void> {
  const verdict = await consumeRateLimit(env, scope, key, rule);
  if (!verdict.allowed) throw new ProblemError(429, code, message, { headers: { "retry-after": String(verdict.retryAfter ?? rule.window) } });
}

/** Mails a fresh code for `email` to prove it for the caller's cart (a guest without one gets a cart). */
export async function requestMailboxProof(c: Context<AppEnv>, email: string): Promise<{ sent: true; expiresInSeconds: number }> {
  const ref = (await resolveCart(c, { create: true }))!;
  const cartKey = ref.stub.id.toString();
  await limited(c.env, "proof-cart", cartKey, PROOF_LIMITS.perCart, "too_many_proof_codes", "Too many codes for this cart. Try again later.");
  await limited(
    c.env,
    "proof-mailbox",
    await couponCustomerKey(email),
    PROOF_LIMITS.perMailbox,
    "too_many_proof_codes",
    "Too many codes for this address. Try again later.",
  );
  const code = await startMailboxProof(getDb(c.env.DB), cartKey, email);
  const minutes = PROOF_CODE_TTL_MS / 60_000;
  const { shopName } = await shopSettingsFor(c.env.DB);
  await enqueueMail(c.env, {
    to: email.trim(),
    subject: `Your ${shopName} code: ${code}`,
    text:
      `Your code is ${code}. Type it in your cart to confirm this address: your receipt goes here, and once-per-customer promotions count it.\n\n` +
      `It works once, for ${minutes} minutes. If you did not ask for it, ignore this mail: nothing happens without it.`,
  });
  return { sent: true, expiresInSeconds: minutes * 60 };
}

export const mailboxProofApi = createApiApp()
  .openapi(requestRoute, async (c) => c.json(await requestMailboxProof(c, c.req.valid("json").email), 202))
  .openapi(confirmRoute, async (c) => {
    const ref = (await resolveCart(c, { create: false })) ?? null;
    if (!ref) throw new ProblemError(422, "proof_code_invalid", "This code is not valid. Ask for a new one.");
    const cartKey = ref.stub.id.toString();
    await limited(c.env, "proof-confirm-cart", cartKey, PROOF_LIMITS.confirmsPerCart, "too_many_proof_attempts", "Too many tries. Try again later.");
    const confirmed = await confirmMailboxProof(getDb(c.env.DB), cartKey, c.req.valid("json").code.trim());
    if (!confirmed.ok) throw new ProblemError(422, "proof_code_invalid", "This code is not valid. Ask for a new one.");
    const customer = await promotionCustomer(c, ref);
    return c.json({ email: customer?.email ?? null, via: customer?.via ?? null }, 200);
  })
  .openapi(stateRoute, async (c) => {
    const ref = await resolveCart(c, { create: false });
    const customer = ref ? await promotionCustomer(c, ref) : null;
    return c.json({ email: customer?.email ?? null, via: customer?.via ?? null }, 200);
  });
