import type { Context } from "hono";
import { recordAudit } from "../audit/audit";
import type { AppEnv } from "../platform/app-env";
import { shopSettingsFor } from "../settings/shop-settings";
import { mailerFor, sendSafely } from "./mailer";
import { executionContextOf, getSessionUser } from "./session";

interface SecurityEvent {
  action: string;
  /** The notice mailed to the account's address; null: audited only. */
  notice: ((shop: string) => { subject: string; text: string }) | null;
}

const UNLESS_YOU =
  "If this was not you, reset your password now (Forgot password on the sign-in page), then review your passkeys and sessions on your account page.";

/**
 * The security events of the better-auth routes, by path and by whether the request had a session
 * (`signedIn`) or started one (a sign-in). Each is audited and, where it changes how the account
 * is protected or who signed in with a second factor, mailed to the owner (P07).
 */
function eventFor(path: string, signedIn: boolean): SecurityEvent | null {
  switch (path) {
    case "/change-password":
      return {
        action: "auth.password.changed",
        notice: (shop) => ({
          subject: `Your ${shop} password was changed`,
          text: `Your password was changed and your other sessions were signed out. ${UNLESS_YOU}`,
        }),
      };
    case "/two-factor/enable":
      return { action: "auth.totp.setup_started", notice: null };
    case "/two-factor/verify-totp":
      return signedIn
        ? { action: "auth.totp.verified", notice: null }
        : {
            action: "auth.sign_in.totp",
            notice: (shop) => ({
              subject: `New sign-in to your ${shop} account`,
              text: `Someone signed in to your account with your password and an authenticator app code. ${UNLESS_YOU}`,
            }),
          };
    case "/two-factor/verify-backup-code":
      return {
        action: "auth.sign_in.backup_code",
        notice: (shop) => ({
          subject: `A backup code was used on your ${shop} account`,
          text: `A backup code was used to sign in. Each code works once. ${UNLESS_YOU}`,
        }),
      };
    case "/two-factor/disable":
      return {
        action: "auth.totp.disabled",
        notice: (_shop) => ({
          subject: "Two-step sign-in was turned off",
          text: `The authenticator app was removed from your account and its backup codes no longer work. ${UNLESS_YOU}`,
        }),
      };
    case "/passkey/verify-registration":
      return {
        action: "auth.passkey.added",
        notice: (shop) => ({ subject: `A passkey was added to your ${shop} account`, text: `A new passkey can now sign in to your account. ${UNLESS_YOU}` }),
      };
    case "/passkey/delete-passkey":
      return {
        action: "auth.passkey.removed",
        notice: (shop) => ({ subject: `A passkey was removed from your ${shop} account`, text: `A passkey was removed from your account. ${UNLESS_YOU}` }),
      };
    case "/passkey/verify-authentication":
      return {
        action: "auth.sign_in.passkey",
        notice: (shop) => ({ subject: `New sign-in to your ${shop} account`, text: `Someone signed in to your account with a passkey. ${UNLESS_YOU}` }),
      };
    case "/change-email":
      return { action: "auth.email.change_requested", notice: null }; // the old address is asked to approve (auth.ts)
    case "/revoke-sessions":
      return {
        action: "auth.sessions.revoked_all",
        notice: (_shop) => ({ subject: "You were signed out everywhere", text: `Every session of your account was signed out. ${UNLESS_YOU}` }),
      };
    case "/verify-email":
      return { action: "auth.email.verified", notice: null };
    default:
      return null;
  }
}

/**
 * After a better-auth route answered: its security event, if any, is written to the audit log and
 * its notice mailed (in the background when the request has an ExecutionContext). The TOTP
 * enrolment's confirmation is the `auth.totp.enabled` event, mailed too.
 */
export async function afterSecurityEvent(
  c: Context<AppEnv>,
  response: Response,
  // The better-auth route that answered: the request's own path, unless a form route called it.
  path: string = c.req.path.slice("/api/auth".length),
): Promise<Response> {
  if (!response.ok && !(response.status >= 300 && response.status < 400)) return response;
  const before = await getSessionUser(c);
  let event = eventFor(path, before !== null);
  if (!event) return response;
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { user?: { id?: string; email?: string; twoFactorEnabled?: boolean } } | null;
  if (path === "/two-factor/verify-totp" && before && !before.twoFactorEnabled) {
    event = {
      action: "auth.totp.enabled",
      notice: () => ({
        subject: "Two-step sign-in is on",
        text: `An authenticator app now protects your account; keep your backup codes somewhere safe. ${UNLESS_YOU}`,
      }),
    };
  }
  if (path === "/two-factor/verify-totp" && before && before.twoFactorEnabled) return response; // a step-up check, not an event
  const userId = before?.id ?? body?.user?.id ?? null;
  const email = before?.email ?? body?.user?.email ?? null;
  if (!userId) return response;
  const ip = c.req.header("cf-connecting-ip") ?? null;
  const work = (async () => {
    await recordAudit(c.env, { actor: userId, action: event.action, subject: userId, ip });
    if (event.notice && email) {
      const { shopName } = await shopSettingsFor(c.env.DB);
      await sendSafely(mailerFor(c.env, c.var.config), { to: email, ...event.notice(shopName) });
    }
  })();
  const ctx = executionContextOf(c);
  if (ctx) ctx.waitUntil(work.catch(() => undefined));
  else await work;
  return response;
}
