import type { Context } from "hono";
import { shopSettingsFor } from "../settings/shop-settings";
import { eq } from "drizzle-orm";
import { z } from "@hono/zod-openapi";
import { recordAudit } from "../audit/audit";
import { CART_COOKIE, guestCartIdFromCookie, mergeGuestCart } from "../cart/cart";
import { getDb } from "../db/client";
import { user as userTable } from "../db/schema";
import type { AppEnv } from "../platform/app-env";
import { clientAddressKey } from "../platform/client-address";
import { authFor, SESSION_COOKIE } from "./auth";
import { EXPIRE_TRUST_DEVICE, guardRefusal as refusal, withoutTrustDeviceCookie, withSessionAssurance } from "./auth-gate";
import { auditRefusalWithBudget, loginGuard, normaliseEmail } from "./login-guard";
import { mailerFor, sendSafely } from "./mailer";
import { recordOperatorEvents } from "./operator-events";
import { signInPseudonymFor } from "./pseudonym";
import { executionContextOf } from "./session";
import { verifyTurnstile } from "./turnstile";

// Password sign-in (POST /api/auth/sign-in/email) and what every session-starting route shares.

/** A string field of the JSON body, read from a copy (better-auth reads the body itself); "" when absent. */
export async function bodyString(request: Request, field: string): Promise<string> {
  try {
    const value = ((await request.clone().json()) as Record<string, unknown> | null)?.[field];
    return typeof value === "string" ? value : "";
  } catch {
    return "";
  }
}

async function readEmail(request: Request): Promise<string> {
  return normaliseEmail(await bodyString(request, "email")).slice(0, 320);
}

/**
 * The email as an audit subject only when it is an email: a password pasted into the email field,
 * or any other text an attacker sends, must not be kept forever in the append-only log.
 */
function auditableEmail(email: string): string | null {
  return email && z.email().safeParse(email).success ? email : null;
}

/**
 * Password sign-in behind the LoginGuard objects (per submitted email and per client address).
 * Each attempt is counted as a failure before the password is checked and handed back on success,
 * so parallel guesses cannot slip past the limits (API.md "Throttling").
 */
export async function signInWithThrottle(c: Context<AppEnv>, raw: Request = c.req.raw): Promise<Response> {
  const env = c.env;
  const config = c.var.config;
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const address = clientAddressKey(c);
  const ctx = executionContextOf(c);
  const email = await readEmail(raw);
  // Refusals and failures name the typed email only by its pseudonym (ASVS 7; decision 012).
  const pseudonym = (): Promise<string | null> => signInPseudonymFor(env, auditableEmail(email) ?? "");
  const token = raw.headers.get("x-captcha-response") ?? undefined;
  const captchaOk = token ? await verifyTurnstile(config, token, ip) : false;

  const addressGuard = loginGuard(env, `ip:${address}`);
  const addressDecision = await addressGuard.attemptForAddress(captchaOk);
  const addressRefusal = refusal(addressDecision);
  if (addressRefusal) {
    const action = `auth.sign_in.${addressDecision.decision === "throttle" ? "throttled" : "captcha_required"}`;
    await auditRefusalWithBudget(
      env,
      `${address}:${action}`,
      async () =>
        recordAudit(env, { actor: "anonymous", action, subject: await pseudonym(), detail: { scope: "address", failures: addressDecision.failures }, ip }),
      ctx,
    );
    return addressRefusal;
  }
  const emailGuard = email ? loginGuard(env, `email:${email}`) : null;
  if (emailGuard) {
    const emailDecision = await emailGuard.attemptForEmail(captchaOk);
    const emailRefusal = refusal(emailDecision);
    if (emailRefusal) {
      await addressGuard.succeeded(); // nothing was tried: the address gets its attempt back
      const action = `auth.sign_in.${emailDecision.decision === "throttle" ? "throttled" : "captcha_required"}`;
      await auditRefusalWithBudget(
        env,
        `email:${email}:${action}`,
        async () =>
          recordAudit(env, { actor: "anonymous", action, subject: await pseudonym(), detail: { scope: "email", failures: emailDecision.failures }, ip }),
        ctx,
      );
      return emailRefusal;
    }
    if (emailDecision.decision === "allow" && emailDecision.notifyOwner) {
      executionContextOf(c)?.waitUntil(notifyOwnerOfThrottle(env, c, email));
    }
  }

  const auth = authFor(env, config, raw, ctx);
  // "Trust this device" never skips the second factor (decision 012): the cookie is not passed on.
  const { request, had: hadTrustCookie } = withoutTrustDeviceCookie(raw);
  let response = await mergeGuestCartOnSignIn(c, await withSessionAssurance(c, ["pwd"], () => auth.handler(request)));
  if (hadTrustCookie) {
    response = new Response(response.body, response);
    for (const line of EXPIRE_TRUST_DEVICE) response.headers.append("set-cookie", line);
  }
  if (response.ok) {
    await Promise.all([addressGuard.succeeded(), emailGuard?.succeeded()]);
    // Operator runs (admin:create) reach the audit log at the next sign-in.
    const operatorWork = recordOperatorEvents(env).catch((error: unknown) =>
      console.error(JSON.stringify({ level: "error", msg: "operator_events_failed", error: String(error) })),
    );
    if (ctx) ctx.waitUntil(operatorWork);
    else await operatorWork;
    const body = (await response
      .clone()
      .json()
      .catch(() => ({}))) as { user?: { id?: string }; twoFactorRedirect?: boolean };
    await recordAudit(env, {
      actor: body.user?.id ?? "anonymous",
      action: body.twoFactorRedirect ? "auth.sign_in.second_factor_required" : "auth.sign_in.succeeded",
      subject: body.user?.id ?? null,
      ip,
    });
  } else {
    // Failed sign-ins are audited in the background within a budget per address and per account
    // (FAILED_SIGN_IN_AUDIT); past it they are counted into one summary event per window.
    const failed = (async () => {
      const subject = await pseudonym();
      const budgets = [
        loginGuard(env, `failaudit:${address}`).failedSignInBudget(FAILED_SIGN_IN_AUDIT.max, FAILED_SIGN_IN_AUDIT.windowSeconds, {
          scope: "address",
          subject: null,
          ip,
        }),
      ];
      if (subject)
        budgets.push(
          loginGuard(env, `failaudit:account:${subject}`).failedSignInBudget(FAILED_SIGN_IN_AUDIT.max, FAILED_SIGN_IN_AUDIT.windowSeconds, {
            scope: "account",
            subject,
            ip: null,
          }),
        );
      if ((await Promise.all(budgets)).every(Boolean)) {
        await recordAudit(env, { actor: "anonymous", action: "auth.sign_in.failed", subject, detail: { status: response.status }, ip });
      }
    })();
    if (ctx) ctx.waitUntil(failed);
    else await failed;
  }
  return response;
}

