// Endpoint signing secrets: made here, shown once, stored only encrypted (AES-GCM under a key from
// the WEBHOOK_SECRETS_KEY binding), and used to sign each delivery as Standard Webhooks specifies.

/** The development key: config refuses it (and a missing key) in production. */
export const DEV_WEBHOOK_SECRETS_KEY = "dev-only-webhook-secrets-key-not-for-production-0123456789";

const ALGORITHM_VERSION = "v1";

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

/** A new signing secret: `whsec_` and 32 random bytes in base64 (the Standard Webhooks form). */
export function newSigningSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The key bytes a `whsec_` secret spells. */
function secretBytes(secret: string): Uint8Array {
  return fromBase64(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
}

/** The secrets key from the env; production never reaches the default (config refuses it). */
function secretsKeyMaterial(env: object): string {
  const e = env as { WEBHOOK_SECRETS_KEY?: string; ENVIRONMENT?: string };
  const key = e.WEBHOOK_SECRETS_KEY?.trim();
  if (key) return key;
  if (e.ENVIRONMENT === "production") throw new Error("WEBHOOK_SECRETS_KEY is not set: webhook secrets cannot be stored");
  return DEV_WEBHOOK_SECRETS_KEY;
}

// Deriving costs a few Web Crypto calls; the binding is fixed for an isolate's lifetime.
const derived = new Map<string, Promise<CryptoKey>>();

/** The AES-256-GCM key: HKDF-SHA-256 of the binding's text, so any 32+ character secret works. */
function encryptionKey(env: object): Promise<CryptoKey> {
  const material = secretsKeyMaterial(env);
  let key = derived.get(material);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", new TextEncoder().encode(material), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("bastion/webhook-secrets/v1") },
          base,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    derived.set(material, key);
  }
  return key;
}

/**
 * Encrypts a secret for the row `endpointId`: `v1.<iv>.<ciphertext>`. The endpoint id is the
 * associated data, so a ciphertext copied onto another row does not decrypt there.
 */
export async function encryptSecret(env: object, endpointId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(endpointId) },
    await encryptionKey(env),
    new TextEncoder().encode(secret),
  );
  return `${ALGORITHM_VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

/** The secret of a stored ciphertext; throws when the key or the row does not match. */
export async function decryptSecret(env: object, endpointId: string, stored: string): Promise<string> {
  const [version, iv, ciphertext] = stored.split(".");
  if (version !== ALGORITHM_VERSION || !iv || !ciphertext) throw new Error("unknown webhook secret format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv), additionalData: new TextEncoder().encode(endpointId) },
    await encryptionKey(env),
    fromBase64(ciphertext),
  );
  return new TextDecoder().decode(plain);
}

/** One Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`. */
export async function signatureOf(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secretBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/**
 * The `webhook-signature` header: one signature per secret, space separated (the current secret
 * first, then the previous one while a rotation's overlap lasts), as the specification allows.
 */
export async function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): Promise<string> {
  return (await Promise.all(secrets.map((s) => signatureOf(s, id, timestamp, body)))).join(" ");
}
