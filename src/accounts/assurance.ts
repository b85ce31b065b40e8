import { eq } from "drizzle-orm";
import { getDb } from "../db/client";
import { session as sessionTable, sessionAssurance, user as userTable } from "./schema";
import { SESSION, SESSION_COOKIE } from "./auth";
import { toRole, type AuthMethod, type SessionUser } from "./session";

/** Methods that are a second factor on top of the password (or, for a passkey, that make it two). */
const SECOND_FACTORS: readonly AuthMethod[] = ["otp", "backup", "uv"];

/**
 * The session token a response starts (its session Set-Cookie, not an expiry), or null.
 * The cookie value is better-auth's `<token>.<signature>`, URL-encoded.
 */
export function issuedSessionToken(response: Response): string | null {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${SESSION_COOKIE}=`) && !/max-age=0/i.test(l));
  if (!line) return null;
  const value = decodeURIComponent(line.slice(SESSION_COOKIE.length + 1).split(";")[0]!);
  const dot = value.lastIndexOf(".");
  return dot > 0 ? value.slice(0, dot) : null;
}

/**
 * Records how the session with `token` was authenticated. With `secondFactor`, the time of the
 * proof is now: the session was made by that proof. The account's current role is kept with it.
 */
export async function recordSessionAssurance(env: Env, token: string, methods: readonly AuthMethod[]): Promise<void> {
  const db = getDb(env.DB);
  const [row] = await db
    .select({ id: sessionTable.id, userId: sessionTable.userId, role: userTable.role })
    .from(sessionTable)
    .innerJoin(userTable, eq(userTable.id, sessionTable.userId))
    .where(eq(sessionTable.token, token))
    .limit(1);
  if (!row) return;
  const second = methods.some((m) => SECOND_FACTORS.includes(m) && (m !== "uv" || methods.includes("hwk")));
  await db
    .insert(sessionAssurance)
    .values({
      sessionId: row.id,
      userId: row.userId,
      methods: [...new Set(methods)].join(","),
      secondFactorAt: second ? new Date() : null,
      roleAtSignIn: toRole(row.role),
    })
    .onConflictDoNothing();
}

/**
 * A rotation (better-auth replaces the session when TOTP is enabled or disabled, the password
 * changes…): the new session inherits exactly what the old one had proven, never more. An old
 * session without a record gives a new one without a record (password only).
 */
export async function carrySessionAssurance(env: Env, from: SessionUser, newToken: string): Promise<void> {
  const a = from.assurance;
  if (!a) return;
  const db = getDb(env.DB);
  const [row] = await db.select({ id: sessionTable.id, userId: sessionTable.userId }).from(sessionTable).where(eq(sessionTable.token, newToken)).limit(1);
  if (!row || row.userId !== from.id) return;
  await db
    .insert(sessionAssurance)
    .values({
      sessionId: row.id,
      userId: row.userId,
      methods: a.methods.join(","),
      secondFactorAt: a.secondFactorAt === null ? null : new Date(a.secondFactorAt),
      roleAtSignIn: a.roleAtSignIn,
    })
    .onConflictDoNothing();
}

/** Why a session may not open staff routes, or null when it may (AAL2, decision 012). */
export type StaffAssuranceProblem = "no_second_factor_enrolled" | "no_second_factor_in_session" | "role_changed" | "too_old";

export function staffAssuranceProblem(user: SessionUser, now: number = Date.now()): StaffAssuranceProblem | null {
  const a = user.assurance;
  if (!a || a.secondFactorAt === null || !a.methods.some((m) => SECOND_FACTORS.includes(m))) {
    return user.twoFactorEnabled ? "no_second_factor_in_session" : "no_second_factor_enrolled";
  }
  if (a.methods.includes("hwk") && !a.methods.includes("uv") && !a.methods.includes("otp")) return "no_second_factor_in_session";
  if (a.roleAtSignIn !== user.role) return "role_changed";
  if (now - a.secondFactorAt > SESSION.staffSeconds * 1000) return "too_old";
  return null;
}

/**
 * Whether a WebAuthn assertion's authenticator data reports user verification (flag UV, bit 2).
 * Only read after better-auth verified the assertion, whose signature covers these bytes.
 */
export function assertionUserVerified(body: unknown): boolean {
  const data = (body as { response?: { response?: { authenticatorData?: unknown } } } | null)?.response?.response?.authenticatorData;
  if (typeof data !== "string") return false;
  try {
    const b64 = data.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
    return bytes.length > 32 && (bytes[32]! & 0x04) !== 0;
  } catch {
    return false;
  }
}
