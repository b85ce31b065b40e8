// Pure functions of the audit hash chain. No imports: the worker, the AuditLog Durable Object and
// `npm run audit:verify` (Node, type-stripped) share exactly this code, so the offline check and
// the staff page can never disagree about what a valid chain is.

/**
 * The audit key development and tests sign with when `AUDIT_HMAC_KEY` is not set (here so that
 * `npm run audit:verify` uses the same one locally). Production refuses it (src/platform/config.ts).
 */
export const DEV_AUDIT_HMAC_KEY = "dev-only-audit-hmac-key-not-for-production-0123456789";

/** The `prevHash` of the first event: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/** One stored audit row, as D1 returns it (snake_case column names). */
export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  ip: string | null;
  action: string;
  subject: string | null;
  /** Canonical JSON text of the detail object. */
  detail: string;
  prev_hash: string;
  hash: string;
  /**
   * Id of the key whose HMAC-SHA-256 `hash` is (`keyIdOf`). Null only on events written before the
   * chain was keyed (plain SHA-256), which may only precede the first keyed event.
   */
  key_id?: string | null;
}

/** Action of the event the AuditLog object appends when D1's tail is not the last event it wrote. */
export const HEAD_MISMATCH_ACTION = "audit.head_mismatch";

/** Action of the event an admin records to explain one such mismatch (`detail.explains` names it). */
export const RESTORED_ACTION = "audit.restored";

/**
 * Stable names of what verification found (the staff page, `/readyz` and `npm run audit:verify`
 * report the same code):
 * - `gap`: an id is missing (a deleted row) or out of order;
 * - `broken_link`: `prev_hash` is not the previous event's hash;
 * - `forged_row`: the HMAC does not match the content (edited, or forged without the key);
 * - `unkeyed_row`: a plain SHA-256 event after keyed ones (forged by someone without the key);
 * - `wrong_key`: an event is signed with a key the verifier does not hold;
 * - `bad_detail`: the stored detail is not JSON;
 * - `missing_tail` / `extra_rows`: D1 ends before / after the last event the log object wrote;
 * - `unexplained_loss`: an `audit.head_mismatch` no `audit.restored` explains;
 * - `events_refused`: events the log assigned wait in its outbox because D1 refused or dropped them;
 * - `anchor_mismatch`: D1 disagrees with a signed checkpoint in R2 (truncated or rewritten);
 * - `anchor_forged`: a checkpoint's signature or name is wrong;
 * - `stale_anchor`: events older than the checkpoint interval are not covered by any checkpoint.
 */
export type ChainProblem =
  | "gap"
  | "broken_link"
  | "forged_row"
  | "unkeyed_row"
  | "wrong_key"
  | "bad_detail"
  | "missing_tail"
  | "extra_rows"
  | "unexplained_loss"
  | "events_refused"
  | "anchor_mismatch"
  | "anchor_forged"
  | "stale_anchor";

/** A failed check: the first bad event, what is wrong (`code`) and a sentence for people. */
export interface ChainFailure {
  ok: false;
  brokenAt: number;
  code: ChainProblem;
  reason: string;
}

/** The result of checking a chain: every row links to the one before and hashes to itself. */
export type ChainVerdict = { ok: true; count: number; lastId: number; lastHash: string; anchoredAt?: number | null } | ChainFailure;

/** JSON with object keys sorted at every depth: one text per value, whatever the insertion order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value as Record<string, unknown>).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

/**
 * The canonical text of one event that its hash covers: a JSON array in the fixed order
 * id, at, actor, ip, action, subject, detail (detail re-canonicalised from its stored text).
 * Returns `null` when the stored detail is not JSON (a tampered row).
 */
export function canonicalEvent(row: Omit<AuditRow, "hash" | "prev_hash">): string | null {
  let detail: unknown;
  try {
    detail = JSON.parse(row.detail);
  } catch {
    return null;
  }
  return canonicalJson([row.id, row.at, row.actor, row.ip ?? null, row.action, row.subject ?? null, detail]);
}

/** Lower-case hex SHA-256 of UTF-8 text (Web Crypto: the same in workerd and Node). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `hash = SHA-256(prevHash + canonical event)`: events written before the chain was keyed. */
export async function hashEvent(prevHash: string, row: Omit<AuditRow, "hash" | "prev_hash">): Promise<string | null> {
  const canonical = canonicalEvent(row);
  return canonical === null ? null : sha256Hex(prevHash + canonical);
}

/** One audit key: its id (stored in each row) and the imported HMAC key. */
export interface AuditKey {
  id: string;
  key: CryptoKey;
}

