import { createOTP } from "@better-auth/utils/otp";
import { symmetricDecrypt } from "better-auth/crypto";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { authError, guardSecretCheck } from "./auth-gate";
import { loginGuard } from "./login-guard";
import { sessionStepUp, twoFactor } from "./schema";
import { isFreshSession, type SessionUser } from "./session";

/**
 * Step-up for money actions (issue 32, docs/decisions/022). A staff session already proved a second
 * factor when it was made (decision 012); refunds ask for it again, recently: a sign-in within the
 * last 10 minutes, or a TOTP code typed on the page that asks, which holds for STEP_UP_WINDOW_MS.
 * The code is checked like a sign-in's second step: under the LoginGuard (attempts counted on the
 * account and the address, Turnstile and back-off), refused when it was already used in its window,
 * audited. The proof belongs to the session (gone with it) and to its user.
 */

/** How long a step-up holds: long enough for a few refunds in a row, short enough for a walked-away desk. */
export const STEP_UP_WINDOW_MS = 15 * 60 * 1000;

/** Until when this session may make money actions without another code (ms since epoch), or null: it must step up. */
export async function stepUpValidUntil(env: Env, user: SessionUser, now: number = Date.now()): Promise<number | null> {
  const [row] = await getDb(env.DB).select().from(sessionStepUp).where(eq(sessionStepUp.sessionId, user.sessionId)).limit(1);
  const bySignIn = isFreshSession(user, now) ? user.sessionCreatedAt + 10 * 60 * 1000 : 0;
  const byCode = row && row.userId === user.id ? row.verifiedAt.getTime() + STEP_UP_WINDOW_MS : 0;
  const until = Math.max(bySignIn, byCode);
  return until > now ? until : null;
}

/** Whether this account has a confirmed authenticator app to step up with. */
export async function canStepUpWithTotp(env: Env, user: SessionUser): Promise<boolean> {
  const [row] = await getDb(env.DB).select({ verified: twoFactor.verified }).from(twoFactor).where(eq(twoFactor.userId, user.id)).limit(1);
  return Boolean(row && row.verified !== false && user.twoFactorEnabled);
}

async function totpMatches(env: Env, secretKey: string, userId: string, code: string): Promise<boolean> {
  const [row] = await getDb(env.DB).select({ secret: twoFactor.secret }).from(twoFactor).where(eq(twoFactor.userId, userId)).limit(1);
  if (!row) return false;
  const secret = await symmetricDecrypt({ key: secretKey, data: row.secret });
  return createOTP(secret, { period: 30, digits: 6 }).verify(code);
}

/** Why a step-up code was refused, as staff read it. */
export type StepUpRefusal = "invalid_code" | "throttled" | "no_authenticator";

/**
 * Checks a TOTP code for this session's user and, when it is right and unused, records the
 * step-up. Returns until when it holds, or why not.
 */
export async function stepUpWithTotp(c: Context<AppEnv>, user: SessionUser, code: string): Promise<{ validUntil: number } | { refused: StepUpRefusal }> {
  const env = c.env;
  if (!(await canStepUpWithTotp(env, user))) return { refused: "no_authenticator" };
  const clean = code.replace(/\s+/g, "");
  const response = await guardSecretCheck(c, async () => {
    const right = /^\d{6}$/.test(clean) && (await totpMatches(env, c.var.config.BETTER_AUTH_SECRET ?? "", user.id, clean));
    // A code opens at most one proof within its window (RFC 6238 §5.2), sign-ins and step-ups alike.
    if (!right || (await loginGuard(env, `totp:${user.id}`).totpCodeSeen(clean))) return authError(401, "INVALID_CODE", "Invalid code");
    return new Response(null, { status: 204 });
  });
  if (response.status === 429 || response.status === 403) return { refused: "throttled" };
  if (!response.ok) return { refused: "invalid_code" };
  const now = Date.now();
  await getDb(env.DB)
    .insert(sessionStepUp)
    .values({ sessionId: user.sessionId, userId: user.id, method: "otp", verifiedAt: new Date(now) })
    .onConflictDoUpdate({ target: sessionStepUp.sessionId, set: { method: "otp", verifiedAt: new Date(now) } });
  await recordAudit(env, { actor: user.id, action: "auth.step_up", subject: user.id, detail: { method: "otp" }, ip: c.req.header("cf-connecting-ip") ?? null });
  return { validUntil: now + STEP_UP_WINDOW_MS };
}
