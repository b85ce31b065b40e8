import { hmacSha256Key } from "../platform/hmac";

/** Stripe's default tolerance between the signed timestamp and now, in seconds (T06). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

/** Parses `t=…,v1=…[,v1=…]`; returns null when the header is malformed. */
export function parseStripeSignature(header: string): { timestamp: number; signatures: string[] } | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 1) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t" && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === "v1" && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

/** HMAC-SHA256 of `${t}.${payload}` as lowercase hex, as Stripe computes it. */
export async function computeStripeSignature(secret: string, timestamp: number, payload: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacSha256Key(secret), encoder.encode(`${timestamp}.${payload}`));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two equal-length hex strings without an early exit, so timing leaks nothing. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Verifies a Stripe-Signature header over the raw body before anything is parsed. Any v1 may
 * match any of the secrets (current and, during rotation, previous).
 */
export async function verifyStripeSignature(
  payload: string,
  header: string | undefined | null,
  secrets: readonly string[],
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  if (!header || secrets.length === 0) return false;
  const parsed = parseStripeSignature(header);
  if (!parsed || Math.abs(nowSeconds - parsed.timestamp) > SIGNATURE_TOLERANCE_SECONDS) return false;
  let ok = false;
  for (const secret of secrets) {
    const expected = await computeStripeSignature(secret, parsed.timestamp, payload);
    for (const candidate of parsed.signatures) if (constantTimeEqual(expected, candidate)) ok = true;
  }
  return ok;
}
