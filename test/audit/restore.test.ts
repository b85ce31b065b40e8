import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordAudit, recordAuditRestored, verifyAuditChain, verifyAuditLog } from "../../src/audit/audit";
import { canonicalEvent, sha256Hex } from "../../src/audit/chain";
import { as } from "../support/admin";
import { auditRows, auditRowsAfter, lastAuditId, tamperWithAudit } from "../support/audit";
import { postForm } from "../support/cart";
import { request, sendJson } from "../support/http";

// A truncated tail leaves a valid, shorter chain: only the AuditLog object's memory of the last
// event it wrote (and, further back, the R2 checkpoints) shows it. Rows forged after the tail
// without the key carry plain hashes and are named by the chain itself. These tests prove that appending again does not erase that evidence, and that
// only an admin's explanation of that very loss closes the report. Storage is per file: each test
// explains the losses it causes, so the next one starts from an intact log.

/** Deletes every event after `keptId` as a database-level attacker would, then a routine append notices. */
async function loseEventsAfter(keptId: number): Promise<void> {
  await tamperWithAudit("DELETE FROM audit_events WHERE id > ?", keptId);
  await recordAudit(env, { actor: "usr_routine", action: "product.updated", subject: "prd_1" });
}

/** Appends a row with a valid hash straight to D1, after its current newest row. */
async function forgeNextRow(action: string, detail: string): Promise<void> {
  const last = (await auditRows()).at(-1)!;
  const row = { id: last.id + 1, at: new Date().toISOString(), actor: "usr_admin", ip: null, action, subject: null, detail };
  const hash = await sha256Hex(last.hash + canonicalEvent(row));
  await env.DB.prepare("INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(row.id, row.at, row.actor, row.ip, row.action, row.subject, row.detail, last.hash, hash)
    .run();
}

describe("audit log: events lost from D1 or forged into it", () => {
  it("T10 truncated tail: the next append records audit.head_mismatch, and the log stays reported broken after it", async () => {
    const first = (await recordAudit(env, { actor: "system", action: "test.kept" }))!;
    await recordAudit(env, { actor: "system", action: "test.lost" });
    const lost = (await recordAudit(env, { actor: "system", action: "test.lost" }))!;
    await tamperWithAudit("DELETE FROM audit_events WHERE id > ?", first.id);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: lost.id });

    // A routine audited action after the loss.
    const next = await recordAudit(env, { actor: "usr_routine", action: "product.updated", subject: "prd_1" });
    expect(next).not.toBeNull();
    const [marker, routine, ...rest] = await auditRowsAfter(first.id);
    expect(rest).toHaveLength(0);
    expect(marker).toMatchObject({ id: first.id + 1, actor: "system", action: "audit.head_mismatch", prev_hash: first.hash });
    expect(JSON.parse(marker!.detail)).toEqual({ expectedId: lost.id, expectedHash: lost.hash, foundId: first.id, foundHash: first.hash });
    expect(routine).toMatchObject({ id: first.id + 2, action: "product.updated", prev_hash: marker!.hash });
    // The chain itself is intact (it continues from what D1 holds) …
    expect(await verifyAuditChain(env.DB)).toMatchObject({ ok: true });
    // … and the loss is still reported, from the event that records it, after more appends too.
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: lost.id, reason: expect.stringContaining(`event ${marker!.id} records`) });
    expect(await recordAudit(env, { actor: "system", action: "test.later" })).toMatchObject({ id: first.id + 3 });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: lost.id });

    await recordAuditRestored(env, { id: "usr_test", ip: null }, "test cleanup");
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
  });

  it("T10 only an admin's audit.restored note closes the report; invalid notes and other roles change nothing", async () => {
    const admin = await as("admin");
    const support = await as("support");
    // Nothing to explain yet: refused, nothing recorded.
    const early = await sendJson("POST", "/api/admin/audit/restored", { note: "pre-emptive" }, admin);
    expect(early.status).toBe(409);
    expect(((await early.json()) as { code: string }).code).toBe("no_open_loss");

    const kept = (await recordAudit(env, { actor: "system", action: "test.kept" }))!;
    await recordAudit(env, { actor: "system", action: "test.lost" });
    await loseEventsAfter(kept.id);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: kept.id + 1 });
    const snapshot = JSON.stringify(await auditRows());

    expect((await sendJson("POST", "/api/admin/audit/restored", { note: "nothing to see" }, support)).status).toBe(403);
    for (const body of [{ note: "" }, { note: "   " }, { note: "x".repeat(501) }, { note: "ok", explains: 1 }, {}]) {
      const res = await sendJson("POST", "/api/admin/audit/restored", body, admin);
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(JSON.stringify(await auditRows())).toBe(snapshot);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false });

    const before = await lastAuditId();
    const note = "Restored D1 to 09:00 after a bad migration; lost events re-entered from Workers Logs";
    const res = await sendJson("POST", "/api/admin/audit/restored", { note }, admin);
    expect(res.status).toBe(201);
    const recorded = (await res.json()) as { id: number; hash: string };
    const [row] = await auditRowsAfter(before);
    expect(row).toMatchObject({ id: recorded.id, hash: recorded.hash, action: "audit.restored" });
    const mismatch = (await auditRows()).filter((r) => r.action === "audit.head_mismatch").at(-1)!;
    expect(JSON.parse(row!.detail)).toEqual({ note, explains: mismatch.id });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
  });

  it("T10 the staff audit page shows the loss and takes the explanation as a form (admin only)", async () => {
    const kept = (await recordAudit(env, { actor: "system", action: "test.kept" }))!;
    await recordAudit(env, { actor: "system", action: "test.lost" });
    await loseEventsAfter(kept.id);
    const admin = await as("admin");
    const support = await as("support");
    const html = await (await request("/admin/audit", { headers: admin })).text();
    expect(html).toContain('data-chain="broken"');
    expect(html).toContain('action="/admin/audit/restored"');

    const before = await lastAuditId();
    expect((await postForm("/admin/audit/restored", { note: "  " }, support.cookie!)).status).toBe(403);
    const empty = await postForm("/admin/audit/restored", { note: "  " }, admin.cookie!);
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain("1 to 500 characters");
    expect(await lastAuditId()).toBe(before);

    const done = await postForm("/admin/audit/restored", { note: "Test restore drill" }, admin.cookie!);
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/admin/audit");
    const [row] = await auditRowsAfter(before);
    expect(row).toMatchObject({ action: "audit.restored", detail: expect.stringContaining("Test restore drill") });
    const after = await (await request("/admin/audit", { headers: admin })).text();
    expect(after).toContain('data-chain="ok"');
    expect(after).not.toContain('action="/admin/audit/restored"');
  });
  it("T10 a restore behind an R2 checkpoint is reported until an admin explains it; then the lost chain's checkpoints stop counting and new ones are written", async () => {
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
    const kept = (await recordAudit(env, { actor: "system", action: "test.kept" }))!;
    await Promise.all(Array.from({ length: 120 }, (_, i) => recordAudit(env, { actor: "system", action: "test.lost", detail: { i } })));
    const lostAnchors = (await env.AUDIT_ANCHORS.list({ prefix: "anchors/" })).objects.length;
    expect(lostAnchors).toBeGreaterThanOrEqual(1);
    // A Time Travel restore to just after `kept`: the checkpoint names events D1 no longer holds.
    await tamperWithAudit("DELETE FROM audit_events WHERE id > ?", kept.id);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, code: "anchor_mismatch", reason: expect.stringContaining("truncated tail") });
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: false, code: "anchor_mismatch" });
    // The next append records the loss, which is then what is reported (the checkpoints are of the lost chain).
    await recordAudit(env, { actor: "usr_routine", action: "product.updated", subject: "prd_1" });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, code: "unexplained_loss", brokenAt: kept.id + 120 });
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: false, code: "unexplained_loss" });

    await recordAuditRestored(env, { id: "usr_test", ip: null }, "Time Travel restore after a bad migration");
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true, anchoredAt: null });
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: true });
    // The chain grows past the old checkpoints' ids; the object anchors it afresh.
    await Promise.all(Array.from({ length: 110 }, (_, i) => recordAudit(env, { actor: "system", action: "test.after-restore", detail: { i } })));
    const verdict = await verifyAuditLog(env);
    expect(verdict).toMatchObject({ ok: true });
    expect(verdict.ok && verdict.anchoredAt).toBeGreaterThan(kept.id);
    expect((await env.AUDIT_ANCHORS.list({ prefix: "anchors/" })).objects.length).toBeGreaterThan(lostAnchors);
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: true, anchoredAt: verdict.ok ? verdict.anchoredAt : -1 });
  });

  // Last in the file: a forged row stays in the chain for good (every later event links to it).
  it("T10 forged row with a valid plain hash: a row forged after the log's last event is named, and neither the next append nor a forged audit.restored hides it", async () => {
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
    const ours = (await recordAudit(env, { actor: "system", action: "test.ours" }))!;
    // An ordinary-looking event with a valid plain SHA-256 hash, inserted straight into D1 (INSERT is not refused by the triggers).
    await forgeNextRow("product.updated", "{}");
    expect(await verifyAuditChain(env.DB)).toMatchObject({ ok: false, brokenAt: ours.id + 1, code: "unkeyed_row" });
    expect(await verifyAuditLog(env)).toMatchObject({
      ok: false,
      brokenAt: ours.id + 1,
      code: "unkeyed_row",
      reason: expect.stringContaining("without the audit key"),
    });
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: false, brokenAt: ours.id + 1, code: "unkeyed_row" });

    // The next real append records the divergence instead of adopting the forged row as its own.
    expect(await recordAudit(env, { actor: "system", action: "test.next" })).toMatchObject({ id: ours.id + 3 });
    const [forged, marker, next] = await auditRowsAfter(ours.id);
    expect(forged).toMatchObject({ action: "product.updated", actor: "usr_admin", key_id: null });
    expect(marker).toMatchObject({ action: "audit.head_mismatch" });
    expect(JSON.parse(marker!.detail)).toMatchObject({ expectedId: ours.id, foundId: ours.id + 1 });
    expect(next).toMatchObject({ action: "test.next" });

    // A forged explanation naming the mismatch changes nothing: the forged row is still named.
    await forgeNextRow("audit.restored", JSON.stringify({ explains: marker!.id, note: "nothing happened" }));
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: ours.id + 1, code: "unkeyed_row" });
    // Nor does a real one: the row is in the chain for good.
    await recordAuditRestored(env, { id: "usr_test", ip: null }, "forged rows found and reported");
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: ours.id + 1, code: "unkeyed_row" });
  });
});
