import { getCurrentAuthEndpointContext } from "@better-auth/core/context";
import type { BetterAuthPlugin } from "better-auth";
import { APIError } from "better-auth/api";
import { COMMON_PASSWORDS } from "./common-passwords";

export const PASSWORD_MIN = 15;
export const PASSWORD_MAX = 128;

let commonSet: Set<string> | null = null;
function common(): Set<string> {
  commonSet ??= new Set(COMMON_PASSWORDS.split("\n"));
  return commonSet;
}

/** True when the password is on the local list of common passwords (case-insensitive). */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (common().has(lower)) return true;
  // A common password repeated ("passwordpassword") or a single repeated character is no better.
  for (let size = 1; size <= lower.length / 2; size++) {
    if (lower.length % size === 0 && lower.slice(0, size).repeat(lower.length / size) === lower) {
      return size === 1 || common().has(lower.slice(0, size)) || size <= 3;
    }
  }
  return false;
}

/**
 * Asks the Pwned Passwords range API about a password with k-anonymity: only the first five hex
 * characters of its SHA-1 leave the worker. Returns null when the API cannot be reached, so the
 * caller can fall back to the local list instead of failing the request.
 */
export async function isPwnedPassword(password: string): Promise<boolean | null> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password)));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  const prefix = hex.slice(0, 5);
  const suffix = hex.slice(5);
  try {
    const res = await fetch(`https://api.pwnedpasswords.com/range/${prefix}`, {
      headers: { "add-padding": "true", "user-agent": "Bastion password check" },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) throw new Error(`status ${res.status}`);
    for (const line of (await res.text()).split(/\r?\n/)) {
      const [hashSuffix, count] = line.split(":");
      if (hashSuffix?.trim().toUpperCase() === suffix && Number(count) > 0) return true;
    }
    return false;
  } catch (error) {
    console.warn(JSON.stringify({ level: "warn", msg: "pwned_passwords_unreachable", error: String(error) }));
    return null;
  }
}

const CHECKED_PATHS = new Set(["/sign-up/email", "/change-password", "/reset-password", "/admin/create-user", "/admin/set-user-password"]);

/**
 * better-auth plugin: every new password (sign-up, change, reset) must not be common or pwned.
 * Replaces better-auth's haveIBeenPwned plugin, which answers 500 when the API is unreachable;
 * here an outage falls back to the local list and is logged (NIST SP 800-63B-4 blocklist).
 */
export function passwordPolicy(): BetterAuthPlugin {
  return {
    id: "bastion-password-policy",
    init(ctx) {
      const originalHash = ctx.password.hash;
      return {
        context: {
          password: {
            ...ctx.password,
            async hash(password: string): Promise<string> {
              let path: string | undefined;
              try {
                path = getCurrentAuthEndpointContext().path;
              } catch {
                path = undefined; // called outside an endpoint (seeding): no policy context
              }
              if (path && CHECKED_PATHS.has(path)) {
                if (isCommonPassword(password)) {
                  throw APIError.from("BAD_REQUEST", { code: "PASSWORD_TOO_COMMON", message: "This password is too common. Choose a longer, less predictable passphrase." });
                }
                if ((await isPwnedPassword(password)) === true) {
                  throw APIError.from("BAD_REQUEST", { code: "PASSWORD_COMPROMISED", message: "This password appears in a known data breach. Choose a different one." });
                }
              }
              return originalHash(password);
            },
          },
        },
      };
    },
  } as BetterAuthPlugin;
}
