import type { Context } from "hono";
import { getSessionUser } from "../accounts/session";
import { couponCustomerKey, normaliseEmail } from "../coupons/customer";
import { findProvenMailbox } from "../coupons/mailbox-proof";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import type { CartRef } from "./cart";

/**
 * Who a cart's per-customer promotions count (issue 33): a signed-in account with a verified
 * address, else the mailbox the cart proved with a mailed code (for an account, only its own
 * address). Null: nobody proven, and no address anyone typed stands in.
 */
export interface PromotionCustomer {
  key: string;
  email: string;
  via: "account" | "mailbox";
}

export async function promotionCustomer(c: Context<AppEnv>, ref: CartRef): Promise<PromotionCustomer | null> {
  const user = await getSessionUser(c);
  if (user?.emailVerified) return { key: await couponCustomerKey(user.email), email: user.email.toLowerCase(), via: "account" };
  return provenCartMailbox(c.env, ref.stub.id.toString(), user?.email ?? null);
}

/**
 * The mailbox the cart (by its object id) proved, when it may stand for the buyer: any for a
 * guest; for an account, only the account's own address.
 */
export async function provenCartMailbox(env: Env, cartObjectId: string, accountEmail: string | null): Promise<PromotionCustomer | null> {
  const proof = await findProvenMailbox(getDb(env.DB), cartObjectId);
  if (!proof) return null;
  if (accountEmail !== null && normaliseEmail(accountEmail) !== normaliseEmail(proof.email)) return null;
  return { key: proof.customerKey, email: proof.email, via: "mailbox" };
}
