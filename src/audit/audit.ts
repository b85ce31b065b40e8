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

/**
 * Appends an event to the tamper-evident audit log.
 * PLACEHOLDER until the audit issue lands: writes a structured log line only.
 */
export async function recordAudit(env: Env, event: AuditInput): Promise<void> {
  void env;
  console.log(JSON.stringify({ audit: event }));
}
