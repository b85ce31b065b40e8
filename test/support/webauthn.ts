import { cookiesFrom, getAs, jsonAs } from "./accounts";
import { ORIGIN, request } from "./http";

/**
 * A software WebAuthn authenticator (ES256, "none" attestation), as a browser with a security key
 * would answer the shop's passkey ceremonies. `userVerified` sets the UV flag: true is a key that
 * asked for a PIN or a fingerprint, false a key that was only touched.
 */
export interface SoftKey {
  credentialId: Uint8Array;
  keyPair: CryptoKeyPair;
  counter: number;
}

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

/** Minimal CBOR: unsigned/negative ints, byte and text strings, maps (enough for attestation). */
function cbor(value: unknown): Uint8Array {
  const head = (major: number, n: number): Uint8Array => {
    if (n < 24) return new Uint8Array([(major << 5) | n]);
    if (n < 256) return new Uint8Array([(major << 5) | 24, n]);
    return new Uint8Array([(major << 5) | 25, n >> 8, n & 0xff]);
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") return concat(head(3, enc.encode(value).length), enc.encode(value));
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (value instanceof Map) return concat(head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)]));
  throw new Error("cbor: unsupported value");
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** ECDSA raw r||s (WebCrypto) to the DER form WebAuthn signatures use. */
function derSignature(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v: Uint8Array = b.slice(i);
    if (v[0]! & 0x80) v = concat(new Uint8Array([0]), v);
    return concat(new Uint8Array([0x02, v.length]), v);
  };
  const body = concat(int(raw.slice(0, 32)), int(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

function authenticatorData(rpIdHash: Uint8Array, flags: number, counter: number, attested?: Uint8Array): Uint8Array {
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, counter);
  return concat(rpIdHash, new Uint8Array([flags]), count, attested ?? new Uint8Array());
}

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

/**
 * Registers a new passkey for the signed-in `cookie` over HTTP (generate-register-options, then
 * verify-registration); returns the key and the registration's response.
 */
export async function registerPasskey(cookie: string, opts: { userVerified: boolean; name?: string }): Promise<{ key: SoftKey | null; res: Response }> {
  const optionsRes = await getAs(cookie, "/api/auth/passkey/generate-register-options");
  if (optionsRes.status !== 200) return { key: null, res: optionsRes };
  const options = (await optionsRes.json()) as { challenge: string; rp: { id: string } };
  const challengeCookie = cookiesFrom(optionsRes, cookie);
  const keyPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", keyPair.publicKey)) as JsonWebKey;
  const fromB64url = (s: string): Uint8Array =>
    Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
  const cose = cbor(
    new Map<number, unknown>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, fromB64url(jwk.x!)],
      [-3, fromB64url(jwk.y!)],
    ]),
  );
  const credentialId = crypto.getRandomValues(new Uint8Array(16));
  const idLen = new Uint8Array([0, credentialId.length]);
  const attested = concat(new Uint8Array(16), idLen, credentialId, cose);
  const rpIdHash = await sha256(enc.encode(options.rp.id));
  const authData = authenticatorData(rpIdHash, UP | AT | (opts.userVerified ? UV : 0), 0, attested);
  const clientData = enc.encode(JSON.stringify({ type: "webauthn.create", challenge: options.challenge, origin: ORIGIN, crossOrigin: false }));
  const attestationObject = cbor(
    new Map<string, unknown>([
      ["fmt", "none"],
      ["attStmt", new Map()],
      ["authData", authData],
    ]),
  );
  const res = await jsonAs(challengeCookie, "POST", "/api/auth/passkey/verify-registration", {
    name: opts.name ?? "test key",
    response: {
      id: b64url(credentialId),
      rawId: b64url(credentialId),
      type: "public-key",
      response: { clientDataJSON: b64url(clientData), attestationObject: b64url(attestationObject), transports: ["usb"] },
      clientExtensionResults: {},
    },
  });
  return { key: res.status === 200 ? { credentialId, keyPair, counter: 0 } : null, res };
}

/** Signs in with a passkey over HTTP (generate-authenticate-options, verify-authentication). */
export async function signInWithPasskey(key: SoftKey, opts: { userVerified: boolean }): Promise<{ res: Response; cookie: string }> {
  const optionsRes = await request("/api/auth/passkey/generate-authenticate-options");
  const options = (await optionsRes.json()) as { challenge: string; rpId: string };
  const challengeCookie = cookiesFrom(optionsRes);
  key.counter += 1;
  const authData = authenticatorData(await sha256(enc.encode(options.rpId)), UP | (opts.userVerified ? UV : 0), key.counter);
  const clientData = enc.encode(JSON.stringify({ type: "webauthn.get", challenge: options.challenge, origin: ORIGIN, crossOrigin: false }));
  const signed = concat(authData, await sha256(clientData));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.keyPair.privateKey, signed));
  const res = await jsonAs(challengeCookie, "POST", "/api/auth/passkey/verify-authentication", {
    response: {
      id: b64url(key.credentialId),
      rawId: b64url(key.credentialId),
      type: "public-key",
      response: { clientDataJSON: b64url(clientData), authenticatorData: b64url(authData), signature: b64url(derSignature(raw)) },
      clientExtensionResults: {},
    },
  });
  return { res, cookie: cookiesFrom(res) };
}
