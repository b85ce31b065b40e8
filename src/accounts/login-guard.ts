import { DurableObject } from "cloudflare:workers";
import { recordAudit } from "../audit/audit";

/** Thresholds from API.md ("Accounts"): kept in one place so tests and docs quote the same numbers. */
export const GUARD_LIMITS = {
  /** Consecutive failures on one email before a Turnstile token is needed. */
  emailCaptchaAfter: 5,
  /** Consecutive failures on one email before exponential back-off (a right password included). */
  emailThrottleAfter: 10,
  /** First back-off step and its cap, in seconds. */
  backoffBaseSeconds: 30,
  backoffMaxSeconds: 3600,
  /** Per client address, failures counted over this window. */
  ipWindowSeconds: 15 * 60,
  ipCaptchaAfter: 10,
  ipThrottleAfter: 50,
} as const;

export type GuardDecision =
  | { decision: "allow"; failures: number; notifyOwner: boolean }
  | { decision: "captcha"; failures: number }
  | { decision: "throttle"; retryAfterSeconds: number; failures: number };

interface EmailState {
  failures: number;
  lastFailureAt: number;
  notified: boolean;
}

/**
 * Login throttling counters, one object per key (`email:<normalised>` or `ip:<address>`), so
 * every isolate sees the same counts. `attempt` checks and counts the attempt as a failure in one
 * synchronous step (the object is single-threaded and the KV calls are synchronous), so parallel
 * guesses cannot slip past; a successful sign-in then calls `succeeded` to take it back.
 */
export class LoginGuard extends DurableObject<Env> {
  /** Email key: consecutive failures, Turnstile after 5, exponential back-off after 10. */
  attemptForEmail(captchaOk: boolean, now: number = Date.now()): GuardDecision {
    const kv = this.ctx.storage.kv;
    const state: EmailState = (kv.get("email") as EmailState | undefined) ?? { failures: 0, lastFailureAt: 0, notified: false };
    if (state.failures >= GUARD_LIMITS.emailThrottleAfter) {
      const step = state.failures - GUARD_LIMITS.emailThrottleAfter;
      const wait = Math.min(GUARD_LIMITS.backoffBaseSeconds * 2 ** Math.min(step, 20), GUARD_LIMITS.backoffMaxSeconds);
      const until = state.lastFailureAt + wait * 1000;
      if (now < until) return { decision: "throttle", retryAfterSeconds: Math.ceil((until - now) / 1000), failures: state.failures };
    }
    if (state.failures >= GUARD_LIMITS.emailCaptchaAfter && !captchaOk) return { decision: "captcha", failures: state.failures };
    state.failures += 1;
    state.lastFailureAt = now;
    const notifyOwner = state.failures >= GUARD_LIMITS.emailThrottleAfter && !state.notified;
    if (notifyOwner) state.notified = true;
    kv.put("email", state);
    return { decision: "allow", failures: state.failures, notifyOwner };
  }

  /** Per address: more than 10 failures in 15 minutes need Turnstile, more than 50 get 429. */
  attemptForAddress(captchaOk: boolean, now: number = Date.now()): GuardDecision {
    const kv = this.ctx.storage.kv;
    const windowStart = now - GUARD_LIMITS.ipWindowSeconds * 1000;
    const times = ((kv.get("failures") as number[] | undefined) ?? []).filter((t) => t > windowStart);
    if (times.length >= GUARD_LIMITS.ipThrottleAfter) {
      const retry = Math.ceil((times[0]! + GUARD_LIMITS.ipWindowSeconds * 1000 - now) / 1000);
      return { decision: "throttle", retryAfterSeconds: Math.max(1, retry), failures: times.length };
    }
    if (times.length >= GUARD_LIMITS.ipCaptchaAfter && !captchaOk) return { decision: "captcha", failures: times.length };
    times.push(now);
    kv.put("failures", times);
    return { decision: "allow", failures: times.length, notifyOwner: false };
  }

  /** The attempt counted by `attempt*` succeeded: an email's streak ends, an address gets one back. */
  succeeded(): void {
    const kv = this.ctx.storage.kv;
    if (kv.get("email") !== undefined) kv.put("email", { failures: 0, lastFailureAt: 0, notified: false } satisfies EmailState);
    const times = kv.get("failures") as number[] | undefined;
    if (times && times.length > 0) kv.put("failures", times.slice(0, -1));
  }

