import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { auditLogStub, recordAudit, requireAudit, verifyAuditLog } from "../../src/audit/audit";
import { ProblemError } from "../../src/platform/problem";
import { auditRows, auditRowsAfter, lastAuditId } from "../support/audit";

// No silent misses: D1 that drops inserts (a trigger with RAISE(IGNORE), added by an operator with
// full database access) is noticed, deferrable events wait in the object's durable outbox until D1
// takes them, and security-relevant events fail closed.

const DROP_REFUNDS = "CREATE TRIGGER audit_events_drop BEFORE INSERT ON audit_events WHEN NEW.action = 'refund.issued' BEGIN SELECT RAISE(IGNORE); END";

function errorLines(spy: { mock: { calls: unknown[][] } }): { msg: string; [k: string]: unknown }[] {
  return spy.mock.calls.map((c) => JSON.parse(String(c[0])) as { msg: string });
}

describe("audit log: appends D1 does not take", () => {
  it("requireAudit returns the stored event, and fails closed with 503 audit_unavailable when the log is unreachable", async () => {
    const before = await lastAuditId();
    expect(await requireAudit(env, { actor: "usr_admin", action: "user.role_changed", subject: "usr_x" })).toMatchObject({ id: before + 1 });
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const broken = { ...env, AUDIT_LOG: { getByName: () => ({ append: () => Promise.reject(new Error("object unreachable")) }) } } as unknown as Env;
    try {
      const failure = await requireAudit(broken, {
        actor: "usr_admin",
        action: "refund.issued",
        subject: "ord_1",
        detail: { token: "tok_secret_value" },
      }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ProblemError);
      expect(failure).toMatchObject({ status: 503, code: "audit_unavailable" });
      expect(errorLines(errors)[0]).toMatchObject({ level: "error", msg: "audit_required_write_failed" });
      expect(String(errors.mock.calls[0]![0])).not.toContain("tok_secret_value");
    } finally {
      errors.mockRestore();
    }
    expect(await lastAuditId()).toBe(before + 1);
  });

  it("T10 a trigger that drops events (RAISE(IGNORE)) is named by verification; deferrable events wait in the outbox, required ones fail closed, and nothing is lost once D1 takes them", async () => {
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
    const before = await lastAuditId();
    await env.DB.prepare(DROP_REFUNDS).run();
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      // The refund's event is dropped by D1 without an error: the caller is not failed (recordAudit never throws) …
      expect(await recordAudit(env, { actor: "stripe", action: "refund.issued", subject: "ord_9", detail: { amount: 500 } })).toBeNull();
      // Two alert lines: the object's (what D1 did) and the caller's (the event, safe in the outbox).
      expect(
        errorLines(errors)
          .map((l) => l.msg)
          .sort(),
      ).toEqual(["audit_append_deferred", "audit_write_deferred"]);
      expect(await lastAuditId()).toBe(before);
      // … but the object noticed, and verification names it.
      const verdict = await verifyAuditLog(env);
      expect(verdict).toMatchObject({ ok: false, code: "events_refused", brokenAt: before + 1 });
      expect(!verdict.ok && verdict.reason).toContain("dropped 1 insert(s) without an error");
      expect(!verdict.ok && verdict.reason).toContain("refund.issued");
      // Later events queue behind it, in order; a role change cannot go ahead without its row.
      expect(await recordAudit(env, { actor: "usr_admin", action: "product.updated", subject: "prd_1" })).toBeNull();
      await expect(requireAudit(env, { actor: "usr_admin", action: "user.role_changed", subject: "usr_y" })).rejects.toMatchObject({
        status: 503,
        code: "audit_unavailable",
      });
      expect(await lastAuditId()).toBe(before);
      const tail = await auditLogStub(env).chainTail();
      expect(tail.outbox.map((o) => o.action)).toEqual(["refund.issued", "product.updated"]);
    } finally {
      errors.mockRestore();
    }

    // The trigger is found and removed; the object's alarm retries the outbox.
    await env.DB.prepare("DROP TRIGGER audit_events_drop").run();
    expect(await runDurableObjectAlarm(auditLogStub(env))).toBe(true);
    // The alarm records the incident once D1 takes writes again.
    await recordAudit(env, { actor: "system", action: "test.after" });
    const rows = await auditRowsAfter(before);
    expect(rows.map((r) => r.action)).toEqual(["refund.issued", "product.updated", "audit.appends_refused", "test.after"]);
    expect(JSON.parse(rows[0]!.detail)).toEqual({ amount: 500 });
    expect(JSON.parse(rows[2]!.detail)).toMatchObject({ count: expect.any(Number), firstId: before + 1, action: "refund.issued" });
    expect((await auditRows()).some((r) => r.action === "user.role_changed" && r.subject === "usr_y")).toBe(false);
    expect(await auditLogStub(env).chainTail()).toMatchObject({ outbox: [], refused: null });
    expect(await verifyAuditLog(env)).toMatchObject({ ok: true });
  });

  it("verification while appends are in flight does not report them as refused", async () => {
    const burst = Promise.all(Array.from({ length: 60 }, (_, i) => recordAudit(env, { actor: "system", action: "test.inflight", detail: { i } })));
    const verdicts = await Promise.all([verifyAuditLog(env), verifyAuditLog(env)]);
    expect((await burst).every((r) => r !== null)).toBe(true);
    for (const verdict of verdicts) expect(verdict).toMatchObject({ ok: true });
  });

  it("T10 no event is lost when the load stops mid-batch: every append of a burst is answered and in D1, in order", async () => {
    const before = await lastAuditId();
    const burst = Promise.all(Array.from({ length: 90 }, (_, i) => recordAudit(env, { actor: "system", action: "test.burst", detail: { i } })));
    // The writers stop while batches are in flight; the object finishes what it accepted.
    const results = await burst;
    expect(results.every((r) => r !== null)).toBe(true);
    const rows = await auditRowsAfter(before);
    expect(rows).toHaveLength(90);
    expect(rows.map((r) => r.id)).toEqual(results.map((r) => r!.id).sort((a, b) => a - b));
    expect(new Set(rows.map((r) => (JSON.parse(r.detail) as { i: number }).i)).size).toBe(90);
    expect(await verifyAuditLog(env, { from: "genesis" })).toMatchObject({ ok: true });
  });
});
