import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { session as sessionTable } from "../db/schema";
import type { AppEnv } from "../platform/app-env";
import { authFor, SESSION_COOKIE } from "./auth";
import { authError, guardSecretCheck, withSessionAssurance } from "./auth-gate";
import { loginGuard } from "./login-guard";
import { afterSecurityEvent } from "./security-events";
import { executionContextOf, getSessionUser } from "./session";
import { bodyString, mergeGuestCartOnSignIn } from "./sign-in";

/**
 * The second step of a sign-in (and TOTP enrolment's confirmation), for the API route and the
 * sign-in form without JavaScript alike. `request` is better-auth's JSON request (`{ code }`),
 * the form route builds it from its fields with the browser's cookies.
 */
const handle = (c: Context<AppEnv>, request: Request): Promise<Response> => authFor(c.env, c.var.config, c.req.raw, executionContextOf(c)).handler(request);

/**
 * A TOTP code opens at most one session (RFC 6238 §5.2): a code that was already accepted for the
 * account within its validity window is refused and the session it just created is revoked. With
 * a session (enrolment), the code is checked under the LoginGuard like a password; the session
 * better-auth makes when TOTP is switched on inherits the old session's record, so a session
 * older than the enrolment never counts as one with a second factor (decision 012).
 */
export async function verifyTotpCode(c: Context<AppEnv>, request: Request): Promise<Response> {
  const code = (await bodyString(request, "code")).trim().slice(0, 16);
  const response = await guardSecretCheck(c, () => withSessionAssurance(c, ["pwd", "otp"], () => handle(c, request)));
  if (!response.ok || !code) return mergeGuestCartOnSignIn(c, response);
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { user?: { id?: string }; token?: string } | null;
  const userId = body?.user?.id ?? (await getSessionUser(c))?.id;
  if (!userId || !(await loginGuard(c.env, `totp:${userId}`).totpCodeSeen(code))) {
    return mergeGuestCartOnSignIn(c, await afterSecurityEvent(c, response, "/two-factor/verify-totp"));
  }
  // Replayed code: undo the session better-auth just made, and answer like a wrong code.
  const issued = response.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=`));
  const token = issued ? decodeURIComponent(issued.slice(SESSION_COOKIE.length + 1).split(";")[0]!).split(".")[0] : body?.token;
  if (token) await getDb(c.env.DB).delete(sessionTable).where(eq(sessionTable.token, token));
  await recordAudit(c.env, { actor: userId, action: "auth.totp.replay_refused", subject: userId, ip: c.req.header("cf-connecting-ip") ?? null });
  return authError(401, "INVALID_CODE", "Invalid code", { "set-cookie": `${SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax` });
}

/** A backup code as the second step: under the LoginGuard, audited and mailed, used once (better-auth). */
export async function verifyBackupCode(c: Context<AppEnv>, request: Request): Promise<Response> {
  const response = await guardSecretCheck(c, () => withSessionAssurance(c, ["pwd", "backup"], () => handle(c, request)));
  return mergeGuestCartOnSignIn(c, await afterSecurityEvent(c, response, "/two-factor/verify-backup-code"));
}
