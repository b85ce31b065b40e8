// Pure functions of the audit hash chain. No imports: the worker, the AuditLog Durable Object and
// `npm run audit:verify` (Node, type-stripped) share exactly this code, so the offline check and
// the staff page can never disagree about what a valid chain is.

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
}

/** Action of the event the AuditLog object appends when D1's tail is not the last event it wrote. */
export const HEAD_MISMATCH_ACTION = "audit.head_mismatch";

/** Action of the event an admin records to explain one such mismatch (`detail.explains` names it). */
export const RESTORED_ACTION = "audit.restored";

/** The result of checking a chain: every row links to the one before and hashes to itself. */
export type ChainVerdict = { ok: true; count: number; lastId: number; lastHash: string } | { ok: false; brokenAt: number; reason: string };

/** Limits of each field: long enough for real events, short enough that nothing floods the log. */
export const LIMITS = { actor: 128, action: 64, subject: 256, ip: 64, detailString: 512, detailKeys: 40, detailArray: 40, detailDepth: 4 } as const;

/** Keys whose values are secrets (or card data) and are dropped from `detail` at any depth. */
const SECRET_KEY = /pass(word|phrase|wd)?|token|secret|key|card|cvc|cvv|authori[sz]ation|cookie|otp|credential|private|signature/i;

// C0, DEL, C1 controls and the Unicode line/paragraph separators: anything that can start a new
// line in a log viewer or terminal, or hide text (bidi overrides).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Makes a string safe to store and print as one log field: control characters and line breaks
 * become visible `\uXXXX` text (so a crafted product name cannot start a fake log line), and
 * the result is capped at `max` characters.
 */
export function encodeLogField(value: string, max: number): string {
  const escaped = value.replace(CONTROL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}

/** True when a detail key names a secret; such keys are dropped, never stored. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Cleans an event's `detail`: drops secret-named keys at any depth, encodes strings, caps sizes
 * and depth, and turns anything that is not plain JSON (functions, NaN, dates…) into text or null.
 */
export function sanitizeDetail(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return encodeLogField(value, LIMITS.detailString);
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean") return value;
  if (typeof value === "bigint") return value.toString();
  if (depth >= LIMITS.detailDepth) return "[too deep]";
  if (Array.isArray(value)) return value.slice(0, LIMITS.detailArray).map((v) => sanitizeDetail(v, depth + 1));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    let kept = 0;
    for (const [rawKey, v] of Object.entries(value as Record<string, unknown>)) {
      if (isSecretKey(rawKey) || v === undefined || typeof v === "function") continue;
      if (kept >= LIMITS.detailKeys) break;
      out[encodeLogField(rawKey, 64)] = sanitizeDetail(v, depth + 1);
      kept += 1;
    }
    return out;
  }
  return null;
}

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

/** `hash = SHA-256(prevHash + canonical event)`. */
export async function hashEvent(prevHash: string, row: Omit<AuditRow, "hash" | "prev_hash">): Promise<string | null> {
  const canonical = canonicalEvent(row);
  return canonical === null ? null : sha256Hex(prevHash + canonical);
}

/** Where a verification continues from: the id and hash of the last row already checked. */
export interface ChainPosition {
  lastId: number;
  lastHash: string;
  count: number;
}

/** The position before the first event. */
export const CHAIN_START: ChainPosition = { lastId: 0, lastHash: GENESIS_HASH, count: 0 };

/**
 * Checks rows (in id order) against the chain so far. Ids must run 1, 2, 3… without gaps (a
 * deleted row is a gap), each `prev_hash` must be the previous row's `hash`, and each `hash` must
 * be recomputed exactly. Call it page by page, passing the returned position on.
 */
export async function verifyAuditRows(
  rows: readonly AuditRow[],
  from: ChainPosition = CHAIN_START,
): Promise<{ ok: true; position: ChainPosition } | { ok: false; brokenAt: number; reason: string }> {
  let { lastId, lastHash, count } = from;
  for (const row of rows) {
    const id = Number(row.id);
    if (id !== lastId + 1) return { ok: false, brokenAt: id, reason: `id ${id} follows ${lastId}: an event is missing or out of order` };
    if (row.prev_hash !== lastHash) return { ok: false, brokenAt: id, reason: "prev_hash does not match the previous event's hash" };
    const expected = await hashEvent(lastHash, { ...row, id });
    if (expected === null) return { ok: false, brokenAt: id, reason: "detail is not valid JSON" };
    if (expected !== row.hash) return { ok: false, brokenAt: id, reason: "hash does not match the event's content" };
    lastId = id;
    lastHash = row.hash;
    count += 1;
  }
  return { ok: true, position: { lastId, lastHash, count } };
}
