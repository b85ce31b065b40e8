import { ProblemError } from "../platform/problem";

// Hoarding bounds (issue 33): a checkout holds its units of stock for the life of its payment
// session, and a new cart cookie is free, so the units one mailbox, one cart and one network
// address hold in open checkouts at once are bounded. The bound is enforced by triggers on
// order_lines (migration 0016 held_units), inside the order's own write batch: D1 runs a batch as
// one serial transaction, so concurrent checkouts cannot pass it together, and a refused order
// leaves nothing written. The numbers live in that SQL; this is their name in the code.

/** Units held in open (pending, unexpired) checkouts, per holder. Keep in step with migration 0016. */
export const HELD_UNIT_LIMITS = { mailbox: 100, cart: 100, address: 250 } as const;

export type Holder = keyof typeof HELD_UNIT_LIMITS;

const COLUMN: Record<Holder, string> = { mailbox: "holder_mailbox", cart: "cart_object_id", address: "opened_from" };

/** Which bound a failed order write hit, or null when the failure was something else. */
export function heldUnitsBoundOf(error: unknown): Holder | null {
  const text = String(error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : error);
  const match = /held_units_exceeded:(mailbox|cart|address)/.exec(text);
  return match ? (match[1] as Holder) : null;
}

/**
 * The 429 for a bound that was hit: Retry-After is when the first of this holder's open
 * checkouts ends (its units come back then, paid or not).
 */
export async function heldUnitsRefusal(db: D1Database, holder: Holder, value: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<ProblemError> {
  const row = await db
    .prepare(`SELECT min(payment_expires_at) AS t FROM orders WHERE status = 'pending' AND payment_expires_at > ? AND ${COLUMN[holder]} = ?`)
    .bind(nowSeconds, value)
    .first<{ t: number | null }>();
  const retryAfter = Math.max(1, (row?.t ?? nowSeconds + 60) - nowSeconds);
  return new ProblemError(
    429,
    "too_many_held_units",
    `Your open checkouts already hold as many items as one ${holder === "address" ? "network" : holder} may hold at once. Finish or cancel one, or try again later.`,
    { headers: { "retry-after": String(retryAfter) } },
  );
}
