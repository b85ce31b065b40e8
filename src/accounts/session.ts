import type { Context } from "hono";
import type { AppEnv } from "../platform/app-env";
import { eq, sql } from "drizzle-orm";
import { getDb, preparedStatement } from "../db/client";
import { session, sessionAssurance, user } from "../db/schema";
import { hmacSha256Key } from "../platform/hmac";
import { ProblemError } from "../platform/problem";
import { authFor, SESSION, SESSION_COOKIE } from "./auth";

export type Role = "customer" | "support" | "admin";

/** A stored role as the app knows it: anything unexpected is the least privileged role. */
export function toRole(value: string | null | undefined): Role {
  return value === "admin" || value === "support" ? value : "customer";
}

/** The signed-in user as every other domain sees it. */
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  /** When this session was created (sign-in), ms since epoch: staff and "fresh" checks use it. */
  sessionCreatedAt: number;
  /** Last staff activity on this session (its `updated_at`), ms since epoch. */
  sessionLastSeenAt: number;
  sessionId: string;
  /**
   * How this session was authenticated (decision 012), or null for a session with no record (a
   * password-only session made before the record existed, or a rotation of one).
   */
  assurance: SessionAssurance | null;
}

/** Authentication methods a session can record (RFC 8176 names where they exist). */
export type AuthMethod = "pwd" | "otp" | "backup" | "hwk" | "uv";

export interface SessionAssurance {
  methods: AuthMethod[];
  /** When a second factor was proven in this session (ms since epoch), or null. */
  secondFactorAt: number | null;
  /** The account's role when the session was made: a later role change never carries over. */
  roleAtSignIn: Role;
}

/** The request's ExecutionContext, when there is one (not in some direct test calls). */
export function executionContextOf(c: Context<AppEnv>): ExecutionContext | null {
  try {
    return c.executionCtx as ExecutionContext;
  } catch {
    return null;
  }
}

const perRequest = new WeakMap<Request, Promise<SessionUser | null>>();

/**
 * The user of this request's session cookie, or `null` for a guest. Requests without the
 * session cookie never touch better-auth or D1 (the hot path of guest browsing).
 */
export function getSessionUser(c: Context<AppEnv>): Promise<SessionUser | null> {
  let pending = perRequest.get(c.req.raw);
  if (!pending) {
    pending = loadSessionUser(c);
    perRequest.set(c.req.raw, pending);
  }
  return pending;
}

/**
 * better-auth's `getSession` (with refresh off, which is how the shop runs it: absolute
 * lifetimes, decision 007), without its endpoint machinery: verify the cookie's signature, read
 * the session and its user in one D1 join, refuse an expired session or a banned user. Through
 * better-auth it cost ~2 ms of CPU on every signed-in request (docs/benchmarks.md). Everything
 * that writes sessions (sign-in, sign-out, revocation, password change) stays with better-auth.
 */
async function loadSessionUser(c: Context<AppEnv>): Promise<SessionUser | null> {
  const cookie = c.req.header("cookie");
  if (!cookie?.includes(`${SESSION_COOKIE}=`)) return null;
  const signed = firstCookieValue(cookie, SESSION_COOKIE);
  if (!signed) return null;
  // The secret better-auth signs with (its context resolves the configured or default one).
  const auth = authFor(c.env, c.var.config, c.req.raw, executionContextOf(c));
  const token = await verifiedSessionToken(signed, (await auth.$context).secret);
  if (!token) return null;
  const statement = preparedStatement(c.env.DB, "session.byToken.v2", (db) =>
    db
      .select({
        sessionId: session.id,
        createdAt: session.createdAt,
        updatedAt: session.updatedAt,
        expiresAt: session.expiresAt,
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        emailVerified: user.emailVerified,
        twoFactorEnabled: user.twoFactorEnabled,
        banned: user.banned,
        methods: sessionAssurance.methods,
        secondFactorAt: sessionAssurance.secondFactorAt,
        roleAtSignIn: sessionAssurance.roleAtSignIn,
      })
      .from(session)
      .innerJoin(user, eq(session.userId, user.id))
      .leftJoin(sessionAssurance, eq(sessionAssurance.sessionId, session.id))
      .where(eq(session.token, sql.placeholder("token")))
      .limit(1)
      .prepare(),
  );
  const [row] = await statement.all({ token });
  // better-auth: a session whose expiresAt has passed is no session.
  if (!row || row.expiresAt.getTime() < Date.now() || row.banned) return null;
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: toRole(row.role),
    emailVerified: Boolean(row.emailVerified),
    twoFactorEnabled: Boolean(row.twoFactorEnabled),
    sessionCreatedAt: row.createdAt.getTime(),
    sessionLastSeenAt: row.updatedAt.getTime(),
    sessionId: row.sessionId,
    assurance:
      row.methods === null
        ? null
        : {
            methods: row.methods.split(",").filter(Boolean) as AuthMethod[],
            secondFactorAt: row.secondFactorAt ? row.secondFactorAt.getTime() : null,
            roleAtSignIn: toRole(row.roleAtSignIn),
          },
  };
}