/** The key new events are signed with, and every key (current and previous) verification accepts. */
export interface AuditKeyRing {
  current: AuditKey;
  byId: Map<string, AuditKey>;
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function hmacHex(key: CryptoKey, text: string): Promise<string> {
  return hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
}

/**
 * Imports the audit secrets (current first). A key's id is derived from the key itself (HMAC of a
 * fixed label, first 16 hex digits), so rows name their key without a separate setting, and a
 * verifier given the wrong key sees an id it does not hold instead of a mysterious hash mismatch.
 */
export async function importAuditKeys(current: string, previous: readonly string[] = []): Promise<AuditKeyRing> {
  const byId = new Map<string, AuditKey>();
  let first: AuditKey | null = null;
  for (const secret of [current, ...previous]) {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const entry = { id: (await hmacHex(key, "bastion audit key id")).slice(0, 16), key };
    first ??= entry;
    if (!byId.has(entry.id)) byId.set(entry.id, entry);
  }
  return { current: first!, byId };
}

/** `hash = HMAC-SHA-256(key, prevHash + canonical event)`; null when the detail is not JSON. */
export async function signEvent(key: CryptoKey, prevHash: string, row: Omit<AuditRow, "hash" | "prev_hash">): Promise<string | null> {
  const canonical = canonicalEvent(row);
  return canonical === null ? null : hmacHex(key, prevHash + canonical);
}

/** Where a verification continues from: the id and hash of the last row already checked. */
export interface ChainPosition {
  lastId: number;
  lastHash: string;
  count: number;
  /** A keyed event was seen: every later event must be keyed too. */
  keyed?: boolean;
}

/** The position before the first event. */
export const CHAIN_START: ChainPosition = { lastId: 0, lastHash: GENESIS_HASH, count: 0, keyed: false };

/**
 * Checks rows (in id order) against the chain so far. Ids must run 1, 2, 3… without gaps (a
 * deleted row is a gap), each `prev_hash` must be the previous row's `hash`, and each `hash` must
 * be the HMAC under the row's key (plain SHA-256 only for events from before the chain was keyed,
 * and never after a keyed one). Call it page by page, passing the returned position on. Without
 * `keys`, only unkeyed rows can be checked.
 */
export async function verifyAuditRows(
  rows: readonly AuditRow[],
  from: ChainPosition = CHAIN_START,
  keys: AuditKeyRing | null = null,
): Promise<{ ok: true; position: ChainPosition } | ChainFailure> {
  let { lastId, lastHash, count, keyed = false } = from;
  const fail = (brokenAt: number, code: ChainProblem, reason: string): ChainFailure => ({ ok: false, brokenAt, code, reason });
  for (const row of rows) {
    const id = Number(row.id);
    if (id !== lastId + 1) return fail(id, "gap", `id ${id} follows ${lastId}: an event is missing or out of order`);
    if (row.prev_hash !== lastHash) return fail(id, "broken_link", "prev_hash does not match the previous event's hash");
    let expected: string | null;
    if (row.key_id == null) {
      if (keyed) return fail(id, "unkeyed_row", `event ${id} carries a plain SHA-256 hash after keyed events: it was written by someone without the audit key`);
      expected = await hashEvent(lastHash, { ...row, id });
    } else {
      const key = keys?.byId.get(row.key_id);
      if (!key) {
        const held = keys ? [...keys.byId.keys()].join(", ") : "none";
        return fail(
          id,
          "wrong_key",
          `wrong key: event ${id} is signed with audit key ${row.key_id}, and the verifier holds ${held} (set AUDIT_HMAC_KEY, and AUDIT_HMAC_KEY_PREVIOUS for retired keys)`,
        );
      }
      expected = await signEvent(key.key, lastHash, { ...row, id });
      keyed = true;
    }
    if (expected === null) return fail(id, "bad_detail", "detail is not valid JSON");
    if (expected !== row.hash) return fail(id, "forged_row", "hash does not match the event's content (edited, or forged without the audit key)");
    lastId = id;
    lastHash = row.hash;
    count += 1;
  }
  return { ok: true, position: { lastId, lastHash, count, keyed } };
}

/** A signed checkpoint the log writes to R2: the chain's newest event at `at`. */
export interface AuditAnchor {
  v: 1;
  /** Id of the newest event covered (ids run 1…seq, so it is also the count). */
  seq: number;
  hash: string;
  count: number;
  at: string;
  kid: string;
  /** HMAC-SHA-256 of the other fields (`anchorText`), under key `kid`. */
  sig: string;
}

/** The R2 key of the checkpoint at `seq`: zero-padded, so listing returns them in order. */
export function anchorKey(seq: number): string {
  return `anchors/${String(seq).padStart(12, "0")}.json`;
}

function anchorText(anchor: Omit<AuditAnchor, "sig">): string {
  return `bastion audit anchor ${canonicalJson({ v: anchor.v, seq: anchor.seq, hash: anchor.hash, count: anchor.count, at: anchor.at, kid: anchor.kid })}`;
}

/** Signs a checkpoint with the current key. */
export async function signAnchor(keys: AuditKeyRing, fields: { seq: number; hash: string; at: string }): Promise<AuditAnchor> {
  const unsigned = { v: 1 as const, seq: fields.seq, hash: fields.hash, count: fields.seq, at: fields.at, kid: keys.current.id };
  return { ...unsigned, sig: await hmacHex(keys.current.key, anchorText(unsigned)) };
}

/** Null when the checkpoint is well formed and its signature holds; otherwise why not. */
export async function anchorProblem(anchor: unknown, keys: AuditKeyRing): Promise<string | null> {
  const a = anchor as Partial<AuditAnchor> | null;
  if (
    a?.v !== 1 ||
    typeof a.seq !== "number" ||
    typeof a.hash !== "string" ||
    typeof a.at !== "string" ||
    typeof a.kid !== "string" ||
    typeof a.sig !== "string"
  ) {
    return "is not a checkpoint";
  }
  const key = keys.byId.get(a.kid);
  if (!key) return `is signed with audit key ${a.kid}, which the verifier does not hold (wrong key)`;
  if (a.count !== a.seq) return "counts events other than 1…seq";
  const expected = await hmacHex(key.key, anchorText(a as AuditAnchor));
  return expected === a.sig ? null : "has a signature that does not match its content (forged or edited)";
}
