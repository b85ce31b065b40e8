import { hmacSha256Key } from "../platform/hmac";
import { normaliseEmail } from "./login-guard";

/** The keyed hash of a normalised email that keys its sign-in pseudonym (never the email itself). */
export async function emailKey(env: Env, email: string): Promise<string> {
  const key = await hmacSha256Key(`sign-in-pseudonym:${env.BETTER_AUTH_SECRET ?? "development"}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(normaliseEmail(email))));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The random pseudonym that failed sign-ins for `email` carry in the audit log (made on first
 * use, one statement so parallel failures agree). Null for an empty email.
 */
export async function signInPseudonymFor(env: Env, email: string): Promise<string | null> {
  if (!email) return null;
  const fresh = `signin:${[...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const row = await env.DB.prepare(
    "INSERT INTO sign_in_pseudonym (email_key, pseudonym) VALUES (?1, ?2) ON CONFLICT (email_key) DO UPDATE SET email_key = excluded.email_key RETURNING pseudonym",
  )
    .bind(await emailKey(env, email), fresh)
    .first<{ pseudonym: string }>();
  return row?.pseudonym ?? null;
}
