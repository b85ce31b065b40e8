import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { auditLogStub, auditReadiness, recordAudit, verifyAuditChain, verifyAuditLog } from "../../src/audit/audit";
import type { AuditLog } from "../../src/audit/audit-log";
import { anchorKey, importAuditKeys, type AuditAnchor } from "../../src/audit/chain";
import { auditKeys } from "../../src/audit/keys";
import { auditRows, auditRowsAfter, lastAuditId, tamperWithAudit } from "../support/audit";

// Signed checkpoints in R2 (AUDIT_ANCHORS) and what they catch. Storage is per file: the tests run
// in order, each puts back what it tampered with, and the truncation that cannot be undone is last.

async function appendMany(n: number, action = "test.bulk"): Promise<void> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => recordAudit(env, { actor: "system", action, detail: { i } })));
  expect(results.every((r) => r !== null)).toBe(true);
}

async function anchorsInR2(): Promise<AuditAnchor[]> {
  const listed = await env.AUDIT_ANCHORS.list({ prefix: "anchors/" });
  return Promise.all(listed.objects.map(async (o) => (await (await env.AUDIT_ANCHORS.get(o.key))!.json()) as AuditAnchor));
}

/** Rewrites the AuditLog object's storage as an operator with account access would, then restarts it (drops its memory). */
async function rewriteObject(edit: (storage: DurableObjectStorage) => Promise<void>): Promise<void> {
  await runInDurableObject(auditLogStub(env), async (instance: AuditLog, state) => {
    await edit(state.storage);
    (instance as unknown as { state?: unknown }).state = undefined;
  });
}

