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
 * What the object knows of its own writes: the last event D1 confirmed (`head`), and the event of
 * an insert whose outcome it has not seen (`pending`: written to storage before the INSERT, so an
 * answer lost on the way back, or a restart, cannot make its own event look foreign).
 */
export interface ChainTail {
  head: AppendedEvent | null;
  pending: AppendedEvent | null;
}

function sameEvent(a: ChainHead, b: ChainHead): boolean {
  return a !== null && b !== null && a.id === b.id && a.hash === b.hash;
}

/**
 * The one writer of the audit chain (T10, M-009). Every append runs through a promise queue inside
 * this single object (`getByName("main")`), so choosing the previous hash and inserting the next
 * row never interleave, even while awaiting D1 (input gates do not cover D1 calls).
 *
 * The object chains each event onto the last one it wrote, in one D1 round trip: the INSERT is
 * conditional on D1's newest row still having that hash. When it does not, nothing is written and
 * the object reads D1's newest row:
 * - its own pending insert (the answer was lost): confirmed, and the chain continues;
 * - anything else (newest events deleted or replaced, a Time Travel restore, a row written by
 *   anyone but this object): the object appends `audit.head_mismatch` naming what it expected and
 *   what it found, logs `audit_chain_diverged`, then appends the event. The log is reported broken
 *   until an admin explains that mismatch with `audit.restored` (docs/operations.md), so neither a
 *   shorter chain nor rows forged after ours can pass as intact.
 * An object that never wrote (a new deployment over a restored database) continues from D1.
 */
export class AuditLog extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();
  /** undefined: not loaded from storage yet. */
  private known: ChainTail | undefined;

  /** Appends one event (sanitised here as well, whoever calls) and returns its id and hash. */
  append(event: AuditInput): Promise<AppendedEvent> {
    const run = this.queue.then(() => this.appendNow(event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The last event this object wrote and its unconfirmed insert: verification compares D1's tail with them (not `tail`: that name is the Tail Worker handler). */
  async chainTail(): Promise<ChainTail> {
    return { ...(await this.knownTail()) };
  }

  private async knownTail(): Promise<ChainTail> {
    this.known ??= {
      head: (await this.ctx.storage.get<AppendedEvent>("head")) ?? null,
      pending: (await this.ctx.storage.get<AppendedEvent>("pending")) ?? null,
    };
    return this.known;
  }

  private async appendNow(event: AuditInput): Promise<AppendedEvent> {
    const known = await this.knownTail();
    const appended = await this.insertAfter(known.head, event);
    if (appended) return appended;
    const newest = await this.newestInD1();
    let previous: ChainHead = newest;
    if (sameEvent(newest, known.pending)) {
      await this.confirm(newest!);
    } else if (known.head !== null && !sameEvent(newest, known.head)) {
      const detail = { expectedId: known.head.id, expectedHash: known.head.hash, foundId: newest?.id ?? null, foundHash: newest?.hash ?? null };
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

  /** Records `event` as the last one D1 holds (best effort in storage: memory is what the next append uses). */
  private async confirm(event: AppendedEvent): Promise<void> {
    this.known = { head: event, pending: null };
    // The row is in D1: a failed write here must not report the event as lost (it would be
    // entered twice). Storage keeps it as `pending`, which the next start recognises.
    await this.ctx.storage.put({ head: event, pending: null }).catch((error: unknown) => {
      console.error(JSON.stringify({ level: "error", msg: "audit_head_write_failed", id: event.id, error: String(error) }));
    });
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
    const pending = { id: row.id, hash };
    const known = await this.knownTail();
    // Before the INSERT: if its answer is lost, the row D1 holds is still recognised as ours.
    await this.ctx.storage.put("pending", pending);
    known.pending = pending;
    const result = await this.env.DB.prepare(
      "INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash) " +
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1) IS ?",
    )
      .bind(row.id, row.at, row.actor, row.ip, row.action, row.subject, row.detail, prevHash, hash, previous?.hash ?? null)
      .run();
    if (result.meta.changes !== 1) {
      known.pending = null;
      await this.ctx.storage.delete("pending").catch(() => undefined);
      return null;
    }
    await this.confirm(pending);
    return pending;
  }
}