/** Failed sign-ins that get an audit event of their own, per address and per account and window. */
export const FAILED_SIGN_IN_AUDIT = { max: 10, windowSeconds: 15 * 60 } as const;

async function notifyOwnerOfThrottle(env: Env, c: Context<AppEnv>, email: string): Promise<void> {
  const [owner] = await getDb(env.DB).select({ id: userTable.id, email: userTable.email }).from(userTable).where(eq(userTable.email, email)).limit(1);
  await recordAudit(env, {
    actor: "system",
    action: "auth.throttled",
    subject: owner?.id ?? (await signInPseudonymFor(env, email)),
    ip: c.req.header("cf-connecting-ip") ?? null,
  });
  if (!owner) return;
  const { shopName } = await shopSettingsFor(env.DB);
  await sendSafely(mailerFor(env, c.var.config), {
    to: owner.email,
    subject: `Security notice: failed sign-ins on your ${shopName} account`,
    text: "There were 10 failed attempts to sign in to your account. Sign-in is slowed down for a while. If this was not you, nothing is needed: your password was not accepted. Consider adding a passkey or an authenticator app.",
  });
}

/**
 * When a response starts a session (sign-up, sign-in, second factor, passkey) and the browser had
 * a guest cart, the guest cart is merged into the account's cart and its cookie is cleared
 * (API.md "Sessions and cookies"). The new session token itself comes from better-auth.
 */
export async function mergeGuestCartOnSignIn(c: Context<AppEnv>, response: Response): Promise<Response> {
  if (!response.ok) return response;
  const guestCartId = guestCartIdFromCookie(c);
  if (!guestCartId) return response;
  const startsSession = response.headers.getSetCookie().some((line) => line.startsWith(`${SESSION_COOKIE}=`) && !/max-age=0/i.test(line));
  if (!startsSession) return response;
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { user?: { id?: string }; session?: { userId?: string } } | null;
  const userId = body?.user?.id ?? body?.session?.userId;
  if (!userId) return response;
  await mergeGuestCart(c.env, guestCartId, userId);
  const merged = new Response(response.body, response);
  merged.headers.append("set-cookie", `${CART_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax`);
  return merged;
}
