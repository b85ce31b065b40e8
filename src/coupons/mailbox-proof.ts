import { and, eq, gt, isNotNull, lt, sql } from "drizzle-orm";
import { sha256Hex } from "../audit/chain";
import type { Database } from "../db/client";
import { toBase64Url } from "../platform/base64url";
import { couponCustomerKey } from "./customer";
import { mailboxProofs } from "./schema";

// A cart proves a mailbox by a one-time code mailed to it (issue 33). Per-customer promotions
// count only a proven mailbox (or a signed-in account's verified address), so a typed address
// never reaches a ledger: nobody learns from a refusal whether someone else used a promotion, and
// nobody can hold another person's use. The code: 6 digits, 10 minutes, 5 tries, single use,
// stored as a salted hash, compared in constant time.

export const PROOF_CODE_TTL_MS = 10 * 60 * 1000;
export const PROOF_CODE_TRIES = 5;

/** A mailbox a cart has proven: where its receipts go, and the customer its promotions count. */
export interface ProvenMailbox {
  email: string;
  customerKey: string;
}

/** The spelling of an address kept on the proof and the order: trimmed, lower-case. */
export function receiptAddress(email: string): string {
  return email.trim().toLowerCase();
}

/** 6 decimal digits from the CSPRNG, without modulo bias (rejection of the top of the range). */
export function newProofCode(): string {
  const limit = Math.floor(0xffffffff / 1_000_000) * 1_000_000;
  for (;;) {
    const [n] = crypto.getRandomValues(new Uint32Array(1));
    if (n! < limit) return String(n! % 1_000_000).padStart(6, "0");
  }
}

async function codeHash(salt: string, cartKey: string, code: string): Promise<string> {
  return sha256Hex(`${salt}\n${cartKey}\n${code}`);
}

/**
 * Starts (or restarts) the proof of `email` for the cart: a fresh code replaces any earlier one and
 * any earlier proof of this cart. Returns the code, for the caller to mail; only its hash is kept.
 */
export async function startMailboxProof(db: Database, cartKey: string, email: string, now = Date.now()): Promise<string> {
  const code = newProofCode();
  const salt = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const fields = {
    email: receiptAddress(email),
    customerKey: await couponCustomerKey(email),
    codeHash: await codeHash(salt, cartKey, code),
    codeSalt: salt,
    codeExpiresAt: now + PROOF_CODE_TTL_MS,
    attempts: 0,
    provenAt: null,
  };
  await db
    .insert(mailboxProofs)
    .values({ cartKey, ...fields })
    .onConflictDoUpdate({ target: mailboxProofs.cartKey, set: fields });
  return code;
}

/** Outcome of `confirmMailboxProof`: the proven mailbox, or why not (the same for every wrong, used or expired code). */
export type ProofConfirmation = { ok: true; mailbox: ProvenMailbox } | { ok: false };

function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}

/**
 * Checks the code typed for the cart's pending proof. A right code proves the mailbox and is used
 * up in the same conditional write (two requests with it: one wins). A wrong one uses one of the
 * tries; after the last, or after 10 minutes, the code is dead and a new one must be asked for.
 */
export async function confirmMailboxProof(db: Database, cartKey: string, code: string, now = Date.now()): Promise<ProofConfirmation> {
  const [row] = await db.select().from(mailboxProofs).where(eq(mailboxProofs.cartKey, cartKey)).limit(1);
  if (!row || row.codeHash === null || row.codeSalt === null || (row.codeExpiresAt ?? 0) <= now || row.attempts >= PROOF_CODE_TRIES) return { ok: false };
  // Anything but 6 digits is hashed as a value no code can be, so every wrong answer costs the same.
  const typed = await codeHash(row.codeSalt, cartKey, /^\d{6}$/.test(code) ? code : "not-a-code");
  if (!constantTimeEqual(typed, row.codeHash)) {
    await db
      .update(mailboxProofs)
      .set({ attempts: sql`${mailboxProofs.attempts} + 1` })
      .where(and(eq(mailboxProofs.cartKey, cartKey), eq(mailboxProofs.codeHash, row.codeHash)));
    return { ok: false };
  }
  const used = await db
    .update(mailboxProofs)
    .set({ provenAt: now, codeHash: null, codeSalt: null, codeExpiresAt: null })
    .where(
      and(
        eq(mailboxProofs.cartKey, cartKey),
        eq(mailboxProofs.codeHash, row.codeHash),
        gt(mailboxProofs.codeExpiresAt, now),
        lt(mailboxProofs.attempts, PROOF_CODE_TRIES),
      ),
    );
  if ((used.meta.changes ?? 0) === 0) return { ok: false };
  return { ok: true, mailbox: { email: row.email, customerKey: row.customerKey } };
}

/** The mailbox this cart has proven, or null. */
export async function findProvenMailbox(db: Database, cartKey: string): Promise<ProvenMailbox | null> {
  const [row] = await db
    .select({ email: mailboxProofs.email, customerKey: mailboxProofs.customerKey })
    .from(mailboxProofs)
    .where(and(eq(mailboxProofs.cartKey, cartKey), isNotNull(mailboxProofs.provenAt)))
    .limit(1);
  return row ?? null;
}
