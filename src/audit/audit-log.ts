import { DurableObject } from "cloudflare:workers";
import { HEAD_MISMATCH_ACTION, type AuditKeyRing } from "./chain";
import { auditKeys } from "./keys";
import {
  ANCHOR_EVERY,
  ANCHOR_MINUTES,
  insertStatement,
  MAX_BATCH,
  REFUSED_ACTION,
  RETRY_SECONDS,
  toRows,
  writeAnchor,
  type ChainRow,
  type Item,
} from "./log-state";
import { dropFromOutbox, enqueueInOutbox, loadLogState, markOutboxFailed, tallyRefusedInsert } from "./outbox";
import type { AppendedEvent, AppendMode, AppendResult, AuditInput, ChainTail, LogState } from "./types";

type ChainHead = AppendedEvent | null;

function sameEvent(a: ChainHead, b: ChainHead): boolean {
  return a !== null && b !== null && a.id === b.id && a.hash === b.hash;
}

/**
 * The one writer of the keyed audit chain (T10, M-009; decision 006). Appends that arrive while a
 * D1 write is in flight wait in `waiting` and go out together as one D1 batch (group commit), so
 * throughput grows with load. Each row is inserted only while D1's newest row is the one before
 * it, so nothing else can interleave, and the object knows exactly which ids it assigned:
 * - rows of its own write whose answer was lost (`inflight`) are recognised and confirmed;
 * - D1 ending anywhere else (deleted or replaced events, a restore, a row written by anyone but
 *   this object) is recorded as `audit.head_mismatch` and reported until an admin explains it;
 * - an insert D1 drops without an error (a trigger with RAISE(IGNORE)) is noticed because D1 still
 *   ends at the object's head: deferrable events wait in the outbox (durable storage) and are
 *   retried by an alarm, required ones fail their caller, and an alert line is logged.
 * Every ANCHOR_EVERY events, or ANCHOR_MINUTES after an unanchored event, the object writes a
 * signed checkpoint to R2 (AUDIT_ANCHORS).
 */
export class AuditLog extends DurableObject<Env> {
  private waiting: Item[] = [];
  private draining = false;
  private lock: Promise<unknown> = Promise.resolve();
  private state: LogState | undefined;
  private alarmAt: number | null | undefined;

