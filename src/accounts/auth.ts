import { passkey } from "@better-auth/passkey";
import { waitUntil } from "cloudflare:workers";
import { betterAuth } from "better-auth/minimal";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { createAuthMiddleware } from "better-auth/api";
import { admin } from "better-auth/plugins/admin";
import { twoFactor } from "better-auth/plugins/two-factor";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import * as accountTables from "./schema";
import type { Config } from "../platform/config";
import { loginGuard, normaliseEmail } from "./login-guard";
import { shopSettingsFor } from "../settings/shop-settings";
import { mailerFor, sendSafely, type Mail } from "./mailer";
import { hashPassword, scryptParamsFor, verifyPassword } from "./password";
import { PASSWORD_MAX, PASSWORD_MIN, passwordPolicy } from "./password-policy";

/** Session lifetimes (docs/decisions/007-sessions.md). */
export const SESSION = {
  /** Absolute lifetime of a shopper session: no sliding renewal. */
  shopperSeconds: 7 * 24 * 3600,
  /** Staff sessions older than this no longer open staff routes (AAL2: at most 24 h; we take 12 h). */
  staffSeconds: 12 * 3600,
  /** Staff sessions end after this long without staff activity (AAL2 inactivity timeout). */
  staffIdleSeconds: 3600,
  /** "Fresh" sign-in window for sensitive changes (API.md: 10 minutes). */
  freshSeconds: 10 * 60,
} as const;

export { SESSION_COOKIE } from "../platform/cookies";

function buildAuth(env: Env, config: Config) {
  const mailer = mailerFor(env, config);
  // Background work (mail, audit) outlives the response through the request's waitUntil.
  const later = (p: Promise<unknown>): void =>
    waitUntil(p.catch((error: unknown) => console.error(JSON.stringify({ level: "error", msg: "background_task_failed", error: String(error) }))));
  // Mail says the shop's name (its settings), read when the mail is made.
  const mailAs = (build: (shop: string) => Mail): void => later(shopSettingsFor(env.DB).then((s) => sendSafely(mailer, build(s.shopName))));
  const origin = config.PUBLIC_ORIGIN;
  return betterAuth({
    appName: "Bastion",
    baseURL: origin,
    basePath: "/api/auth",
    secret: config.BETTER_AUTH_SECRET ?? "",
    trustedOrigins: [origin],
    // D1 has no BEGIN: the adapter must not open transactions.
    database: drizzleAdapter(getDb(env.DB), { provider: "sqlite", schema: accountTables, transaction: false }),
    emailAndPassword: {
      enabled: true,
      minPasswordLength: PASSWORD_MIN,
      maxPasswordLength: PASSWORD_MAX,
      // No session from sign-up itself: with autoSignIn off, better-auth answers a sign-up for an
      // existing email exactly like a new one (a synthetic user, the same scrypt cost), so sign-up
      // cannot be used to enumerate accounts (P05). The sign-up page then signs in as usual.
      autoSignIn: false,
      requireEmailVerification: false,
      onExistingUserSignUp: async ({ user }) => {
        mailAs((shop) => ({
          to: user.email,
          subject: `Someone tried to create a ${shop} account with your email`,
          text: "Someone tried to create a new account with this address, which already has one. If it was you, sign in or reset your password. If not, you can ignore this mail: nothing changed.",
        }));
      },
      revokeSessionsOnPasswordReset: true,
      resetPasswordTokenExpiresIn: 20 * 60,
      password: {
        hash: (password) => hashPassword(password, scryptParamsFor(config.PASSWORD_HASH_COST)),
        verify: ({ hash, password }) => verifyPassword(hash, password),
      },
      sendResetPassword: async ({ user, url }) => {
        mailAs((shop) => ({
          to: user.email,
          subject: `Reset your ${shop} password`,
          text: `Someone asked to reset the password of your ${shop} account.\n\nTo choose a new password, open:\n${url}\n\nThe link works once and expires in 20 minutes. If this was not you, ignore this mail; your password is unchanged.`,
        }));
      },
      onPasswordReset: async ({ user }) => {
        // The reset proves the mailbox. On an account whose address was never verified, whoever
        // registered it first may have added factors: they all go, and the address is verified
        // (pre-registration takeover, decision 012).
        const removed = user.emailVerified ? null : await removeUnverifiedFactors(env, user.id);
        later(loginGuard(env, `email:${normaliseEmail(user.email)}`).reset());
        later(recordAudit(env, { actor: user.id, action: "auth.password.reset", subject: user.id, detail: removed ? { factorsRemoved: removed } : {} }));
        const extra = removed
          ? `\n\nYour address had not been confirmed yet, so the sign-in methods added before this reset were removed (${removed.passkeys} passkey(s)${removed.totp ? ", the authenticator app" : ""}). Your address is now confirmed; add them again on your account page.`
          : "";
        mailAs((shop) => ({
          to: user.email,
          subject: `Your ${shop} password was changed`,
          text: `Your password was reset and every session was signed out.${extra} If this was not you, reset it again and contact support.`,
        }));
      },
    },
    emailVerification: {
      sendOnSignUp: true,
      autoSignInAfterVerification: false,
      // Verification and change-email links live one hour (they were 24 h): a link found later in
      // a mailbox or a log is dead. An approved change makes its link useless (the old address no
      // longer names an account).
      expiresIn: 3600,
      sendVerificationEmail: async ({ user, url }) => {
        mailAs((shop) => ({
          to: user.email,
          subject: `Confirm your email for ${shop}`,
          text: `Welcome to ${shop}. Confirm your email address by opening:\n${url}`,
        }));
      },
    },
    user: {
      changeEmail: {
        enabled: true,
        sendChangeEmailConfirmation: async ({ user, newEmail, url }) => {
          // The old address hears about the change and must approve it (API.md: notify the old address).
          mailAs((shop) => ({
            to: user.email,
            subject: `Approve your new ${shop} email`,
            text: `Someone asked to change your account's email to ${newEmail}.\nApprove it by opening:\n${url}\nIf this was not you, change your password now.`,
          }));
        },
      },
    },
    session: {
      expiresIn: SESSION.shopperSeconds,
      // No sliding renewal: the lifetime is absolute (decision 007).
      updateAge: SESSION.shopperSeconds,
      freshAge: SESSION.freshSeconds,
      cookieCache: { enabled: false },
    },
    verification: { storeIdentifier: "hashed" },
    rateLimit: {
      // better-auth's limiter is off by default and per-isolate in memory: on, and shared through
      // a Durable Object. Login throttling proper is the LoginGuard middleware (routes.ts).
      enabled: true,
      window: 60,
      max: 60,
      customRules: {
        "/two-factor/verify-totp": { window: 60, max: 5 },
        "/two-factor/verify-backup-code": { window: 60, max: 5 },
        "/request-password-reset": { window: 60, max: 5 },
        "/send-verification-email": { window: 60, max: 3 },
        "/sign-up/email": { window: 60, max: 10 },
        // Password sign-in is throttled by the LoginGuard middleware (API.md numbers), not here.
        "/sign-in/email": { window: 60, max: 120 },
        "/get-session": false,
      },
      customStorage: {
        consume: (key: string, rule: { window: number; max: number }) => loginGuard(env, `rate:${key}`).rateLimitConsume(rule),
      } as never,
    },
    advanced: {
      // __Host- cookies: Secure, Path=/, no Domain (API.md). Browsers treat http://localhost as secure.
      cookiePrefix: "__Host-bastion",
      useSecureCookies: false,
      defaultCookieAttributes: { secure: true, httpOnly: true, sameSite: "lax", path: "/" },
      ipAddress: { ipAddressHeaders: ["cf-connecting-ip"] },
    },
    databaseHooks: {
      user: {
        create: {
          // Every new account is a customer whatever the body says (mass assignment, P16).
          before: async (user) => ({ data: { ...user, role: "customer" } }),
        },
      },
    },
    hooks: {
      before: createAuthMiddleware(async (c) => {
        // A password change always revokes every other session (API.md).
        if (c.path === "/change-password" && c.body && typeof c.body === "object") {
          return { context: { body: { ...(c.body as object), revokeOtherSessions: true } } };
        }
        // "Trust this device" would skip the second factor for 30 days, past sign-out everywhere
        // and password resets: never for anyone (decision 012). Registering a passkey never
        // starts a new session either (it would carry no proof of how it was made).
        if ((c.path === "/two-factor/verify-totp" || c.path === "/two-factor/verify-backup-code") && c.body && typeof c.body === "object") {
          return { context: { body: { ...(c.body as object), trustDevice: false } } };
        }
        if (c.path === "/passkey/verify-registration" && c.body && typeof c.body === "object") {
          return { context: { body: { ...(c.body as object), createSession: false } } };
        }
        return undefined;
      }),
    },
    plugins: [
      // A per-account lockout (atomic increment in D1) on top of the per-address rate limit: a
      // botnet rotating addresses still gets 5 guesses per 15 minutes at the 10^6 code space.
      twoFactor({ issuer: "Bastion", skipVerificationOnEnable: false, accountLockout: { enabled: true, maxFailedAttempts: 5, durationSeconds: 900 } } as never),
      passkey({ rpID: new URL(origin).hostname, rpName: "Bastion", origin }),
      admin({ defaultRole: "customer", adminRoles: ["admin"] }),
      passwordPolicy(),
    ],
  });
}

