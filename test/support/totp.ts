import { base32 } from "@better-auth/utils/base32";
import { createOTP } from "@better-auth/utils/otp";

/**
 * RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) of the base32 key an authenticator app is given, at
 * `at`, computed by better-auth's own OTP library (the one that checks the codes).
 */
export async function totp(secretBase32: string, at: number = Date.now()): Promise<string> {
  const key = new TextDecoder().decode(base32.decode(secretBase32.replace(/=+$/, "")));
  return createOTP(key).hotp(Math.floor(at / 1000 / 30));
}

// Time steps whose code was already sent for a secret (by the helpers below): the shop refuses a
// code used twice for an account within its window (RFC 6238 §5.2), so a test must not reuse one.
const spent = new Map<string, Set<number>>();

/** The code at `at`, remembered as sent (enrolment and sign-in helpers use this). */
export async function spendTotp(secretBase32: string, at: number = Date.now()): Promise<string> {
  const steps = spent.get(secretBase32) ?? new Set<number>();
  spent.set(secretBase32, steps);
  steps.add(Math.floor(at / 1000 / 30));
  return totp(secretBase32, at);
}

/**
 * A code of the current window (this step, the next, then the previous) that no helper has sent
 * yet for this secret, so it is accepted whatever time steps have passed since the last one.
 */
export async function unspentTotp(secretBase32: string, now: number = Date.now()): Promise<string> {
  const steps = spent.get(secretBase32) ?? new Set<number>();
  const step = Math.floor(now / 1000 / 30);
  for (const candidate of [step, step + 1, step - 1]) {
    if (!steps.has(candidate)) return spendTotp(secretBase32, candidate * 30_000);
  }
  throw new Error("every code of the current window was already sent for this secret");
}

/** The secret of an otpauth:// URI. */
export function secretOf(totpURI: string): string {
  return new URL(totpURI).searchParams.get("secret") ?? "";
}
