import { DurableObject } from "cloudflare:workers";
import type { AuditInput } from "./audit";
import { encodeLogField, GENESIS_HASH, hashEvent, HEAD_MISMATCH_ACTION, LIMITS, canonicalJson, sanitizeDetail, type AuditRow } from "./chain";

/** What `append` returns: the stored event's id and hash. */
export interface AppendedEvent {
  id: number;
  hash: string;
}

/** The newest event of the chain as this object knows it; null: the log is empty. */
type ChainHead = AppendedEvent | null;

/**
 * The one writer of the audit chain (T10, M-009). Every append runs through a promise queue inside
 * this single object (`getByName("main")`), so choosing the previous hash and inserting the next
 * row never interleave, even while awaiting D1 (input gates do not cover D1 calls).
 *
 * The object remembers the event it wrote last (in memory and in its storage as `head`) and
 * chains the next one onto it in one D1 round trip: the INSERT is conditional on D1's newest row
 * still having that hash. When it does not (a restored database, a row written by someone else),
 * nothing is written; the object reads D1's newest row and chains onto that, so the chain always
 * continues from what D1 holds. Before this, every append read D1 first: two round trips per
 * event, one after the other, inside the queue every audited request waits in.
 *
 * Continuing from D1 must not erase the evidence that D1 lost events: the `head` is what shows a
 * truncated tail (a shorter chain is still a valid chain). So when D1's chain no longer contains
 * the event this object wrote last, the object first appends an `audit.head_mismatch` event
 * naming what it expected and what it found, and logs `audit_chain_diverged`; the log stays
 * reported as broken until an admin records `audit.restored` (docs/operations.md).
 */
export class AuditLog extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();
  /** undefined: not loaded from storage yet. */
  private chainHead: ChainHead | undefined;

  /** Appends one event (sanitised here as well, whoever calls) and returns its id and hash. */
  append(event: AuditInput): Promise<AppendedEvent> {
    const run = this.queue.then(() => this.appendNow(event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(event: AuditInput): Promise<AppendedEvent> {
    this.chainHead ??= (await this.head()) ?? null;
    const appended = await this.insertAfter(this.chainHead, event);
    if (appended) return appended;
    // D1's newest row is not the one this object wrote last.
    const newest = await this.newestInD1();
    const written = await this.head();
    let previous: ChainHead = newest;
    if (written && !(await this.d1Holds(written, newest))) {
      const detail = { expectedId: written.id, expectedHash: written.hash, foundId: newest?.id ?? null, foundHash: newest?.hash ?? null };
      console.error(JSON.stringify({ level: "error", msg: "audit_chain_diverged", ...detail }));
      previous = await this.insertAfter(newest, { actor: "system", action: HEAD_MISMATCH_ACTION, detail });
      if (!previous) throw new Error("the audit chain moved while appending");
    }
    // Only this object appends, one event at a time: D1 cannot have moved since the read.
    const after = await this.insertAfter(previous, event);
    if (!after) throw new Error("the audit chain moved while appending");
    return after;
  }

  /** D1's newest event, or null when the table is empty. */
  private async newestInD1(): Promise<ChainHead> {
    const row = await this.env.DB.prepare("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").first<{ id: number; hash: string }>();
    return row ? { id: Number(row.id), hash: row.hash } : null;
  }

  /** Whether D1 still holds `written` (this object's last event) unchanged, given its newest row. */
  private async d1Holds(written: AppendedEvent, newest: ChainHead): Promise<boolean> {
    if (!newest || newest.id < written.id) return false;
    if (newest.id === written.id) return newest.hash === written.hash;
    // Rows after ours (another writer, or our write whose answer was lost): ours must be intact.
    const row = await this.env.DB.prepare("SELECT hash FROM audit_events WHERE id = ?").bind(written.id).first<{ hash: string }>();
    return row?.hash === written.hash;
  }

  /** Inserts `event` after `previous`, only if that is still D1's newest row; null when it is not. */
  private async insertAfter(previous: ChainHead, event: AuditInput): Promise<AppendedEvent | null> {
    const prevHash = previous?.hash ?? GENESIS_HASH;
    const row: Omit<AuditRow, "hash" | "prev_hash"> = {
      id: (previous?.id ?? 0) + 1,
      at: new Date().toISOString(),
      actor: encodeLogField(String(event.actor || "anonymous"), LIMITS.actor),
      ip: event.ip ? encodeLogField(String(event.ip), LIMITS.ip) : null,
      action: encodeLogField(String(event.action || "unknown"), LIMITS.action),
      subject: event.subject ? encodeLogField(String(event.subject), LIMITS.subject) : null,
      detail: canonicalJson(sanitizeDetail(event.detail ?? {}) ?? {}),
    };
    const hash = (await hashEvent(prevHash, row))!;
    const result = await this.env.DB.prepare(
      "INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash) " +
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1) IS ?",
    )
      .bind(row.id, row.at, row.actor, row.ip, row.action, row.subject, row.detail, prevHash, hash, previous?.hash ?? null)
      .run();
    if (result.meta.changes !== 1) {
      this.chainHead = undefined;
      return null;
    }
    this.chainHead = { id: row.id, hash };
    // The row is in D1: a failed `head` write must not report the event as lost (it would be
    // entered twice). A stale head only sends the next append through the D1 read, which finds
    // its own event intact.
    await this.ctx.storage.put("head", { id: row.id, hash }).catch((error: unknown) => {
      console.error(JSON.stringify({ level: "error", msg: "audit_head_write_failed", id: row.id, error: String(error) }));
    });
    return { id: row.id, hash };
  }

  /** The last event this object wrote (id and hash), or null: lets a check notice a truncated tail. */
  async head(): Promise<AppendedEvent | null> {
    return (await this.ctx.storage.get<AppendedEvent>("head")) ?? null;
  }
}