export type Auth = ReturnType<typeof buildAuth>;

/** Removes every passkey, TOTP secret and session of an account and marks its address verified. */
async function removeUnverifiedFactors(env: Env, userId: string): Promise<{ passkeys: number; totp: boolean }> {
  const [passkeys, totp] = await env.DB.batch([
    env.DB.prepare("DELETE FROM passkey WHERE user_id = ? RETURNING id").bind(userId),
    env.DB.prepare("DELETE FROM two_factor WHERE user_id = ? RETURNING id").bind(userId),
    env.DB.prepare("DELETE FROM session WHERE user_id = ?").bind(userId),
    env.DB.prepare("UPDATE user SET two_factor_enabled = 0, email_verified = 1 WHERE id = ?").bind(userId),
  ]);
  return { passkeys: passkeys?.results.length ?? 0, totp: (totp?.results.length ?? 0) > 0 };
}

const perEnv = new WeakMap<object, Auth>();

/**
 * The better-auth instance for this worker's env, built once per isolate and env object (like the
 * config): building it costs a few milliseconds of CPU (plugins, schema, adapters), which every
 * signed-in request would otherwise pay (docs/benchmarks.md). It holds no per-request state: the
 * request travels through its handler and AsyncLocalStorage; its drizzle client wraps the env's
 * D1 binding, the same object every request gets. (The exception to "a DB client per request".)
 */
export function authFor(env: Env, config: Config, request?: Request, ctx?: ExecutionContext | null): Auth {
  void request;
  void ctx;
  let auth = perEnv.get(env);
  if (!auth) {
    auth = buildAuth(env, config);
    perEnv.set(env, auth);
  }
  return auth;
}

/** better-auth outside a request (seeding the dev admin, CLI-like maintenance). */
export function authWithoutRequest(env: Env, config: Config): Auth {
  return authFor(env, config);
}
