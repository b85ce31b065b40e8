import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordAudit, verifyAuditChain, verifyAuditLog } from "../../src/audit/audit";
import { canonicalEvent, sha256Hex } from "../../src/audit/chain";
import { as } from "../support/admin";
import { auditRows, auditRowsAfter, lastAuditId, tamperWithAudit } from "../support/audit";
import { postForm } from "../support/cart";
import { request, sendJson } from "../support/http";

// A truncated tail leaves a valid, shorter chain: only the AuditLog object's memory of the last
// event it wrote shows it. These tests prove that appending again does not erase that evidence.
describe("audit log: events lost from D1 (truncation, Time Travel restore)", () => {
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
    // … and the loss is still reported, now from the event that records it.
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: lost.id, reason: expect.stringContaining(`event ${marker!.id} records`) });
    const afterMore = await recordAudit(env, { actor: "system", action: "test.later" });
    expect(afterMore).toMatchObject({ id: first.id + 3 });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: lost.id });
  });

  it("T10 only an admin's audit.restored note closes the report; invalid notes and other roles change nothing", async () => {
    // Its own loss: an event deleted from D1, then a routine append.
    const kept = (await recordAudit(env, { actor: "system", action: "test.kept" }))!;
    await recordAudit(env, { actor: "system", action: "test.lost" });
    await tamperWithAudit("DELETE FROM audit_events WHERE id > ?", kept.id);
    await recordAudit(env, { actor: "system", action: "test.routine" });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: kept.id + 1 });
    const snapshot = JSON.stringify(await auditRows());
    const support = await as("support");
    const admin = await as("admin");
    const supportTry = await sendJson("POST", "/api/admin/audit/restored", { note: "nothing to see" }, support);
    expect(supportTry.status).toBe(403);
    for (const body of [{ note: "" }, { note: "   " }, { note: "x".repeat(501) }, { note: "ok", explains: 1 }, {}]) {
      const res = await sendJson("POST", "/api/admin/audit/restored", body, admin);
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    // Signing in as support and admin wrote their own sign-in events; nothing else was added.
    const rowsNow = await auditRows();
    expect(rowsNow.filter((r) => r.action === "audit.restored")).toHaveLength(0);
    expect(JSON.stringify(rowsNow.slice(0, JSON.parse(snapshot).length))).toBe(snapshot);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false });

    const before = await lastAuditId();
    const res = await sendJson("POST", "/api/admin/audit/restored", { note: "Restored D1 to 09:00 after a bad migration; lost events re-entered from Workers Logs" }, admin);
    expect(res.status).toBe(201);
    const recorded = (await res.json()) as { id: number; hash: string };
    const [row] = await auditRowsAfter(before);
    expect(row).toMatchObject({ id: recorded.id, hash: recorded.hash, action: "audit.restored" });
    const mismatch = (await auditRows()).filter((r) => r.action === "audit.head_mismatch").at(-1)!;
    expect(JSON.parse(row!.detail)).toEqual({ note: "Restored D1 to 09:00 after a bad migration; lost events re-entered from Workers Logs", explains: mismatch.id });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
  });

  it("T10 the staff audit page shows the loss and takes the explanation as a form (admin only)", async () => {
    const kept = (await recordAudit(env, { actor: "system", action: "test.kept" }))!;
    await recordAudit(env, { actor: "system", action: "test.lost" });
    await tamperWithAudit("DELETE FROM audit_events WHERE id > ?", kept.id);
    await recordAudit(env, { actor: "system", action: "test.routine" });
    const admin = await as("admin");
    const support = await as("support");
    const page = await request("/admin/audit", { headers: admin });
    const html = await page.text();
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

  it("T10 a row another writer appended after the object's last event is not a loss: no audit.head_mismatch", async () => {
    const ours = (await recordAudit(env, { actor: "system", action: "test.ours" }))!;
    const snapshotIds = (await auditRows()).map((r) => r.id);
    // Our own write whose answer was lost looks the same to the object: D1 is one event ahead.
    const rows = await auditRowsAfter(ours.id - 1);
    expect(rows).toHaveLength(1);
    const foreign = { id: ours.id + 1, at: new Date().toISOString(), actor: "system", ip: null, action: "test.foreign", subject: null, detail: "{}" };
    const hash = await sha256Hex(ours.hash + canonicalEvent(foreign));
    await env.DB.prepare("INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(foreign.id, foreign.at, foreign.actor, foreign.ip, foreign.action, foreign.subject, foreign.detail, ours.hash, hash)
      .run();
    const next = await recordAudit(env, { actor: "system", action: "test.next" });
    expect(next).toMatchObject({ id: ours.id + 2 });
    const after = (await auditRows()).filter((r) => !snapshotIds.includes(r.id));
    expect(after.map((r) => r.action)).toEqual(["test.foreign", "test.next"]);
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
  });
});
