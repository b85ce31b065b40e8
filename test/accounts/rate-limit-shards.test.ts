import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RATE_SWEEP_PER_CALL, type LoginGuard } from "../../src/accounts/login-guard";
import { consumeRateLimit, RATE_SHARDS, rateLimitShard } from "../../src/accounts/rate-limits";
import { unique } from "../support/factories";

const rule = { window: 60, max: 3 };

/** The keys a shard holds, with their counts. */
function windows(shard: DurableObjectStub<LoginGuard>): Promise<{ key: string; count: number }[]> {
  return runInDurableObject(shard, (_: LoginGuard, state) =>
    state.storage.sql.exec<{ key: string; count: number }>("SELECT key, count FROM rate_windows ORDER BY key").toArray(),
  );
}

describe("sharded fixed-window rate limits (decision 010)", () => {
  it("counts each key apart inside a shard, refuses past the limit with Retry-After, and starts again after the window", async () => {
    const shard = await rateLimitShard(env, unique("scope"), "k");
    const t0 = 10_000_000;
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await shard.rateLimitConsumeFor("a", rule, t0 + i));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]!.retryAfter).toBe(60);
    // Another key held by the same object has its own count.
    expect((await shard.rateLimitConsumeFor("b", rule, t0 + 5)).allowed).toBe(true);
    expect((await shard.rateLimitConsumeFor("a", rule, t0 + 30_000)).retryAfter).toBe(30);
    expect((await shard.rateLimitConsumeFor("a", rule, t0 + 60_000)).allowed).toBe(true);
  });

  it("a key always lands in the same shard; keys spread over all shards", async () => {
    const scope = unique("spread");
    const names = new Set<string>();
    for (let i = 0; i < 1000; i++) names.add((await rateLimitShard(env, scope, `2001:db8:${i.toString(16)}::/64`)).id.toString());
    expect(names.size).toBe(RATE_SHARDS);
    expect((await rateLimitShard(env, scope, "x")).id.toString()).toBe((await rateLimitShard(env, scope, "x")).id.toString());
  });

  it("each call deletes a bounded number of ended windows; live keys keep their counts", async () => {
    const shard = await rateLimitShard(env, unique("sweep"), "k");
    const t0 = 20_000_000;
    for (let i = 0; i < 20; i++) await shard.rateLimitConsumeFor(`old-${String(i).padStart(2, "0")}`, rule, t0);
    await shard.rateLimitConsumeFor("live", rule, t0 + 59_000);
    await shard.rateLimitConsumeFor("live", rule, t0 + 59_500);
    expect(await windows(shard)).toHaveLength(21);
    // One call after the old windows ended removes RATE_SWEEP_PER_CALL of them, not all at once.
    await shard.rateLimitConsumeFor("other", rule, t0 + 61_000);
    expect(await windows(shard)).toHaveLength(21 - RATE_SWEEP_PER_CALL + 1);
    while ((await windows(shard)).some((w) => w.key.startsWith("old-"))) await shard.rateLimitConsumeFor("other", { window: 60, max: 100 }, t0 + 61_000);
    expect(await windows(shard)).toEqual([
      { key: "live", count: 2 },
      { key: "other", count: expect.any(Number) },
    ]);
    // "live" kept its count: one more is allowed, the next is refused.
    expect((await shard.rateLimitConsumeFor("live", rule, t0 + 62_000)).allowed).toBe(true);
    expect((await shard.rateLimitConsumeFor("live", rule, t0 + 62_000)).allowed).toBe(false);
  });

  it("consumeRateLimit: scopes are apart, and a refused key is answered without reaching its shard again", async () => {
    const scope = unique("scope").replaceAll(":", "");
    const key = "2001:db8:aa::/64";
    const limit = { window: 600, max: 2 };
    expect((await consumeRateLimit(env, scope, key, limit)).allowed).toBe(true);
    expect((await consumeRateLimit(env, `${scope}-other`, key, limit)).allowed).toBe(true);
    expect((await consumeRateLimit(env, scope, key, limit)).allowed).toBe(true);
    const refused = await consumeRateLimit(env, scope, key, limit);
    expect(refused).toMatchObject({ allowed: false });
    expect(refused.retryAfter).toBeGreaterThan(590);
    // A window that already ended: any call that reaches this shard deletes it first.
    const shard = await rateLimitShard(env, scope, key);
    await shard.rateLimitConsumeFor("probe", { window: 1, max: 5 }, Date.now() - 120_000);
    expect((await windows(shard)).map((w) => w.key)).toContain("probe");
    expect((await consumeRateLimit(env, scope, key, limit)).allowed).toBe(false);
    expect((await windows(shard)).map((w) => w.key)).toContain("probe");
    await shard.rateLimitConsumeFor("anything", limit);
    expect((await windows(shard)).map((w) => w.key)).not.toContain("probe");
    await expect(consumeRateLimit(env, "bad:scope", key, limit)).rejects.toThrow(/no ":"/);
  });
});
