// Per isolate: one imported key per secret. Importing costs more than signing a short message,
// and a CryptoKey holds no request state.
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC-SHA256 key for `secret` (sign and verify), imported once per isolate. */
export function hmacSha256Key(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}
