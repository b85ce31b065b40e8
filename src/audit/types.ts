// The audit domain's shared types, in one leaf module: the files that pass them to one another
// (audit.ts, audit-log.ts, log-state.ts, verify.ts) import them from here, so none of them
// imports back up (the AuditLog object, its state and the callers' API form a DAG).

/** One audit event as callers submit it; the audit log adds time, hash and prevHash. */
export interface AuditInput {
  /** A user id, or `stripe`, `system`, `anonymous`. */
  actor: string;
  /** Dotted verb, e.g. `auth.sign_in.failed`, `payment.amount_mismatch`, `product.updated`. */
  action: string;
  /** What was acted on, e.g. an order id or product id. */
  subject?: string | null;
  /** Extra facts. Never a password, token, key or card data. */
  detail?: Record<string, unknown>;
  /** The client address (`CF-Connecting-IP`), when there is a client. */
  ip?: string | null;
}

/** What `append` returns for an event D1 holds: its id and hash. */
export interface AppendedEvent {
  id: number;
  hash: string;
}

/**
 * `required`: a security-relevant action that must not happen without its row (the caller fails
 * closed). `deferrable`: when D1 does not take the row, it waits in the object's outbox and is
 * retried (with an alert line) until D1 does.
 */
export type AppendMode = "required" | "deferrable";

/** The outcome of one append: written to D1, or not (then `queued` says whether the outbox holds it). */
export type AppendResult = ({ written: true } & AppendedEvent) | { written: false; queued: boolean; reason: string };

/** What the object knows of its own writes; verification compares D1 and R2 with it. */
export interface ChainTail {
  /** The last event D1 confirmed. */
  head: AppendedEvent | null;
  /** The rows of a write whose outcome the object has not seen (answer lost, or a restart). */
  pending: AppendedEvent | null;
  /** Events the object accepted that D1 does not hold yet (outbox), oldest first. */
  outbox: { action: string; at: string }[];
  /** Inserts D1 refused without an error (a trigger with RAISE(IGNORE)) since the last success. */
  refused: LogState["refused"];
  /** The newest checkpoint written to R2. */
  anchor: LogState["anchor"];
}

/** An event in the durable outbox (storage key `outbox:<serial>`). */
export interface OutboxEntry {
  key: string;
  event: AuditInput;
  at: string;
  /** When a write of it failed; absent while its first write is in flight (not reported then). */
  failedAt?: string;
}

/** What the AuditLog object keeps in its storage (log-state.ts reads and writes it). */
export interface LogState {
  head: AppendedEvent | null;
  inflight: { id: number; hash: string; action: string; mode: AppendMode; outboxKey: string | null }[];
  anchor: { seq: number; hash: string; at: string } | null;
  refused: { count: number; firstAt: string; lastAt: string; firstId: number; action: string } | null;
  outbox: OutboxEntry[];
}
