import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RATE_SHARDS, RATE_SWEEP_EVERY, rateLimitShard, type LoginGuard } from "../../src/accounts/login-guard";
import { unique } from "../support/factories";

const rule = { window: 60, max: 3 };

describe("sharded fixed-window rate limits (decision 010)", () => {
  it("counts each key apart inside a shard, refuses past the limit with Retry-After, and starts again after the window", async () => {
    const shard = rateLimitShard(env, unique("scope"), "k");
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

  it("a key always lands in the same shard; keys spread over all shards", () => {
    const scope = unique("spread");
    const names = new Set<string>();
    for (let i = 0; i < 2000; i++) names.add(rateLimitShard(env, scope, `2001:db8:${i.toString(16)}::/64`).id.toString());
    expect(names.size).toBe(RATE_SHARDS);
    expect(rateLimitShard(env, scope, "x").id.toString()).toBe(rateLimitShard(env, scope, "x").id.toString());
  });

  it("sweeps out ended windows, so a shard keeps only keys active in the last window", async () => {
    const shard = rateLimitShard(env, unique("sweep"), "k");
    const t0 = 20_000_000;
    for (let i = 0; i < RATE_SWEEP_EVERY - 1; i++) await shard.rateLimitConsumeFor(`old-${i}`, rule, t0);
    await shard.rateLimitConsumeFor("recent", rule, t0 + 59_000);
    const keys = () => runInDurableObject(shard, (_: LoginGuard, state) => [...state.storage.kv.list({ prefix: "for:" })].map(([k]) => k));
    expect((await keys()).length).toBe(RATE_SWEEP_EVERY);
    // The next sweep (call RATE_SWEEP_EVERY after the last) drops the ended windows only.
    for (let i = 0; i < RATE_SWEEP_EVERY; i++) await shard.rateLimitConsumeFor("recent", { window: 60, max: 10_000 }, t0 + 61_000);
    expect(await keys()).toEqual(["for:recent"]);
  });
});
