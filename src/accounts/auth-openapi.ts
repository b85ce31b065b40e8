import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/app-env";
import { access } from "../platform/openapi";
import { PASSWORD_MAX, PASSWORD_MIN } from "./password-policy";
import {
  AuthUser,
  errors,
  json,
  needsSession,
  Passkey,
  secretCheck,
  SignedIn,
  Status,
  throttled,
  WebAuthnOptions,
  WebAuthnResponse,
  type AuthRoute,
} from "./auth-openapi-schemas";

// The better-auth routes the shop serves (the allow-list in auth-gate.ts), described for the
// OpenAPI document. better-auth handles them, so these entries only document: a test checks the
// list against the allow-list, and the typed-client test validates their answers against it.

const ROUTES: AuthRoute[] = [
  {
    method: "post",
    path: "/auth/sign-up/email",
    operationId: "signUp",
    summary: "Create an account (the answer is the same whether or not the email is taken; a verification mail follows)",
    security: "public",
    body: z.object({
      name: z.string().max(100),
      email: z.string().email(),
      password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
      callbackURL: z.string().optional(),
    }),
    ok: { status: 200, description: "Accepted", schema: Status },
    refusals: { 400: "`PASSWORD_TOO_SHORT`, `PASSWORD_TOO_LONG`, `PASSWORD_COMPROMISED` or `PASSWORD_TOO_WEAK`", 403: "`CAPTCHA_REQUIRED`", ...throttled },
  },
  {
    method: "post",
    path: "/auth/sign-in/email",
    operationId: "signInWithPassword",
    summary: "Sign in with email and password",
    security: "public",
    body: z.object({ email: z.string(), password: z.string(), rememberMe: z.boolean().optional(), callbackURL: z.string().optional() }),
    ok: { status: 200, description: "Signed in, or the TOTP code is needed next", schema: SignedIn },
    refusals: { 401: "`INVALID_EMAIL_OR_PASSWORD`", 403: "`CAPTCHA_REQUIRED`: pass a Turnstile token in `x-captcha-response`", ...throttled },
  },
  {
    method: "post",
    path: "/auth/sign-out",
    operationId: "signOut",
    summary: "End this session",
    security: "signedIn",
    ok: { status: 200, description: "Signed out", schema: z.object({ success: z.boolean() }) },
    refusals: { 400: "`FAILED_TO_GET_SESSION`: no session" },
  },
  {
    method: "post",
    path: "/auth/request-password-reset",
    operationId: "requestPasswordReset",
    summary: "Mail a password reset link (same answer for unknown emails)",
    security: "public",
    body: z.object({ email: z.string().email(), redirectTo: z.string().optional() }),
    ok: { status: 200, description: "Accepted", schema: z.object({ status: z.boolean(), message: z.string().optional() }) },
    refusals: throttled,
  },
  {
    method: "get",
    path: "/auth/reset-password/{token}",
    operationId: "openPasswordResetLink",
    summary: "The link in the reset mail: redirects to the reset form with the token, or with `error=INVALID_TOKEN`",
    security: "public",
    query: z.object({ callbackURL: z.string() }),
    ok: { status: 302, description: "To the reset form" },
    refusals: { 400: "Missing callback" },
  },
  {
    method: "post",
    path: "/auth/reset-password",
    operationId: "resetPassword",
    summary: "Set a new password with a reset token (ends every session)",
    security: "public",
    body: z.object({ newPassword: z.string(), token: z.string() }),
    ok: { status: 200, description: "Changed", schema: Status },
    refusals: { 400: "`INVALID_TOKEN` or a password rule", ...throttled },
  },
  {
    method: "post",
    path: "/auth/change-password",
    operationId: "changePassword",
    summary: "Change the password (current password needed)",
    security: "signedIn",
    body: z.object({ currentPassword: z.string(), newPassword: z.string(), revokeOtherSessions: z.boolean().optional() }),
    ok: { status: 200, description: "Changed", schema: z.object({ token: z.string().nullable(), user: AuthUser }) },
    refusals: { 400: "`INVALID_PASSWORD` or a password rule", ...needsSession, ...secretCheck, ...throttled },
  },
  {
    method: "post",
    path: "/auth/update-user",
    operationId: "updateUser",
    summary: "Change the display name",
    security: "signedIn",
    body: z.object({ name: z.string().max(100).optional() }),
    ok: { status: 200, description: "Updated", schema: Status },
    refusals: { 400: "A field that cannot be changed here", ...needsSession },
  },
  {
    method: "post",
    path: "/auth/change-email",
    operationId: "changeEmail",
    summary: "Start an email change (verified email and a sign-in within 10 minutes; confirmed from the new address)",
    security: "signedIn",
    body: z.object({ newEmail: z.string().email(), callbackURL: z.string().optional() }),
    ok: { status: 200, description: "Confirmation mailed", schema: Status },
    refusals: { 400: "Same or invalid email", ...needsSession, 403: "`EMAIL_NOT_VERIFIED` or `SESSION_NOT_FRESH`" },
  },
  {
    method: "get",
    path: "/auth/verify-email",
    operationId: "verifyEmail",
    summary: "The link in a verification mail (never signs anyone in)",
    security: "public",
    query: z.object({ token: z.string(), callbackURL: z.string().optional() }),
    ok: { status: 200, description: "Verified (without callbackURL)", schema: Status },
    redirects: "To callbackURL (with `error=` when the link is invalid or expired)",
    refusals: { 401: "`INVALID_TOKEN` or `TOKEN_EXPIRED`" },
  },
  {
    method: "post",
    path: "/auth/send-verification-email",
    operationId: "sendVerificationEmail",
    summary: "Mail a new verification link",
    security: "public",
    body: z.object({ email: z.string().email(), callbackURL: z.string().optional() }),
    ok: { status: 200, description: "Accepted", schema: Status },
    refusals: { 400: "Already verified", ...throttled },
  },
  {
    method: "post",
    path: "/auth/revoke-sessions",
    operationId: "revokeSessions",
    summary: "Sign out everywhere",
    security: "signedIn",
    ok: { status: 200, description: "Every session ended", schema: Status },
    refusals: needsSession,
  },
  {
    method: "post",
    path: "/auth/two-factor/enable",
    operationId: "enableTotp",
    summary: "Start TOTP enrolment (verified email, password needed): the secret and backup codes",
    security: "signedIn",
    body: z.object({ password: z.string(), issuer: z.string().optional() }),
    ok: {
      status: 200,
      description: "Scan the URI, then confirm a code with verify-totp",
      schema: z.object({ totpURI: z.string(), backupCodes: z.array(z.string()) }),
    },
    refusals: { 400: "`INVALID_PASSWORD`", ...needsSession, 403: "`EMAIL_NOT_VERIFIED` or `CAPTCHA_REQUIRED`", ...throttled },
  },
  {
    method: "post",
    path: "/auth/two-factor/disable",
    operationId: "disableTotp",
    summary: "Switch TOTP off (password needed)",
    security: "signedIn",
    body: z.object({ password: z.string() }),
    ok: { status: 200, description: "Off", schema: Status },
    refusals: { 400: "`INVALID_PASSWORD`", ...needsSession, ...secretCheck, ...throttled },
  },
  {
    method: "post",
    path: "/auth/two-factor/verify-totp",
    operationId: "verifyTotp",
    summary: "Prove the TOTP code: finishes a sign-in (or an enrolment); a code is accepted once",
    security: "signedIn",
    body: z.object({ code: z.string(), trustDevice: z.literal(false).optional() }),
    ok: { status: 200, description: "Session with two factors", schema: z.object({ token: z.string(), user: AuthUser }) },
    refusals: { 401: "`INVALID_CODE` (also a replayed code) or no pending sign-in", ...throttled },
  },
  {
    method: "post",
    path: "/auth/two-factor/verify-backup-code",
    operationId: "verifyBackupCode",
    summary: "Finish a sign-in with a single-use backup code",
    security: "signedIn",
    body: z.object({ code: z.string() }),
    ok: { status: 200, description: "Session with two factors", schema: z.object({ token: z.string().optional(), user: AuthUser }) },
    refusals: { 401: "`INVALID_BACKUP_CODE` or no pending sign-in", ...throttled },
  },
  {
    method: "get",
    path: "/auth/passkey/generate-register-options",
    operationId: "passkeyRegistrationOptions",
    summary: "WebAuthn options to add a passkey (verified email, sign-in within 10 minutes)",
    security: "signedIn",
    ok: { status: 200, description: "Creation options", schema: WebAuthnOptions },
    refusals: { ...needsSession, 403: "`EMAIL_NOT_VERIFIED` or `SESSION_NOT_FRESH`" },
  },
  {
    method: "post",
    path: "/auth/passkey/verify-registration",
    operationId: "registerPasskey",
    summary: "Save the new passkey",
    security: "signedIn",
    body: z.object({ response: WebAuthnResponse, name: z.string().optional() }),
    ok: { status: 200, description: "Saved", schema: Passkey },
    refusals: { 400: "`FAILED_TO_VERIFY_REGISTRATION` or no challenge", ...needsSession, 403: "`EMAIL_NOT_VERIFIED`" },
  },
  {
    method: "get",
    path: "/auth/passkey/generate-authenticate-options",
    operationId: "passkeySignInOptions",
    summary: "WebAuthn options to sign in with a passkey",
    security: "public",
    ok: { status: 200, description: "Request options", schema: WebAuthnOptions },
    refusals: throttled,
  },
  {
    method: "post",
    path: "/auth/passkey/verify-authentication",
    operationId: "signInWithPasskey",
    summary: "Sign in with a passkey (two factors only when the authenticator verified the user)",
    security: "public",
    body: z.object({ response: WebAuthnResponse }),
    ok: { status: 200, description: "Signed in", schema: z.object({ session: z.record(z.string(), z.unknown()), user: z.record(z.string(), z.unknown()) }) },
    refusals: { 400: "`AUTHENTICATION_FAILED` or no challenge", 401: "`PASSKEY_NOT_FOUND`", ...throttled },
  },
  {
    method: "get",
    path: "/auth/passkey/list-user-passkeys",
    operationId: "listPasskeys",
    summary: "The account's passkeys",
    security: "signedIn",
    ok: { status: 200, description: "Passkeys", schema: z.array(Passkey) },
    refusals: needsSession,
  },
  {
    method: "post",
    path: "/auth/passkey/delete-passkey",
    operationId: "deletePasskey",
    summary: "Remove a passkey (sign-in within 10 minutes)",
    security: "signedIn",
    body: z.object({ id: z.string() }),
    ok: { status: 200, description: "Removed", schema: Status },
    refusals: { ...needsSession, 403: "`SESSION_NOT_FRESH`", 404: "`PASSKEY_NOT_FOUND`" },
  },
];

