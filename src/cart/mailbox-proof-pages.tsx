import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { confirmMailboxProof } from "../coupons/mailbox-proof";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import { resolveCart } from "./cart";
import { requestMailboxProof } from "./mailbox-routes";
import type { PromotionCustomer } from "./promotion-identity";

// The cart page's no-JS face of the mailbox proof (issue 33): ask for a code, type it back.

/** What the cart page may say after these forms (fixed text; keys come from this list only). */
export const PROOF_MESSAGES: Record<string, { text: string; error: boolean }> = {
  proof_sent: { text: "We mailed you a 6-digit code. Type it below within 10 minutes.", error: false },
  proof_confirmed: { text: "Your email address is confirmed for this cart.", error: false },
  proof_code_invalid: { text: "That code is not valid. Ask for a new one.", error: true },
  too_many_proof_codes: { text: "Too many codes asked for. Try again later.", error: true },
  too_many_proof_attempts: { text: "Too many tries. Try again later.", error: true },
  too_many_held_units: { text: "Your open checkouts already hold as many items as we allow at once. Finish or cancel one first.", error: true },
};

/** The panel: who the cart's once-per-customer promotions count, or the two small forms to prove a mailbox. */
export function MailboxProofPanel(props: { customer: PromotionCustomer | null; signedIn: boolean }) {
  const { customer } = props;
  return (
    <section class="panel" aria-labelledby="proof-title">
      <h2 id="proof-title">Welcome offers</h2>
      {customer ? (
        <p data-proven>
          Once-per-customer offers count <strong>{customer.email}</strong>
          {customer.via === "mailbox" ? " (confirmed by code for this cart; your receipt goes there)." : " (your verified account)."}
        </p>
      ) : (
        <>
          <p>
            Once-per-customer offers need to know it is you: {props.signedIn ? "verify your account's address, or " : ""}confirm your email address with a code
            we mail you.
          </p>
          <form method="post" action="/cart/mailbox-proof" class="form">
            <label for="proof-email">Email address</label>
            <input id="proof-email" name="email" type="email" maxlength={320} autocomplete="email" required />
            <button type="submit" class="secondary">
              Mail me a code
            </button>
          </form>
          <form method="post" action="/cart/mailbox-proof/confirm" class="form">
            <label for="proof-code">Code from the mail</label>
            <input id="proof-code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength={6} autocomplete="one-time-code" required />
            <button type="submit" class="secondary">
              Confirm
            </button>
          </form>
        </>
      )}
    </section>
  );
}

function sameOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header("origin");
  const ok = origin !== undefined ? origin === c.var.config.PUBLIC_ORIGIN : c.req.header("sec-fetch-site") === "same-origin";
  if (!ok) throw new ProblemError(403, "csrf_origin_mismatch", "This request did not come from the shop's own pages.");
}

async function back(c: Context<AppEnv>, action: () => Promise<unknown>, success: string): Promise<Response> {
  sameOrigin(c);
  try {
    await action();
    return c.redirect(`/cart?m=${success}`, 303);
  } catch (error) {
    if (error instanceof ProblemError && PROOF_MESSAGES[error.code]) return c.redirect(`/cart?m=${error.code}`, 303);
    throw error;
  }
}

const invalid = (c: Context) => c.redirect("/cart?m=proof_code_invalid", 303);

export const mailboxProofPages = new Hono<AppEnv>()
  .post(
    "/cart/mailbox-proof",
    zValidator("form", z.object({ email: z.email().max(320) }), (r, c) => (r.success ? undefined : invalid(c))),
    (c) => back(c, () => requestMailboxProof(c, c.req.valid("form").email), "proof_sent"),
  )
  .post(
    "/cart/mailbox-proof/confirm",
    zValidator("form", z.object({ code: z.string().min(1).max(12) }), (r, c) => (r.success ? undefined : invalid(c))),
    (c) =>
      back(
        c,
        async () => {
          const ref = await resolveCart(c, { create: false });
          const confirmed = ref ? await confirmMailboxProof(getDb(c.env.DB), ref.stub.id.toString(), c.req.valid("form").code.trim()) : { ok: false };
          if (!confirmed.ok) throw new ProblemError(422, "proof_code_invalid", "This code is not valid.");
        },
        "proof_confirmed",
      ),
  );
