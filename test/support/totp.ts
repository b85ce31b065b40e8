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

/** The secret of an otpauth:// URI. */
export function secretOf(totpURI: string): string {
  return new URL(totpURI).searchParams.get("secret") ?? "";
}
