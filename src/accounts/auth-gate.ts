import type { Context } from "hono";
import { recordAudit } from "../audit/audit";
import type { AppEnv } from "../platform/app-env";
import { clientAddressKey } from "../platform/client-address";
import { carrySessionAssurance, issuedSessionToken, recordSessionAssurance } from "./assurance";
import { auditRefusalWithBudget, loginGuard, normaliseEmail, type GuardDecision } from "./login-guard";
import { executionContextOf, getSessionUser, type AuthMethod } from "./session";
import { verifyTurnstile } from "./turnstile";

/**
 * The better-auth routes the shop uses, by method and path under /api/auth (an allow-list:
 * every other better-auth endpoint, such as verify-password, delete-user, get-totp-uri,
 * generate-backup-codes or the admin plugin's, answers 404, so a stolen session finds no
 * unthrottled place to test a password or a code).
 */
const ALLOWED: readonly [string, RegExp][] = [
  ["POST", /^\/sign-up\/email$/],
  ["POST", /^\/sign-in\/email$/],
  ["POST", /^\/sign-out$/],
  ["POST", /^\/request-password-reset$/],
  ["POST", /^\/reset-password$/],
  ["GET", /^\/reset-password\/[A-Za-z0-9_-]{1,200}$/],
  ["POST", /^\/change-password$/],
  ["POST", /^\/update-user$/],
  ["POST", /^\/change-email$/],
  ["GET", /^\/verify-email$/],
  ["POST", /^\/send-verification-email$/],
  ["POST", /^\/revoke-sessions$/],
  ["POST", /^\/two-factor\/enable$/],
  ["POST", /^\/two-factor\/disable$/],
  ["POST", /^\/two-factor\/verify-totp$/],
  ["POST", /^\/two-factor\/verify-backup-code$/],
  ["GET", /^\/passkey\/generate-register-options$/],
  ["POST", /^\/passkey\/verify-registration$/],
  ["GET", /^\/passkey\/generate-authenticate-options$/],
  ["POST", /^\/passkey\/verify-authentication$/],
  ["GET", /^\/passkey\/list-user-passkeys$/],
  ["POST", /^\/passkey\/delete-passkey$/],
];

/** Whether `method path` (path relative to /api/auth) is a better-auth route the shop serves. */
export function isAllowedAuthRoute(method: string, path: string): boolean {
  const m = method === "HEAD" ? "GET" : method;
  return ALLOWED.some(([am, re]) => am === m && re.test(path));
}

/** better-auth's error body shape, kept for /api/auth/* (API.md). */
export function authError(status: 401 | 403 | 404 | 429, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ code, message }), { status, headers: { "content-type": "application/json", ...headers } });
}

export function guardRefusal(decision: GuardDecision): Response | null {
  if (decision.decision === "captcha") {
    return authError(403, "CAPTCHA_REQUIRED", "Too many failed attempts: complete the Turnstile check and try again.");
  }
  if (decision.decision === "throttle") {
    return authError(429, "TOO_MANY_ATTEMPTS", "Too many failed attempts. Try again later, or reset your password.", {
      "retry-after": String(decision.retryAfterSeconds),
    });
  }
  return null;
}

/** better-auth error codes that mean "the secret you sent is wrong" (a guess that counts). */
const WRONG_SECRET = new Set([
  "INVALID_PASSWORD",
  "INVALID_CODE",
  "INVALID_BACKUP_CODE",
  "INVALID_TWO_FACTOR_COOKIE",
  "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
  "ACCOUNT_TEMPORARILY_LOCKED",
]);

/**
 * A route that checks a password or a code for a signed-in account (change-password, TOTP
 * enable/disable/verify, backup codes) goes through the same LoginGuard limits as sign-in: per
 * account (the account's email key, shared with sign-in, so guesses here and there add up) and
 * per client address. Each attempt is counted before the check; a success ends the streak, a
 * refusal for another reason (not fresh, bad body) gives the attempt back.
 */