// better-auth validates bodies itself: a missing or mistyped field is its 400 `VALIDATION_ERROR`.
function withValidation(route: AuthRoute): Record<number, string> {
  if (!route.body) return route.refusals;
  const validation = "`VALIDATION_ERROR`: a field is missing or invalid";
  return { ...route.refusals, 400: route.refusals[400] ? `${route.refusals[400]}; or ${validation}` : validation };
}

/** Adds the better-auth routes to `api`'s OpenAPI registry (documentation only: no handler). */
export function describeAuthRoutes(api: OpenAPIHono<AppEnv>): void {
  for (const route of ROUTES) {
    const tokenParam = route.path.includes("{token}") ? { params: z.object({ token: z.string() }) } : {};
    api.openAPIRegistry.registerPath({
      method: route.method,
      path: route.path,
      operationId: route.operationId,
      tags: ["Accounts"],
      summary: route.summary,
      ...access[route.security],
      request: {
        ...tokenParam,
        ...(route.query ? { query: route.query } : {}),
        ...(route.body ? { body: { required: true, ...json(route.body) } } : {}),
      },
      responses: {
        [route.ok.status]: { description: route.ok.description, ...(route.ok.schema ? json(route.ok.schema) : {}) },
        ...(route.redirects ? { 302: { description: route.redirects } } : {}),
        ...errors(withValidation(route)),
      },
    });
  }
}

/** The documented better-auth routes as `METHOD /path` under /api/auth, for the allow-list test. */
export const documentedAuthRoutes = ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path.slice("/auth".length)}`);
