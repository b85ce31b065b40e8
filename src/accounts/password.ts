import { scrypt, timingSafeEqual } from "node:crypto";

/**
 * Password hashing: scrypt N=2^14, r=8, p=5 (OWASP Password Storage Cheat Sheet's equivalent of
 * N=2^17 r=8 p=1 at 16 MiB instead of 128 MiB, which would not fit a Worker's 128 MB isolate).
 * Runs in workerd's native node:crypto (BoringSSL), so no WebAssembly is compiled at run time and
 * no PBKDF2 iteration cap applies. Choice and measured cost: docs/decisions/003-password-hashing.md.
 */
export const SCRYPT_PARAMS = { N: 2 ** 14, r: 8, p: 5, keyLength: 64, saltLength: 16 } as const;

/**
 * The test suite's cost (config `PASSWORD_HASH_COST=test-only-fast`, refused in production): ~100×
 * cheaper, so the hundreds of sign-ups the tests make do not dominate `npm test`. Hashes carry
 * their parameters, so verification is the same code either way.
 */
export const TEST_ONLY_SCRYPT_PARAMS = { N: 2 ** 10, r: 8, p: 1, keyLength: 64, saltLength: 16 } as const;

export type ScryptParams = typeof SCRYPT_PARAMS | typeof TEST_ONLY_SCRYPT_PARAMS;

/** The parameters new hashes use under a config's `PASSWORD_HASH_COST`. */
export function scryptParamsFor(cost: "standard" | "test-only-fast" | undefined): ScryptParams {
  return cost === "test-only-fast" ? TEST_ONLY_SCRYPT_PARAMS : SCRYPT_PARAMS;
}

const MAXMEM = 64 * 1024 * 1024;

function derive(password: string, salt: Uint8Array, params: { N: number; r: number; p: number; keyLength: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, params.keyLength, { N: params.N, r: params.r, p: params.p, maxmem: MAXMEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** Hashes a password into a self-describing string: `scrypt$N$r$p$salt$key` (base64). */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(params.saltLength));
  const key = await derive(password, salt, params);
  return ["scrypt", params.N, params.r, params.p, toBase64(salt), toBase64(key)].join("$");
}

/**
 * Checks a password against a stored hash in constant time. Hashes made with other parameters
 * (older or stronger) still verify, because the parameters travel with the hash.
 */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, "base64");
  const params = { N: Number(n), r: Number(r), p: Number(p), keyLength: expected.length };
  if (![params.N, params.r, params.p].every((v) => Number.isSafeInteger(v) && v > 0) || expected.length < 16) return false;
  const actual = await derive(password, Buffer.from(saltB64, "base64"), params);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
