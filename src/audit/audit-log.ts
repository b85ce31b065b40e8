import { DurableObject } from "cloudflare:workers";
import type { AuditInput } from "./audit";
import { encodeLogField, GENESIS_HASH, hashEvent, LIMITS, canonicalJson, sanitizeDetail, type AuditRow } from "./chain";

/** What `append` returns: the stored event's id and hash. */
export interface AppendedEvent {
  id: number;
  hash: string;
}

/**
 * The one writer of the audit chain (T10, M-009). Every append runs through a promise queue inside
 * this single object (`getByName("main")`), so reading the last hash and inserting the next row
 * never interleave, even while awaiting D1 (input gates do not cover D1 calls). The last hash is
 * read from D1 each time, so a restored database simply continues its own chain.
 */
export class AuditLog extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();

  /** Appends one event (sanitised here as well, whoever calls) and returns its id and hash. */
  append(event: AuditInput): Promise<AppendedEvent> {
    const run = this.queue.then(() => this.appendNow(event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(event: AuditInput): Promise<AppendedEvent> {
    const last = await this.env.DB.prepare("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").first<{ id: number; hash: string }>();
    const prevHash = last?.hash ?? GENESIS_HASH;
    const row: Omit<AuditRow, "hash" | "prev_hash"> = {
      id: (last?.id ?? 0) + 1,
      at: new Date().toISOString(),
      actor: encodeLogField(String(event.actor || "anonymous"), LIMITS.actor),
      ip: event.ip ? encodeLogField(String(event.ip), LIMITS.ip) : null,
      action: encodeLogField(String(event.action || "unknown"), LIMITS.action),
      subject: event.subject ? encodeLogField(String(event.subject), LIMITS.subject) : null,
      detail: canonicalJson(sanitizeDetail(event.detail ?? {}) ?? {}),
    };
    const hash = (await hashEvent(prevHash, row))!;
    await this.env.DB.prepare(
      "INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
      .bind(row.id, row.at, row.actor, row.ip, row.action, row.subject, row.detail, prevHash, hash)
      .run();
    await this.ctx.storage.put("head", { id: row.id, hash });
    return { id: row.id, hash };
  }

  /** The last event this object wrote (id and hash), or null: lets a check notice a truncated tail. */
  async head(): Promise<AppendedEvent | null> {
    return (await this.ctx.storage.get<AppendedEvent>("head")) ?? null;
  }
}
