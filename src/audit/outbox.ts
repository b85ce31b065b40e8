// The AuditLog object's durable storage: its head, the write in flight, its last checkpoint, the
// tally of inserts D1 dropped, and the outbox of deferrable events that wait for D1 (kept under
// `outbox:<serial>` keys, in order). Plain functions over the storage and the state in memory.
import type { ChainRow, Item } from "./log-state";
import type { AppendedEvent, LogState, OutboxEntry } from "./types";

/** The state as storage holds it; outbox entries an earlier run left count as failed until retried. */
export async function loadLogState(storage: DurableObjectStorage): Promise<LogState> {
  const stored = await storage.get(["head", "inflight", "anchor", "refused"]);
  const outbox = await storage.list<Omit<OutboxEntry, "key">>({ prefix: "outbox:" });
  return {
    head: (stored.get("head") as AppendedEvent | undefined) ?? null,
    inflight: (stored.get("inflight") as LogState["inflight"] | undefined) ?? [],
    anchor: (stored.get("anchor") as LogState["anchor"] | undefined) ?? null,
    refused: (stored.get("refused") as LogState["refused"] | undefined) ?? null,
    // Left by an earlier run of the object (a write it did not see through): failed until retried.
    outbox: [...outbox].map(([key, value]) => ({ key, ...value, failedAt: value.failedAt ?? value.at })),
  };
}

/** Puts items in the durable outbox (once each), in order; `first` puts them ahead of it. */
export async function enqueueInOutbox(storage: DurableObjectStorage, s: LogState, items: Item[], first = false): Promise<void> {
  const fresh = items.filter((i) => !i.outboxKey);
  if (fresh.length === 0) return;
  const lowest = s.outbox[0] ? Number(s.outbox[0].key.slice(7)) : 1e12;
  const highest = s.outbox.at(-1) ? Number(s.outbox.at(-1)!.key.slice(7)) : 1e12;
  const entries: Record<string, Omit<OutboxEntry, "key">> = {};
  fresh.forEach((item, i) => {
    const serial = first ? lowest - fresh.length + i : highest + 1 + i;
    item.outboxKey = `outbox:${String(serial).padStart(14, "0")}`;
    entries[item.outboxKey] = { event: item.event, at: item.at };
  });
  for (let i = 0; i < fresh.length; i += 100) {
    await storage.put(Object.fromEntries(Object.entries(entries).slice(i, i + 100)));
  }
  const added = fresh.map((item) => ({ key: item.outboxKey!, event: item.event, at: item.at }));
  s.outbox = first ? [...added, ...s.outbox] : [...s.outbox, ...added];
}

/** Marks the outbox entries of `items` failed now (those not marked yet): they are reported as waiting. */
export async function markOutboxFailed(storage: DurableObjectStorage, s: LogState, items: Item[]): Promise<void> {
  const failedAt = new Date().toISOString();
  const keys = new Set(items.map((i) => i.outboxKey));
  const marked = s.outbox.filter((o) => !o.failedAt && keys.has(o.key));
  for (const o of marked) o.failedAt = failedAt;
  for (let i = 0; i < marked.length; i += 100) {
    await storage.put(Object.fromEntries(marked.slice(i, i + 100).map(({ key, ...entry }) => [key, entry])));
  }
}

/** Removes the entries D1 now holds. */
export async function dropFromOutbox(storage: DurableObjectStorage, s: LogState, keys: (string | null)[]): Promise<void> {
  const gone = new Set(keys.filter((k): k is string => k !== null));
  if (gone.size === 0) return;
  s.outbox = s.outbox.filter((o) => !gone.has(o.key));
  const list = [...gone];
  for (let i = 0; i < list.length; i += 128) await storage.delete(list.slice(i, i + 128));
}

/** D1 dropped an insert without an error: counted (first and last time, first event) until the chain records it. */
export async function tallyRefusedInsert(storage: DurableObjectStorage, s: LogState, row: Pick<ChainRow, "id" | "action">): Promise<void> {
  const now = new Date().toISOString();
  s.refused = {
    count: (s.refused?.count ?? 0) + 1,
    firstAt: s.refused?.firstAt ?? now,
    lastAt: now,
    firstId: s.refused?.firstId ?? row.id,
    action: s.refused?.action ?? row.action,
  };
  await storage.put("refused", s.refused);
}
