import { DEV_AUDIT_HMAC_KEY, importAuditKeys, type AuditKeyRing } from "./chain";

export { DEV_AUDIT_HMAC_KEY };

interface AuditKeyEnv {
  ENVIRONMENT?: string;
  AUDIT_HMAC_KEY?: string;
  AUDIT_HMAC_KEY_PREVIOUS?: string;
}

/** The audit secrets from the env: the current key, then retired ones (comma or space separated). */
export function auditSecrets(env: object): { current: string; previous: string[] } {
  const e = env as AuditKeyEnv;
  const current = e.AUDIT_HMAC_KEY?.trim();
  if (!current) {
    // Config refuses such a production worker before it serves; this is the object's own guard.
    if (e.ENVIRONMENT === "production") throw new Error("AUDIT_HMAC_KEY is not set: the audit log cannot sign events");
    return { current: DEV_AUDIT_HMAC_KEY, previous: splitKeys(e.AUDIT_HMAC_KEY_PREVIOUS) };
  }
  return { current, previous: splitKeys(e.AUDIT_HMAC_KEY_PREVIOUS) };
}

function splitKeys(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}

// Importing keys costs a few Web Crypto calls; secrets are fixed for an isolate's lifetime.
const rings = new Map<string, Promise<AuditKeyRing>>();

/** The imported key ring for this env (cached per isolate and secret set). */
export function auditKeys(env: object): Promise<AuditKeyRing> {
  const { current, previous } = auditSecrets(env);
  const cacheKey = JSON.stringify([current, ...previous]);
  let ring = rings.get(cacheKey);
  if (!ring) {
    ring = importAuditKeys(current, previous);
    rings.set(cacheKey, ring);
  }
  return ring;
}