export async function guardSecretCheck(c: Context<AppEnv>, run: () => Promise<Response>): Promise<Response> {
  const env = c.env;
  const user = await getSessionUser(c);
  const ip = c.req.header("cf-connecting-ip") ?? null;
  const token = c.req.header("x-captcha-response");
  const captchaOk = token ? await verifyTurnstile(c.var.config, token, ip) : false;
  const addressGuard = loginGuard(env, `ip:${clientAddressKey(c)}`);
  const addressRefusal = guardRefusal(await addressGuard.attemptForAddress(captchaOk));
  if (addressRefusal) return addressRefusal;
  const accountGuard = user ? loginGuard(env, `email:${normaliseEmail(user.email)}`) : null;
  if (accountGuard) {
    const decision = await accountGuard.attemptForEmail(captchaOk);
    const refusal = guardRefusal(decision);
    if (refusal) {
      await addressGuard.refund();
      await auditRefusalWithBudget(
        env,
        `account:${user!.id}:secret_check`,
        () =>
          recordAudit(env, {
            actor: user!.id,
            action: "auth.secret_check.throttled",
            subject: user!.id,
            detail: { path: c.req.path, failures: decision.failures },
            ip,
          }),
        executionContextOf(c),
      );
      return refusal;
    }
  }
  const response = await run();
  if (response.ok) {
    await Promise.all([addressGuard.succeeded(), accountGuard?.succeeded()]);
    return response;
  }
  const code =
    (
      (await response
        .clone()
        .json()
        .catch(() => null)) as { code?: string } | null
    )?.code ?? "";
  if (WRONG_SECRET.has(code)) {
    const failed = recordAudit(env, {
      actor: user?.id ?? "anonymous",
      action: "auth.secret_check.failed",
      subject: user?.id ?? null,
      detail: { path: c.req.path, code },
      ip,
    });
    executionContextOf(c)?.waitUntil(failed);
  } else {
    await Promise.all([addressGuard.refund(), accountGuard?.refund()]);
  }
  return response;
}

/**
 * Runs a better-auth route and records how any session it starts was authenticated: a rotation of
 * the request's own session inherits that session's record; a new sign-in gets `methods` (or the
 * result of `methods(response)` when it depends on what was verified). `null` records nothing.
 */
export async function withSessionAssurance(
  c: Context<AppEnv>,
  methods: readonly AuthMethod[] | null | ((response: Response) => Promise<readonly AuthMethod[] | null>),
  run: () => Promise<Response>,
): Promise<Response> {
  const before = await getSessionUser(c);
  const response = await run();
  if (!response.ok) return response;
  const token = issuedSessionToken(response);
  if (!token) return response;
  if (before) {
    await carrySessionAssurance(c.env, before, token);
    return response;
  }
  const resolved = typeof methods === "function" ? await methods(response) : methods;
  if (resolved) await recordSessionAssurance(c.env, token, resolved);
  return response;
}

/** better-auth's "trust this device" cookie: the shop never honours it (decision 012). */
export function isTrustDeviceCookie(name: string): boolean {
  return /(^|\.)trust_device$/.test(name.trim());
}

/** The request without any trust-device cookie, and whether it had one. */
export function withoutTrustDeviceCookie(request: Request): { request: Request; had: boolean } {
  const cookie = request.headers.get("cookie");
  if (!cookie) return { request, had: false };
  const parts = cookie.split(";");
  const kept = parts.filter((p) => !isTrustDeviceCookie(p.split("=")[0] ?? ""));
  if (kept.length === parts.length) return { request, had: false };
  const headers = new Headers(request.headers);
  if (kept.length) headers.set("cookie", kept.join(";"));
  else headers.delete("cookie");
  return { request: new Request(request, { headers }), had: true };
}

/** Set-Cookie lines that delete the trust-device cookie under every name better-auth may use. */
export const EXPIRE_TRUST_DEVICE = ["__Host-bastion.trust_device", "__Secure-__Host-bastion.trust_device"].map(
  (n) => `${n}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax`,
);