  /**
   * The attempt counted by `attempt*` was refused before any secret was checked (a stale session,
   * a bad body): it is given back without ending the email's streak.
   */
  refund(): void {
    const kv = this.ctx.storage.kv;
    const state = kv.get("email") as EmailState | undefined;
    if (state && state.failures > 0) kv.put("email", { ...state, failures: state.failures - 1 });
    const times = kv.get("failures") as number[] | undefined;
    if (times && times.length > 0) kv.put("failures", times.slice(0, -1));
  }

  /** A password reset proves control of the mailbox: the email's streak starts again. */
  reset(): void {
    this.ctx.storage.kv.delete("email");
  }

  /**
   * Audit budget for refused, unauthenticated requests from one source: at most `max` audit events
   * per window, so an attacker cannot flood the append-only audit log (or slow everyone down
   * behind its single writer) by repeating a refused request.
   */
  auditBudget(max: number, windowSeconds: number, now: number = Date.now()): boolean {
    return this.rateLimitConsumeKey("audit", { window: windowSeconds, max }, now).allowed;
  }

  /**
   * Records a TOTP code accepted for this account and says whether it had already been accepted
   * within the last 2 minutes (a code is valid for up to 90 s with clock drift): RFC 6238 §5.2
   * asks that a code be usable once. Check and record are one synchronous step.
   */
  totpCodeSeen(code: string, now: number = Date.now()): boolean {
    const kv = this.ctx.storage.kv;
    const recent = ((kv.get("totp") as { code: string; at: number }[] | undefined) ?? []).filter((e) => now - e.at < 120_000);
    const seen = recent.some((e) => e.code === code);
    if (!seen) recent.push({ code, at: now });
    kv.put("totp", recent);
    return seen;
  }

  /** Current counts, for tests and the staff view. */
  snapshot(): { email: EmailState | null; addressFailures: number } {
    const kv = this.ctx.storage.kv;
    return { email: (kv.get("email") as EmailState | undefined) ?? null, addressFailures: ((kv.get("failures") as number[] | undefined) ?? []).length };
  }

  /**
   * better-auth's rate limiter (customStorage.consume): a fixed window per key, checked and
   * counted in one step so concurrent requests cannot all pass a stale read.
   */
  rateLimitConsume(rule: { window: number; max: number }, now: number = Date.now()): { allowed: boolean; retryAfter: number | null } {
    return this.rateLimitConsumeKey("rate", rule, now);
  }

  /**
   * A fixed window for `key` kept in this shard object (see `consumeRateLimit`): checked and
   * counted in one synchronous step, like `rateLimitConsume`. Windows live in a SQL table indexed
   * by their end, and each call first deletes at most RATE_SWEEP_PER_CALL ended ones: the work per
   * call is bounded whatever the number of keys, and since a call adds at most one key, the table
   * holds little more than the keys active in the last window.
   */
  rateLimitConsumeFor(key: string, rule: { window: number; max: number }, now: number = Date.now()): { allowed: boolean; retryAfter: number | null } {
    const sql = this.ctx.storage.sql;
    if (!this.rateTableReady) {
      sql.exec("CREATE TABLE IF NOT EXISTS rate_windows (key TEXT PRIMARY KEY, start INTEGER NOT NULL, count INTEGER NOT NULL, ends_at INTEGER NOT NULL)");
      sql.exec("CREATE INDEX IF NOT EXISTS rate_windows_ends_at ON rate_windows (ends_at)");
      this.rateTableReady = true;
    }
    sql.exec("DELETE FROM rate_windows WHERE key IN (SELECT key FROM rate_windows WHERE ends_at <= ? LIMIT ?)", now, RATE_SWEEP_PER_CALL);
    const row = sql.exec<{ start: number; count: number }>("SELECT start, count FROM rate_windows WHERE key = ?", key).toArray()[0];
    const step = countInWindow(row, rule, now);
    if (!step.allowed) return { allowed: false, retryAfter: step.retryAfter };
    sql.exec(
      "INSERT INTO rate_windows (key, start, count, ends_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET start = excluded.start, count = excluded.count, ends_at = excluded.ends_at",
      key,
      step.next.start,
      step.next.count,
      step.next.start + rule.window * 1000,
    );
    return { allowed: true, retryAfter: null };
  }

