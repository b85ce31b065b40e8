import type { Context } from "hono";
import type { AppEnv } from "../platform/app-env";
import { eq } from "drizzle-orm";
import { getDb } from "../db/client";
import { session } from "../db/schema";
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

async function loadSessionUser(c: Context<AppEnv>): Promise<SessionUser | null> {
  const cookie = c.req.header("cookie");
  if (!cookie || !cookie.includes(`${SESSION_COOKIE}=`)) return null;
  const auth = authFor(c.env, c.var.config, c.req.raw, executionContextOf(c));
  const result = await auth.api.getSession({ headers: c.req.raw.headers, query: { disableRefresh: true } }).catch(() => null);
  if (!result) return null;
  const user = result.user as typeof result.user & { role?: string | null; banned?: boolean | null; twoFactorEnabled?: boolean | null };
  if (user.banned) return null;
  const role = toRole(user.role);
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role,
    emailVerified: Boolean(user.emailVerified),
    twoFactorEnabled: Boolean(user.twoFactorEnabled),
    sessionCreatedAt: new Date(result.session.createdAt).getTime(),
    sessionLastSeenAt: new Date(result.session.updatedAt).getTime(),
    sessionId: result.session.id,
  };
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
  await getDb(env.DB).update(session).set({ updatedAt: new Date(now) }).where(eq(session.id, user.sessionId));
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
