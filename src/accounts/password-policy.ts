import { AsyncLocalStorage } from "node:async_hooks";
import { getCurrentAuthEndpointContext } from "@better-auth/core/context";
import type { BetterAuthPlugin } from "better-auth";
import { APIError } from "better-auth/api";
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs } from "@zxcvbn-ts/language-common";
// One file per list: the packages' index files would bundle every list (see zxcvbn-dictionaries.d.ts).
import diceware from "@zxcvbn-ts/language-common/dist/diceware.json.mjs";
import commonPasswords from "@zxcvbn-ts/language-common/dist/passwords.json.mjs";
import commonWords from "@zxcvbn-ts/language-en/dist/commonWords.json.mjs";
import firstnames from "@zxcvbn-ts/language-en/dist/firstnames.json.mjs";
import wordSequences from "@zxcvbn-ts/language-en/dist/wordSequences.json.mjs";

export const PASSWORD_MIN = 15;
export const PASSWORD_MAX = 128;

/** How many of zxcvbn's passwords (ordered by frequency) the blocklist takes whatever their length. */
const MOST_COMMON = 10_000;

let commonSet: Set<string> | null = null;
/**
 * The local blocklist (NIST SP 800-63B-4), from the same zxcvbn list the estimator uses (one copy
 * in the bundle): its 10,000 most common passwords plus every listed password of 15 or more
 * characters (shorter ones are refused by length anyway). Lower case, built on first use.
 */
export function commonPasswordList(): ReadonlySet<string> {
  commonSet ??= new Set([...commonPasswords.slice(0, MOST_COMMON), ...commonPasswords.filter((p) => p.length >= PASSWORD_MIN)]);
  return commonSet;
}

/** True when the password is on the local list of common passwords (case-insensitive). */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (commonPasswordList().has(lower)) return true;
  // A common password repeated ("passwordpassword") or a single repeated character is no better.
  for (let size = 1; size <= lower.length / 2; size++) {
    if (lower.length % size === 0 && lower.slice(0, size).repeat(lower.length / size) === lower) {
      return size === 1 || commonPasswordList().has(lower.slice(0, size)) || size <= 3;
    }
  }
  return false;
}

/** Estimated guesses below 10^8 (zxcvbn score < 3) are too guessable, whatever the length. */
export const MIN_GUESSES_LOG10 = 8;

let estimator: ZxcvbnFactory | null = null;

/**
 * zxcvbn-ts with bundled offline dictionaries: common passwords, diceware, English words, first
 * names, and months/days/seasons. Built on first use (sign-up, change, reset pay for it; other
 * requests never do). The large Wikipedia and surname lists are left out: they cost CPU for little.
 */
function passwordEstimator(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: {
      "passwords-common": commonPasswords,
      "diceware-common": diceware,
      "commonWords-en": commonWords,
      "firstnames-en": firstnames,
      "months-en": wordSequences["months-en"]!,
      "daysOfWeek-en": wordSequences["daysOfWeek-en"]!,
      "seasons-en": wordSequences["seasons-en"]!,
    },
    graphs: adjacencyGraphs,
  });
  return estimator;
}

/**
 * True when the estimator finds the password guessable (a common word plus a sequence, a keyboard
 * walk, a date, a repeat, the user's own email or name inside it). Passphrases of random words pass.
 */
export function isGuessablePassword(password: string, userInputs: string[] = []): boolean {
  const inputs = userInputs
    .filter(Boolean)
    .flatMap((v) => [v, ...v.toLowerCase().split(/[^a-z0-9]+/)])
    .filter((v) => v.length >= 3);
  return passwordEstimator().check(password, inputs).guessesLog10 < MIN_GUESSES_LOG10;
}

/**
 * Asks the Pwned Passwords range API about a password with k-anonymity: only the first five hex
 * characters of its SHA-1 leave the worker. Returns null when the API cannot be reached, so the
 * caller can fall back to the local list instead of failing the request.
 */
export async function isPwnedPassword(password: string): Promise<boolean | null> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password)));
  const hex = [...digest]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
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

const offlineSeed = new AsyncLocalStorage<true>();

/**
 * Runs `work` (the development admin seed) without the Pwned Passwords lookup: `npm run dev` seeds
 * offline, and an outbound call there only printed a DNS error and a stack trace at every start.
 * The local list and the estimator still apply. Only the development-only seed route uses it.
 */
export function withoutBreachLookup<T>(work: () => Promise<T>): Promise<T> {
  return offlineSeed.run(true, work);
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
              let inputs: string[] = [];
              try {
                const endpoint = getCurrentAuthEndpointContext();
                path = endpoint.path;
                const body = (endpoint.body ?? {}) as Record<string, unknown>;
                const sessionUser = (endpoint.context as { session?: { user?: { email?: string; name?: string } } | null }).session?.user;
                inputs = [body.email, body.name, sessionUser?.email, sessionUser?.name].filter((v): v is string => typeof v === "string");
              } catch {
                path = undefined; // called outside an endpoint (seeding): no policy context
              }
              if (path && CHECKED_PATHS.has(path)) {
                if (isCommonPassword(password)) {
                  throw APIError.from("BAD_REQUEST", {
                    code: "PASSWORD_TOO_COMMON",
                    message: "This password is too common. Choose a longer, less predictable passphrase.",
                  });
                }
                if (isGuessablePassword(password, inputs)) {
                  throw APIError.from("BAD_REQUEST", {
                    code: "PASSWORD_TOO_GUESSABLE",
                    message: "This password is easy to guess (common words, names, dates, sequences or your email). Try four or more random words.",
                  });
                }
                if (!offlineSeed.getStore() && (await isPwnedPassword(password)) === true) {
                  throw APIError.from("BAD_REQUEST", {
                    code: "PASSWORD_COMPROMISED",
                    message: "This password appears in a known data breach. Choose a different one.",
                  });
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