/**
 * The first value of cookie `name` in a Cookie header, URL-decoded, as better-auth's own parser
 * (better-call's `parseCookies`) reads it: with two cookies of that name, both read the same one,
 * so a session this lookup accepts is the session better-auth's endpoints (sign-out) act on.
 */
export function firstCookieValue(header: string, name: string): string | null {
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return null;
}

/**
 * The session token inside a signed cookie value, or null when the signature is wrong. The format
 * is better-auth's (better-call's `signCookieValue`): `<token>.<base64 HMAC-SHA256(secret, token)>`.
 */
export async function verifiedSessionToken(value: string, secret: string): Promise<string | null> {
  const dot = value.lastIndexOf(".");
  if (dot < 1) return null;
  const token = value.slice(0, dot);
  const signature = value.slice(dot + 1);
  if (signature.length !== 44 || !signature.endsWith("=")) return null;
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(signature), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
  return (await crypto.subtle.verify("HMAC", await hmacSha256Key(secret), bytes, new TextEncoder().encode(token))) ? token : null;
}

/** The signed-in user, or `401 unauthenticated`. */
export async function requireUser(c: Context<AppEnv>): Promise<SessionUser> {
  const user = await getSessionUser(c);
  if (!user) throw new ProblemError(401, "unauthenticated", "Sign in to continue.");
  return user;
}

/** Staff sessions expire sooner than shoppers' (decision 007). */
export function staffSessionExpired(user: SessionUser, now: number = Date.now()): boolean {
  return now - user.sessionCreatedAt > SESSION.staffSeconds * 1000;
}

/** Staff sessions end after an hour without staff activity (NIST SP 800-63B-4 AAL2; decision 007). */
export function staffSessionIdle(user: SessionUser, now: number = Date.now()): boolean {
  return now - user.sessionLastSeenAt > SESSION.staffIdleSeconds * 1000;
}

/**
 * Records staff activity on the session (at most once a minute, to keep writes off most requests).
 * better-auth's own renewal is off (absolute lifetimes), so `updated_at` is ours to use.
 */
export async function touchStaffSession(env: Env, user: SessionUser, now: number = Date.now()): Promise<void> {
  if (now - user.sessionLastSeenAt < 60_000) return;
  await getDb(env.DB)
    .update(session)
    .set({ updatedAt: new Date(now) })
    .where(eq(session.id, user.sessionId));
}

/** Whether the session's sign-in is within the last 10 minutes (API.md "fresh sign-in"). */
export function isFreshSession(user: SessionUser, now: number = Date.now()): boolean {
  return now - user.sessionCreatedAt <= SESSION.freshSeconds * 1000;
}

/** Sensitive staff actions (refunds, role changes) need a sign-in within the last 10 minutes. */
export function requireFreshSession(user: SessionUser, now: number = Date.now()): void {
  if (!isFreshSession(user, now)) {
    throw new ProblemError(403, "reauth_required", "Sign in again to do this (your last sign-in is older than 10 minutes).");
  }
}
