// Fixed-window rate limits by scope and key (checkout, coupon attempts, account actions), counted
// in a few LoginGuard shards per scope (docs/decisions/010-rate-limit-shards.md), with refusals
// remembered by the isolate so a client that keeps going no longer reaches the shared shard.
import { hmacSha256Key } from "../platform/hmac";
import { loginGuard, type LoginGuard } from "./login-guard";

/** How many objects share the counters of `consumeRateLimit` (docs/decisions/010-rate-limit-shards.md). */
export const RATE_SHARDS = 32;
/** Refusals an isolate remembers (the oldest go first). */
const REFUSALS_KEPT = 10_000;

/**
 * Which shard holds `key`: HMAC-SHA256 under the deployment's secret, so no one can choose
 * addresses that all land on one shard of someone else's choosing.
 */
async function shardOf(env: Env, scope: string, key: string): Promise<number> {
  const hmacKey = await hmacSha256Key(`rate-shards:${env.BETTER_AUTH_SECRET ?? "development"}`);
  const mac = await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(`${scope}\n${key}`));
  return new DataView(mac).getUint32(0) % RATE_SHARDS;
}

/** The shard object that holds `scope`/`key`'s counter. */
export async function rateLimitShard(env: Env, scope: string, key: string): Promise<DurableObjectStub<LoginGuard>> {
  return loginGuard(env, `limit:${scope}:${await shardOf(env, scope, key)}`);
}

// Per isolate and namespace binding: keys refused until a time (epoch ms), so a client that
// keeps going after its 429 is answered here and no longer reaches the shard other clients share.
const refusedUntil = new WeakMap<object, Map<string, number>>();

/**
 * Counts one request of `key` (a client address, a user id) against a fixed window, in one of
 * RATE_SHARDS objects per `scope` instead of an object per key: a shopper's first coupon attempt
 * or checkout no longer creates a Durable Object (the costliest step of those routes), and the
 * count is still exact and shared by every isolate. A refused key is refused by this isolate
 * without a call until its Retry-After has passed.
 */
export async function consumeRateLimit(
  env: Env,
  scope: string,
  key: string,
  rule: { window: number; max: number },
): Promise<{ allowed: boolean; retryAfter: number | null }> {
  if (scope.includes(":")) throw new Error(`a rate-limit scope has no ":" (${scope})`);
  const name = `${scope}:${key}`;
  let refused = refusedUntil.get(env.LOGIN_GUARD);
  if (!refused) {
    refused = new Map();
    refusedUntil.set(env.LOGIN_GUARD, refused);
  }
  const now = Date.now();
  const until = refused.get(name);
  if (until !== undefined) {
    if (now < until) return { allowed: false, retryAfter: Math.max(1, Math.ceil((until - now) / 1000)) };
    refused.delete(name);
  }
  const result = await (await rateLimitShard(env, scope, key)).rateLimitConsumeFor(name, rule);
  if (!result.allowed) {
    refused.set(name, now + (result.retryAfter ?? rule.window) * 1000);
    for (const oldest of refused.keys()) {
      if (refused.size <= REFUSALS_KEPT) break;
      refused.delete(oldest);
    }
  }
  return result;
}
