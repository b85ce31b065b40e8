import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { listAuditEventsAbout, recordAudit, verifyAuditChain, verifyAuditLog } from "../../src/audit/audit";
import { canonicalEvent, canonicalJson, GENESIS_HASH, sha256Hex, signEvent, verifyAuditRows } from "../../src/audit/chain";
import { auditKeys } from "../../src/audit/keys";
import { unique } from "../support/factories";
import { auditRows, auditRowsAfter, lastAuditId, tamperWithAudit } from "../support/audit";

describe("audit log: hash chain", () => {
  it("appends events with sequential ids, ISO times, the key id and hash = HMAC-SHA-256(key, prevHash + canonical event)", async () => {
    const before = await lastAuditId();
    const subject = unique("prd");
    const a = await recordAudit(env, { actor: "usr_1", action: "product.updated", subject, detail: { b: 2, a: 1 }, ip: "203.0.113.9" });
    const b = await recordAudit(env, { actor: "system", action: "product.created", subject });
    expect(a?.id).toBe(before + 1);
    expect(b?.id).toBe(before + 2);
    const [first, second] = await auditRowsAfter(before);
    expect(first).toMatchObject({ actor: "usr_1", action: "product.updated", subject, ip: "203.0.113.9", detail: '{"a":1,"b":2}' });
    expect(new Date(first!.at).toISOString()).toBe(first!.at);
    const expectedCanonical = canonicalJson([first!.id, first!.at, "usr_1", "203.0.113.9", "product.updated", subject, { a: 1, b: 2 }]);
    expect(canonicalEvent(first!)).toBe(expectedCanonical);
    const keys = await auditKeys(env);
    expect(first!.key_id).toBe(keys.current.id);
    expect(first!.key_id).toMatch(/^[0-9a-f]{16}$/);
    expect(first!.hash).toBe(await signEvent(keys.current.key, first!.prev_hash, first!));
    // Not the plain hash: without the key, nobody can compute it.
    expect(first!.hash).not.toBe(await sha256Hex(first!.prev_hash + expectedCanonical));
    expect(second!.prev_hash).toBe(first!.hash);
    expect(second).toMatchObject({ ip: null, detail: "{}" });
    const verdict = await verifyAuditChain(env.DB);
    expect(verdict).toMatchObject({ ok: true, count: before + 2 });
  });

  it("starts the chain from the genesis hash", async () => {
    await recordAudit(env, { actor: "system", action: "test.genesis" });
    const [first] = await auditRows();
    expect(first!.id).toBe(1);
    expect(first!.prev_hash).toBe(GENESIS_HASH);
  });

  it("never forks under concurrent writers: 25 parallel appends make one linear chain", async () => {
    const before = await lastAuditId();
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => recordAudit(env, { actor: "system", action: "test.parallel", detail: { i } })));
    expect(results.every((r) => r !== null)).toBe(true);
    expect(new Set(results.map((r) => r!.id)).size).toBe(25);
    const rows = await auditRowsAfter(before);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 25 }, (_, i) => before + i + 1));
    expect(await verifyAuditChain(env.DB)).toMatchObject({ ok: true });
  });

  it("drops secret-named keys at any depth and keeps the rest", async () => {
    const before = await lastAuditId();
    await recordAudit(env, {
      actor: "usr_2",
      action: "auth.password.changed",
      detail: {
        password: "hunter2hunter2hunter2",
        newPassword: "x",
        apiKey: "sk_live_abc",
        nested: { accessToken: "t", Authorization: "Bearer z", cardNumber: "4242424242424242", cvc: "123", keep: "yes" },
        list: [{ client_secret: "cs_secret", ok: 1 }],
        email: "a@example.com",
      },
    });
    const [row] = await auditRowsAfter(before);
    expect(JSON.parse(row!.detail)).toEqual({ email: "a@example.com", list: [{ ok: 1 }], nested: { keep: "yes" } });
    for (const secret of ["hunter2", "sk_live", "Bearer", "4242", "cs_secret"]) expect(row!.detail).not.toContain(secret);
  });

  it("an unreachable audit log does not fail the caller: recordAudit returns null and logs audit_write_failed loudly, without secrets", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const broken = { ...env, AUDIT_LOG: { getByName: () => ({ append: () => Promise.reject(new Error("object unreachable")) }) } } as unknown as Env;
    try {
      const result = await recordAudit(broken, {
        actor: "usr_9",
        action: "refund.issued",
        subject: "ord_1",
        detail: { token: "tok_secret_value", amount: 500 },
      });
      expect(result).toBeNull();
      expect(errors).toHaveBeenCalledTimes(1);
      const line = JSON.parse(String(errors.mock.calls[0]![0])) as { level: string; msg: string; event: { action: string; detail: unknown } };
      expect(line).toMatchObject({ level: "error", msg: "audit_write_failed", event: { action: "refund.issued", detail: { amount: 500 } } });
      expect(String(errors.mock.calls[0]![0])).not.toContain("tok_secret_value");
    } finally {
      errors.mockRestore();
    }
  });

  it("lists the events about one person (as actor or subject) for their data download, and no one else's", async () => {
    const me = unique("usr");
    await recordAudit(env, { actor: me, action: "auth.sign_in.succeeded" });
    await recordAudit(env, {
      actor: "usr_admin",
      action: "user.role_changed",
      subject: me,
      detail: { changes: { role: { from: "customer", to: "support" } } },
    });
    await recordAudit(env, { actor: unique("usr"), action: "auth.sign_in.succeeded" });
    const mine = await listAuditEventsAbout(env.DB, me);
    expect(mine.map((e) => e.action)).toEqual(["auth.sign_in.succeeded", "user.role_changed"]);
    expect(mine[1]!.detail).toEqual({ changes: { role: { from: "customer", to: "support" } } });
  });

  it("caps field lengths", async () => {
    const before = await lastAuditId();
    await recordAudit(env, { actor: "a".repeat(1000), action: "b".repeat(1000), subject: "c".repeat(5000), detail: { note: "d".repeat(10_000) } });
    const [row] = await auditRowsAfter(before);
    expect(row!.actor.length).toBeLessThanOrEqual(128);
    expect(row!.action.length).toBeLessThanOrEqual(64);
    expect(row!.subject!.length).toBeLessThanOrEqual(256);
    expect((JSON.parse(row!.detail) as { note: string }).note.length).toBeLessThanOrEqual(512);
  });

  it("T10 forged audit line: newlines and JSON fragments in a name or email stay inside one field", async () => {
    const before = await lastAuditId();
    const forgedName = 'Lamp"}\n{"id":999,"actor":"admin","action":"user.role_changed","detail":{"role":"admin"}}\r\n\u2028';
    const forgedEmail = "eve@example.com\nactor=admin action=refund\u0000";
    await recordAudit(env, { actor: forgedEmail, action: "product.updated\nuser.role_changed", subject: forgedName, detail: { name: forgedName } });
    const rows = await auditRowsAfter(before);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    for (const field of [row!.actor, row!.action, row!.subject!, row!.detail]) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the test proves no control character was stored
      expect(field).not.toMatch(/[\u0000-\u001f\u2028\u2029]/);
    }
    expect(row!.actor).toBe("eve@example.com\\u000aactor=admin action=refund\\u0000");
    expect((JSON.parse(row!.detail) as { name: string }).name).toBe(row!.subject);
    expect(await verifyAuditChain(env.DB)).toMatchObject({ ok: true });
  });

  it("T10/M-009 D1 refuses UPDATE and DELETE of audit events (append-only triggers)", async () => {
    await recordAudit(env, { actor: "system", action: "test.immutable" });
    const id = await lastAuditId();
    const snapshot = JSON.stringify(await auditRows());
    await expect(env.DB.prepare("UPDATE audit_events SET actor = 'x' WHERE id = ?").bind(id).run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM audit_events WHERE id = ?").bind(id).run()).rejects.toThrow(/append-only/);
    expect(JSON.stringify(await auditRows())).toBe(snapshot);
  });

  it("T10 detects deletion of the newest events, which leaves a valid shorter chain, through the object's head", async () => {
    await recordAudit(env, { actor: "system", action: "test.truncate" });
    await recordAudit(env, { actor: "system", action: "test.truncate" });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
    const last = await lastAuditId();
    const [row] = await auditRowsAfter(last - 1);
    await tamperWithAudit("DELETE FROM audit_events WHERE id = ?", last);
    expect(await verifyAuditChain(env.DB)).toMatchObject({ ok: true });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: false, brokenAt: last });
    // Put the row back exactly, so the following tests start from an intact log.
    await env.DB.prepare("INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(row!.id, row!.at, row!.actor, row!.ip, row!.action, row!.subject, row!.detail, row!.prev_hash, row!.hash, row!.key_id)
      .run();
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
  });

  it("T10 detects an edited, a deleted and a re-hashed event", async () => {
    for (let i = 0; i < 4; i++) await recordAudit(env, { actor: "system", action: "test.tamper", detail: { i } });
    const last = await lastAuditId();
    const keys = await auditKeys(env);
    expect((await verifyAuditChain(env.DB, keys)).ok).toBe(true);

    const pristine = await auditRows();
    // Edited detail, hash left alone.
    const edited = pristine.map((r) => (r.id === last - 2 ? { ...r, detail: '{"i":99}' } : r));
    expect(await verifyAuditRows(edited, undefined, keys)).toMatchObject({
      ok: false,
      brokenAt: last - 2,
      code: "forged_row",
      reason: expect.stringContaining("hash"),
    });
    // Deleted row: a gap.
    const deleted = pristine.filter((r) => r.id !== last - 1);
    expect(await verifyAuditRows(deleted, undefined, keys)).toMatchObject({ ok: false, brokenAt: last, code: "gap" });
    // Edited and re-hashed with plain SHA-256 (the key id kept): the HMAC does not match.
    const target = pristine.find((r) => r.id === last - 1)!;
    const forged = { ...target, actor: "attacker" };
    forged.hash = await sha256Hex(forged.prev_hash + canonicalEvent(forged)!);
    const rehashed = pristine.map((r) => (r.id === forged.id ? forged : r));
    expect(await verifyAuditRows(rehashed, undefined, keys)).toMatchObject({ ok: false, brokenAt: last - 1, code: "forged_row" });
    // Re-signed under a key of the attacker's own: a key id the verifier does not hold.
    const theirs = await (await import("../../src/audit/chain")).importAuditKeys("an-attackers-own-key-0123456789abcdef");
    const resigned = { ...forged, key_id: theirs.current.id, hash: (await signEvent(theirs.current.key, forged.prev_hash, forged))! };
    expect(
      await verifyAuditRows(
        pristine.map((r) => (r.id === forged.id ? resigned : r)),
        undefined,
        keys,
      ),
    ).toMatchObject({ ok: false, brokenAt: last - 1, code: "wrong_key" });

    // And in D1 itself, with the triggers lifted as a database-level attacker would.
    await tamperWithAudit("UPDATE audit_events SET subject = 'ord_fake' WHERE id = ?", last - 3);
    expect(await verifyAuditChain(env.DB, keys)).toMatchObject({ ok: false, brokenAt: last - 3, code: "forged_row" });
  });
});