describe("audit log: checkpoints in R2", () => {
  it("T10 group commit: 150 concurrent appends go out in a few D1 batches, as one linear chain, and a signed checkpoint lands in R2", async () => {
    const before = await lastAuditId();
    const batches: number[] = [];
    await runInDurableObject(auditLogStub(env), (instance: AuditLog) => {
      const db = (instance as unknown as { env: Env }).env.DB;
      const batch = db.batch.bind(db);
      db.batch = (async (statements: D1PreparedStatement[]) => {
        batches.push(statements.length);
        return batch(statements);
      }) as typeof db.batch;
    });
    await appendMany(150);
    const rows = await auditRowsAfter(before);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 150 }, (_, i) => before + i + 1));
    // Appends that arrived while a write was in flight went out together.
    expect(batches.length).toBeLessThan(40);
    expect(Math.max(...batches)).toBeGreaterThan(1);

    const anchors = await anchorsInR2();
    expect(anchors.length).toBeGreaterThanOrEqual(1);
    const [first] = anchors;
    expect(first!.seq).toBeGreaterThanOrEqual(100);
    expect(first).toMatchObject({ v: 1, count: first!.seq, kid: (await auditKeys(env)).current.id });
    expect(first!.hash).toBe(rows.find((r) => r.id === first!.seq)!.hash);
    expect(await (await env.AUDIT_ANCHORS.get("latest.json"))!.json()).toEqual(anchors.at(-1));

    const verdict = await verifyAuditLog(env);
    expect(verdict).toMatchObject({ ok: true, count: before + 150, anchoredAt: anchors.at(-1)!.seq });
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: true, anchoredAt: anchors.at(-1)!.seq });
    expect(await auditReadiness(env)).toEqual({ ok: true, events: before + 150, anchoredAt: anchors.at(-1)!.seq });
  });

  it("T10 deleted middle row: the checkpoint check names the gap from the count, the full check names the event", async () => {
    const target = 40;
    const [row] = (await auditRows()).filter((r) => r.id === target);
    await tamperWithAudit("DELETE FROM audit_events WHERE id = ?", target);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, code: "gap", reason: expect.stringContaining("1 are missing") });
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: false, code: "gap", brokenAt: target + 1 });
    expect(await auditReadiness(env)).toMatchObject({ ok: false, code: "gap" });
    await env.DB.prepare("INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(row!.id, row!.at, row!.actor, row!.ip, row!.action, row!.subject, row!.detail, row!.prev_hash, row!.hash, row!.key_id)
      .run();
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: true });
  });

  it("T10 wrong key: a verifier holding another key names the key id instead of calling the events forged", async () => {
    const other = { ...env, AUDIT_HMAC_KEY: "another-audit-key-that-is-not-ours-0123456789" } as Env;
    const verdict = await verifyAuditLog(other, { from: "genesis" });
    expect(verdict).toMatchObject({ ok: false, code: "wrong_key", reason: expect.stringContaining("wrong key") });
    expect(await verifyAuditChain(env.DB, await importAuditKeys("another-audit-key-that-is-not-ours-0123456789"))).toMatchObject({
      ok: false,
      code: "wrong_key",
      brokenAt: 1,
    });
    // Rotation: the old key as AUDIT_HMAC_KEY_PREVIOUS verifies every event it signed.
    const rotated = { ...other, AUDIT_HMAC_KEY_PREVIOUS: (await import("../../src/audit/keys")).auditSecrets(env).current } as Env;
    expect(await verifyAuditChain(env.DB, await auditKeys(rotated))).toMatchObject({ ok: true });
  });

  it("T10 stale anchor: latest.json rolled back, checkpoints removed, or one edited, is named", async () => {
    await appendMany(120);
    const anchors = await anchorsInR2();
    expect(anchors.length).toBeGreaterThanOrEqual(2);
    const latest = await (await env.AUDIT_ANCHORS.get("latest.json"))!.text();
    // latest.json put back to an older checkpoint.
    await env.AUDIT_ANCHORS.put("latest.json", JSON.stringify(anchors[0]));
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, code: "stale_anchor", reason: expect.stringContaining("rolled back") });
    // Newer checkpoints deleted too: more events than allowed follow the newest one left.
    const removed = anchors.slice(1);
    for (const a of removed) await env.AUDIT_ANCHORS.delete(anchorKey(a.seq));
    await appendMany(anchors[0]!.seq + 205 - (await lastAuditId()));
    // The object writes new checkpoints as it goes; take them away as well.
    const written = (await anchorsInR2()).filter((a) => a.seq > anchors[0]!.seq);
    for (const a of written) await env.AUDIT_ANCHORS.delete(anchorKey(a.seq));
    await env.AUDIT_ANCHORS.put("latest.json", JSON.stringify(anchors[0]));
    expect(await verifyAuditLog(env)).toMatchObject({
      ok: false,
      code: "stale_anchor",
      brokenAt: anchors[0]!.seq + 1,
      reason: expect.stringContaining("checkpoints were removed or stopped"),
    });
    // A checkpoint edited without the key.
    await env.AUDIT_ANCHORS.put(anchorKey(anchors[0]!.seq), JSON.stringify({ ...anchors[0], hash: "f".repeat(64) }));
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: false, code: "anchor_forged", reason: expect.stringContaining("signature") });

    // Put them back; the next checkpoint the object writes covers the rest.
    await env.AUDIT_ANCHORS.put(anchorKey(anchors[0]!.seq), JSON.stringify(anchors[0]));
    for (const a of [...removed, ...written]) await env.AUDIT_ANCHORS.put(anchorKey(a.seq), JSON.stringify(a));
    await env.AUDIT_ANCHORS.put("latest.json", written.length > 0 ? JSON.stringify(written.at(-1)) : latest);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
  });

  it("T10 truncated tail with the object storage rewritten: D1 and the object agree, the R2 checkpoint does not", async () => {
    const anchors = await anchorsInR2();
    const newest = anchors.at(-1)!;
    const keep = newest.seq - 30;
    const [kept] = (await auditRows()).filter((r) => r.id === keep);
    await tamperWithAudit("DELETE FROM audit_events WHERE id > ?", keep);
    await rewriteObject(async (storage) => {
      await storage.put({ head: { id: kept!.id, hash: kept!.hash }, inflight: [], anchor: { seq: kept!.id, hash: kept!.hash, at: kept!.at } });
    });
    expect(await verifyAuditLog(env)).toMatchObject({
      ok: false,
      code: "anchor_mismatch",
      brokenAt: keep + 1,
      reason: expect.stringContaining("truncated tail"),
    });
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({
      ok: false,
      code: "anchor_mismatch",
      reason: expect.stringContaining("truncated tail"),
    });
    // Appending again does not paper over it: the chain grows back past the checkpoint with other hashes.
    await appendMany(40);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, code: "anchor_mismatch", brokenAt: newest.seq, reason: expect.stringContaining("rewritten") });
    expect(await auditReadiness(env)).toMatchObject({ ok: false, code: "anchor_mismatch" });
  });
});
