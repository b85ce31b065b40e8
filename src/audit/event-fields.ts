// What an audit event's fields may hold before they are chained: length limits, log-safe text,
// and a `detail` cleaned of secrets and of anything that is not plain JSON. No imports (like
// chain.ts): pure functions the AuditLog object and the worker share.

/** Limits of each field: long enough for real events, short enough that nothing floods the log. */
export const LIMITS = { actor: 128, action: 64, subject: 256, ip: 64, detailString: 512, detailKeys: 40, detailArray: 40, detailDepth: 4 } as const;

/** Keys whose values are secrets (or card data) and are dropped from `detail` at any depth. */
const SECRET_KEY = /pass(word|phrase|wd)?|token|secret|key|card|cvc|cvv|authori[sz]ation|cookie|otp|credential|private|signature/i;

// C0, DEL, C1 controls and the Unicode line/paragraph separators: anything that can start a new
// line in a log viewer or terminal, or hide text (bidi overrides).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's purpose
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