  /** Appends one event; resolves once D1 holds it, the outbox holds it, or it was refused. */
  append(event: AuditInput, mode: AppendMode = "deferrable"): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve) => {
      this.waiting.push({ event, at: new Date().toISOString(), mode, resolve });
      if (!this.draining) {
        this.draining = true;
        void this.serial(() => this.drain());
      }
    });
  }

  /** The object's record of its writes (not `tail`: that name is the Tail Worker handler). */
  async chainTail(): Promise<ChainTail> {
    const s = await this.load();
    return {
      head: s.head,
      pending: s.inflight.at(-1) ?? null,
      // Events whose first write is still in flight are not missing yet.
      outbox: s.outbox.filter((o) => o.failedAt).map((o) => ({ action: o.event.action, at: o.at })),
      refused: s.refused,
      anchor: s.anchor,
    };
  }

  /** Retries the outbox and writes a checkpoint when one is due. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    await this.serial(async () => {
      await this.commit([]);
      const s = await this.load();
      if (s.head && (s.anchor?.seq ?? 0) < s.head.id) await this.anchor(s, await auditKeys(this.env));
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          await this.commit(batch);
        } catch (error) {
          for (const item of batch) item.resolve?.({ written: false, queued: false, reason: String(error) });
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async load(): Promise<LogState> {
    if (this.state) return this.state;
    this.state = await loadLogState(this.ctx.storage);
    if (this.state.outbox.length > 0) await this.wakeIn(RETRY_SECONDS);
    return this.state;
  }

  /** Writes `fresh` after the outbox, as few D1 batches as possible; every item's caller is answered. */
  private async commit(fresh: Item[]): Promise<void> {
    const s = await this.load();
    const keys = await auditKeys(this.env);
    if (s.inflight.length > 0 && !(await this.reconcileInflight(s))) {
      return this.defer(s, fresh, "D1 is unreachable: the outcome of the last write is unknown");
    }
    // Deferrable events are durable before D1 is asked: the outbox holds them until D1 does.
    await enqueueInOutbox(
      this.ctx.storage,
      s,
      fresh.filter((i) => i.mode === "deferrable"),
    );
    let items: Item[] = [
      ...s.outbox.filter((o) => !fresh.some((f) => f.outboxKey === o.key)).map((o) => ({ ...o, mode: "deferrable" as const, outboxKey: o.key })),
      ...fresh,
    ];
    let problem = "";
    for (let failures = 0; items.length > 0 && failures < 4; failures++) {
      const chunk = items.slice(0, MAX_BATCH);
      const rows = await toRows(keys, s.head, chunk);
      s.inflight = rows.map((r, i) => ({ id: r.id, hash: r.hash, action: r.action, mode: chunk[i]!.mode, outboxKey: chunk[i]!.outboxKey ?? null }));
      await this.ctx.storage.put("inflight", s.inflight);
      let written = 0;
      let threw = false;
      try {
        const statements = rows.map((row, i) => insertStatement(this.env.DB, row, i === 0 ? (s.head?.hash ?? null) : rows[i - 1]!.hash));
        // One row (no load): a plain statement; D1's batch costs a transaction around it.
        const results = statements.length === 1 ? [await statements[0]!.run()] : await this.env.DB.batch(statements);
        while (written < rows.length && results[written]?.meta.changes === 1) written += 1;
      } catch (error) {
        threw = true;
        problem = `D1 refused the write: ${String(error)}`;
      }
      if (written === rows.length) {
        await this.confirm(s, rows, chunk, written);
        items = items.slice(written);
        failures -= 1; // progress, not a failure
        continue;
      }
      let newest: ChainHead;
      try {
        newest = await this.newestInD1();
      } catch (error) {
        problem = `D1 is unreachable: ${String(error)}`;
        break; // inflight stays: the next commit learns what this one wrote
      }
      const ours = rows.findIndex((r) => sameEvent(r, newest));
      if (ours >= 0) {
        await this.confirm(s, rows, chunk, ours + 1);
        items = items.slice(ours + 1);
        continue;
      }
      if (sameEvent(newest, s.head) || (newest === null && s.head === null)) {
        s.inflight = [];
        await this.ctx.storage.put("inflight", []);
        if (!threw) {
          problem = `D1 did not store event ${rows[0]!.id} (${rows[0]!.action}) and reported no error: an insert was dropped (a trigger?)`;
          await tallyRefusedInsert(this.ctx.storage, s, rows[0]!);
        }
        break;
      }
      if (s.head !== null) {
        const detail = { expectedId: s.head.id, expectedHash: s.head.hash, foundId: newest?.id ?? null, foundHash: newest?.hash ?? null };
        console.error(JSON.stringify({ level: "error", msg: "audit_chain_diverged", ...detail }));
        const marker: Item = { event: { actor: "system", action: HEAD_MISMATCH_ACTION, detail }, at: new Date().toISOString(), mode: "deferrable" };
        await enqueueInOutbox(this.ctx.storage, s, [marker], true);
        items = [marker, ...items];
      }
      // Only this object appends: from here on, the chain continues from what D1 holds. A
      // checkpoint past it describes the lost events: the next one is due from here.
      s.head = newest;
      s.inflight = [];
      if (s.anchor && s.anchor.seq > (newest?.id ?? 0)) s.anchor = null;
      await this.ctx.storage.put({ head: newest, inflight: [], anchor: s.anchor });
    }
    if (items.length > 0) return this.defer(s, items, problem || "the audit chain kept moving while appending");
    if (s.refused) await this.recordRefusals(s);
    if (s.head && s.head.id - (s.anchor?.seq ?? 0) >= ANCHOR_EVERY) await this.anchor(s, keys);
    else if (s.head && (s.anchor?.seq ?? 0) < s.head.id) await this.wakeIn(ANCHOR_MINUTES * 60);
  }

  /** After a write with no known outcome: confirms what D1 holds of it. False when D1 cannot be read. */
  private async reconcileInflight(s: LogState): Promise<boolean> {
    let newest: ChainHead;
    try {
      newest = await this.newestInD1();
    } catch {
      return false;
    }
    const ours = s.inflight.findIndex((r) => sameEvent(r, newest));
    if (ours >= 0) {
      const written = s.inflight.slice(0, ours + 1);
      for (const row of written.filter((r) => r.mode === "required")) {
        // Its caller was told the write failed and refused the action: say so in the chain.
        console.error(JSON.stringify({ level: "error", msg: "audit_refused_action_recorded", id: row.id, action: row.action }));
        await enqueueInOutbox(
          this.ctx.storage,
          s,
          [
            {
              event: { actor: "system", action: "audit.append_unconfirmed", detail: { id: row.id, action: row.action } },
              at: new Date().toISOString(),
              mode: "deferrable",
            },
          ],
          true,
        );
      }
      await dropFromOutbox(
        this.ctx.storage,
        s,
        written.map((r) => r.outboxKey),
      );
      s.head = { id: newest!.id, hash: newest!.hash };
    }
    s.inflight = [];
    await this.ctx.storage.put({ head: s.head, inflight: [] });
    return true;
  }

  /** D1 holds rows[0..n): the head moves, their outbox entries go, their callers hear so. */
  private async confirm(s: LogState, rows: ChainRow[], items: Item[], n: number): Promise<void> {
    const last = rows[n - 1]!;
    s.head = { id: last.id, hash: last.hash };
    s.inflight = s.inflight.slice(n);
    await dropFromOutbox(
      this.ctx.storage,
      s,
      items.slice(0, n).map((i) => i.outboxKey ?? null),
    );
    // The rows are in D1: a failed storage write must not report them as lost (they would be
    // entered twice); `inflight` still names them, which the next start recognises.
    await this.ctx.storage.put({ head: s.head, inflight: s.inflight }).catch((error: unknown) => {
      console.error(JSON.stringify({ level: "error", msg: "audit_head_write_failed", id: last.id, error: String(error) }));
    });
    for (let i = 0; i < n; i++) items[i]!.resolve?.({ written: true, id: rows[i]!.id, hash: rows[i]!.hash });
  }

  /** Items D1 did not take: deferrable ones stay in the outbox (alarm retries), required ones fail. */
  private async defer(s: LogState, items: Item[], problem: string): Promise<void> {
    await enqueueInOutbox(
      this.ctx.storage,
      s,
      items.filter((i) => i.mode === "deferrable"),
    );
    await markOutboxFailed(this.ctx.storage, s, items);
    const queued = items.filter((i) => i.mode === "deferrable").length;
    console.error(JSON.stringify({ level: "error", msg: "audit_append_deferred", problem, queued, refused: items.length - queued, outbox: s.outbox.length }));
    for (const item of items) item.resolve?.({ written: false, queued: item.mode === "deferrable", reason: problem });
    await this.wakeIn(RETRY_SECONDS);
  }

  /** Once D1 takes writes again after dropping some, the chain records that it did. */
  private async recordRefusals(s: LogState): Promise<void> {
    if (!s.refused || s.outbox.length > 0) return;
    const refused = s.refused;
    s.refused = null;
    await this.ctx.storage.delete("refused");
    this.waiting.push({ event: { actor: "system", action: REFUSED_ACTION, detail: refused }, at: new Date().toISOString(), mode: "deferrable" });
    if (!this.draining) {
      this.draining = true;
      void this.serial(() => this.drain());
    }
  }

  private async anchor(s: LogState, keys: AuditKeyRing): Promise<void> {
    try {
      s.anchor = await writeAnchor(this.env.AUDIT_ANCHORS, keys, s.head!);
      await this.ctx.storage.put("anchor", s.anchor);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "audit_anchor_failed", seq: s.head!.id, error: String(error) }));
      await this.wakeIn(RETRY_SECONDS);
    }
  }

  /** Makes sure the alarm fires within `seconds`. */
  private async wakeIn(seconds: number): Promise<void> {
    const at = Date.now() + seconds * 1000;
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** D1's newest event, or null when the table is empty. */
  private async newestInD1(): Promise<ChainHead> {
    const row = await this.env.DB.prepare("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").first<{ id: number; hash: string }>();
    return row ? { id: Number(row.id), hash: row.hash } : null;
  }
}
