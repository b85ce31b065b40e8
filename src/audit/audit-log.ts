import { DurableObject } from "cloudflare:workers";
import type { AuditInput } from "./audit";
import { encodeLogField, GENESIS_HASH, hashEvent, LIMITS, canonicalJson, sanitizeDetail, type AuditRow } from "./chain";

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
 * The object remembers the event it wrote last and chains the next one onto it in one D1 round
 * trip: the INSERT is conditional on D1's newest row still having that hash. When it does not (a
 * restored database, a row written by someone else, an object that just started), nothing is
 * written, and the object reads D1's newest row and chains onto that instead, so the chain always
 * continues from what D1 holds. Before this, every append read D1 first: two round trips per
 * event, one after the other, inside the queue every audited request waits in.
 */
export class AuditLog extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();
  /** undefined: not known (read D1 first). */
  private chainHead: ChainHead | undefined;

  /** Appends one event (sanitised here as well, whoever calls) and returns its id and hash. */
  append(event: AuditInput): Promise<AppendedEvent> {
    const run = this.queue.then(() => this.appendNow(event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(event: AuditInput): Promise<AppendedEvent> {
    if (this.chainHead !== undefined) {
      const appended = await this.insertAfter(this.chainHead, event);
      if (appended) return appended;
    }
    const last = await this.env.DB.prepare("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").first<{ id: number; hash: string }>();
    const appended = await this.insertAfter(last ? { id: Number(last.id), hash: last.hash } : null, event);
    // Only this object appends, one event at a time: D1 cannot have moved since the read.
    if (!appended) throw new Error("the audit chain moved while appending");
    return appended;
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
    await this.ctx.storage.put("head", { id: row.id, hash });
    return { id: row.id, hash };
  }

  /** The last event this object wrote (id and hash), or null: lets a check notice a truncated tail. */
  async head(): Promise<AppendedEvent | null> {
    return (await this.ctx.storage.get<AppendedEvent>("head")) ?? null;
  }
}