  /**
   * Failed sign-ins on the audit record (issue 19): at most `max` events per window for this key
   * (an address or an account). Past it, failures are counted instead, and when the window ends
   * an alarm writes one `auth.sign_in.failures_summarised` event with the count, so a flood costs
   * the log one row per key and window. Returns whether this failure gets its own event.
   */
  async failedSignInBudget(
    max: number,
    windowSeconds: number,
    about: { scope: "address" | "account"; subject: string | null; ip: string | null },
    now: number = Date.now(),
  ): Promise<boolean> {
    const kv = this.ctx.storage.kv;
    const step = countInWindow(kv.get("failaudit") as FixedWindow | undefined, { window: windowSeconds, max }, now);
    if (step.allowed) {
      kv.put("failaudit", step.next);
      return true;
    }
    const windowStart = (kv.get("failaudit") as FixedWindow).start;
    const suppressed = (kv.get("failaudit-suppressed") as SuppressedFailures | undefined) ?? {
      ...about,
      count: 0,
      windowStart,
      windowEnd: windowStart + windowSeconds * 1000,
    };
    suppressed.count += 1;
    kv.put("failaudit-suppressed", suppressed);
    if (suppressed.count === 1) await this.ctx.storage.setAlarm(suppressed.windowEnd);
    return false;
  }

  /** The end of a window with suppressed failed sign-ins: their one summary event. */
  override async alarm(): Promise<void> {
    const kv = this.ctx.storage.kv;
    const suppressed = kv.get("failaudit-suppressed") as SuppressedFailures | undefined;
    if (!suppressed) return;
    const written = await recordAudit(this.env, {
      actor: "anonymous",
      action: "auth.sign_in.failures_summarised",
      subject: suppressed.subject,
      detail: {
        scope: suppressed.scope,
        failures: suppressed.count,
        from: new Date(suppressed.windowStart).toISOString(),
        to: new Date(suppressed.windowEnd).toISOString(),
      },
      ip: suppressed.ip,
    });
    // recordAudit keeps the event in the audit object's outbox when D1 refuses it, so the count is
    // not lost either way; null means the object itself was unreachable: try again in a minute.
    if (written === null) {
      await this.ctx.storage.setAlarm(Date.now() + 60_000);
      return;
    }
    kv.delete("failaudit-suppressed");
  }

  private rateTableReady = false;

  private rateLimitConsumeKey(key: string, rule: { window: number; max: number }, now: number): { allowed: boolean; retryAfter: number | null } {
    const kv = this.ctx.storage.kv;
    const step = countInWindow(kv.get(key) as FixedWindow | undefined, rule, now);
    if (!step.allowed) return { allowed: false, retryAfter: step.retryAfter };
    kv.put(key, step.next);
    return { allowed: true, retryAfter: null };
  }
}

/** Failed sign-ins past the audit budget in one window, for its summary event. */
interface SuppressedFailures {
  scope: "address" | "account";
  subject: string | null;
  ip: string | null;
  count: number;
  windowStart: number;
  windowEnd: number;
}

/** A fixed rate-limit window: when it started (epoch ms) and how many requests it counted. */
interface FixedWindow {
  start: number;
  count: number;
}

/**
 * One request against a fixed window of `rule.window` seconds (a new window when the last one
 * ended): the window after counting it, or how long until the full one ends. Refusals do not count.
 */
function countInWindow(
  current: FixedWindow | undefined,
  rule: { window: number; max: number },
  now: number,
): { allowed: true; next: FixedWindow } | { allowed: false; retryAfter: number } {
  const window = current && now - current.start < rule.window * 1000 ? current : { start: now, count: 0 };
  if (window.count >= rule.max) return { allowed: false, retryAfter: Math.max(1, Math.ceil((window.start + rule.window * 1000 - now) / 1000)) };
  return { allowed: true, next: { start: window.start, count: window.count + 1 } };
}

/** Normalises an email the way sign-in does, so throttling keys match whatever casing is sent. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Records a refused, unauthenticated request in the audit log at most 5 times per 15 minutes per
 * source and kind, in the background when the request has an ExecutionContext.
 */
export async function auditRefusalWithBudget(env: Env, sourceKey: string, record: () => Promise<unknown>, ctx: ExecutionContext | null): Promise<void> {
  const work = (async () => {
    if (await loginGuard(env, `audit:${sourceKey}`).auditBudget(5, 15 * 60)) await record();
  })();
  if (ctx) ctx.waitUntil(work.catch(() => undefined));
  else await work;
}

/** Ended windows a shard deletes per call, at most. */
export const RATE_SWEEP_PER_CALL = 8;

/** The guard object for a key. */
export function loginGuard(env: Env, key: string): DurableObjectStub<LoginGuard> {
  return (env.LOGIN_GUARD as unknown as DurableObjectNamespace<LoginGuard>).getByName(key);
}
