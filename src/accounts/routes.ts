import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { mailOutbox, session as sessionTable, user as userTable } from "../db/schema";
import type { AppEnv } from "../platform/app-env";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { authFor, authWithoutRequest, SESSION_COOKIE } from "./auth";
import { normaliseEmail } from "./login-guard";
import { executionContextOf, getSessionUser, isFreshSession, requireUser } from "./session";
import { desc } from "drizzle-orm";
import { assertionUserVerified, issuedSessionToken } from "./assurance";
import { afterSecurityEvent } from "./security-events";
import { notifyOldAddressOfEmailChange } from "./account-lock";
import { authError, guardSecretCheck, isAllowedAuthRoute, withSessionAssurance } from "./auth-gate";
import { mergeGuestCartOnSignIn, signInWithThrottle } from "./sign-in";
import { verifyBackupCode, verifyTotpCode } from "./second-factor";
import { withoutBreachLookup } from "./password-policy";
import { describeAuthRoutes } from "./auth-openapi";

const MeSchema = z
  .object({
    user: z.object({
      id: z.string(),
      email: z.string(),
      name: z.string(),
      role: z.enum(["customer", "support", "admin"]),
      emailVerified: z.boolean(),
      twoFactorEnabled: z.boolean(),
    }),
  })
  .openapi("Me");

const meRoute = createRoute({
  method: "get",
  path: "/me",
  operationId: "getMe",
  ...access.signedIn,
  tags: ["Accounts"],
  summary: "The signed-in user",
  responses: {
    200: { description: "The user of the session", content: { "application/json": { schema: MeSchema } } },
    401: problemResponseSpec("Not signed in"),
  },
});

const OutboxSchema = z
  .object({ items: z.array(z.object({ to: z.string(), subject: z.string(), text: z.string(), createdAt: z.string() })) })
  .openapi("DevOutbox");

const outboxRoute = createRoute({
  method: "get",
  path: "/dev/outbox",
  operationId: "listDevOutbox",
  ...access.public,
  tags: ["Development"],
  summary: "Mail the shop would have sent (development only; 404 otherwise)",
  responses: {
    200: { description: "Newest first", content: { "application/json": { schema: OutboxSchema } } },
    404: problemResponseSpec("Not in development"),
  },
});

const SeededAdminSchema = z.object({ email: z.string(), created: z.boolean() }).openapi("DevSeededAdmin");

/** Accounts: better-auth at /api/auth/*, GET /api/me, and the development outbox. */
export const accountsApi = createApiApp()
  .openapi(meRoute, async (c) => {
    const user = await requireUser(c);
    return c.json(
      {
        user: { id: user.id, email: user.email, name: user.name, role: user.role, emailVerified: user.emailVerified, twoFactorEnabled: user.twoFactorEnabled },
      },
      200,
    );
  })
  .openapi(outboxRoute, async (c) => {
    if (!c.var.config.devRoutes) throw new ProblemError(404, "not_found", "No such route.");
    const rows = await getDb(c.env.DB).select().from(mailOutbox).orderBy(desc(mailOutbox.id)).limit(100);
    return c.json({ items: rows.map((r) => ({ to: r.to, subject: r.subject, text: r.text, createdAt: r.createdAt })) }, 200);
  });

describeAuthRoutes(accountsApi);

// Only the better-auth routes the shop uses exist (an allow-list, auth-gate.ts); better-auth's own
// admin endpoints would bypass the staff checks, verify-password or delete-user would let a stolen
// session test passwords without the LoginGuard.
accountsApi.use("/auth/*", async (c, next) => {
  const path = c.req.path.slice("/api/auth".length);
  if (!isAllowedAuthRoute(c.req.method, path)) throw new ProblemError(404, "not_found", "No such route.");
  return next();
});
accountsApi.post("/auth/sign-in/email", (c) => signInWithThrottle(c));

// Enrolling a second factor, adding a passkey or changing the email needs a verified address
// (an account someone registered with another person's address must not collect factors: the
// owner's password reset would not remove them), and a sign-in within the last 10 minutes.
const NEEDS_VERIFIED_EMAIL = ["/auth/change-email", "/auth/two-factor/enable", "/auth/passkey/generate-register-options", "/auth/passkey/verify-registration"];
for (const path of NEEDS_VERIFIED_EMAIL) {
  accountsApi.use(path, async (c, next) => {
    const user = await getSessionUser(c);
    if (user && !user.emailVerified) {
      return authError(403, "EMAIL_NOT_VERIFIED", "Confirm your email address first: open the link we sent you, or ask for a new one on your account page.");
    }
    return next();
  });
}
const NEEDS_FRESH_SIGN_IN = ["/auth/change-email", "/auth/passkey/generate-register-options", "/auth/passkey/delete-passkey"];
for (const path of NEEDS_FRESH_SIGN_IN) {
  accountsApi.use(path, async (c, next) => {
    const user = await getSessionUser(c);
    if (user && !isFreshSession(user)) {
      return authError(403, "SESSION_NOT_FRESH", "Sign in again to change this (your last sign-in is older than 10 minutes).");
    }
    return next();
  });
}

const handle = (c: Context<AppEnv>, request: Request = c.req.raw): Promise<Response> =>
  authFor(c.env, c.var.config, c.req.raw, executionContextOf(c)).handler(request);

// The second step of a sign-in, shared with the no-JavaScript form (second-factor.ts).
accountsApi.post("/auth/two-factor/verify-totp", (c) => verifyTotpCode(c, c.req.raw));
accountsApi.post("/auth/two-factor/verify-backup-code", (c) => verifyBackupCode(c, c.req.raw));

// Passkey sign-in: the session counts as two factors only when the authenticator verified the
// user (PIN, biometrics: the UV flag of the signed authenticator data); a touch alone is one.
accountsApi.post("/auth/passkey/verify-authentication", async (c) => {
  const body = await c.req.raw
    .clone()
    .json()
    .catch(() => null);
  const response = await withSessionAssurance(
    c,
    async () => (assertionUserVerified(body) ? ["hwk", "uv"] : ["hwk"]),
    () => handle(c),
  );
  return mergeGuestCartOnSignIn(c, await afterSecurityEvent(c, response));
});

// Routes that check the account's password go through the LoginGuard like sign-in.
for (const path of ["/auth/change-password", "/auth/two-factor/enable", "/auth/two-factor/disable"]) {
  accountsApi.post(path, async (c) => afterSecurityEvent(c, await guardSecretCheck(c, () => withSessionAssurance(c, null, () => handle(c)))));
}

// Sign-up answers with one constant body: better-auth's stand-in user for an existing email
// differs from a real new user in plugin fields (role), which would let anyone list accounts.
accountsApi.post("/auth/sign-up/email", async (c) => {
  const response = await handle(c);
  if (!response.ok) return response;
  return new Response(JSON.stringify({ status: true }), { status: 200, headers: { "content-type": "application/json" } });
});

// An email link never changes who is signed in (login CSRF): verifying an address or approving an
// email change works without a session, and a session better-auth would start here is removed.
accountsApi.get("/auth/verify-email", async (c) => {
  const before = await getSessionUser(c);
  const response = await handle(c);
  if (response.status < 400) await notifyOldAddressOfEmailChange(c, c.req.query("token") ?? "");
  const issued = issuedSessionToken(response);
  if (!issued || (before && (await sessionIdOfToken(c.env.DB, issued)) === before.sessionId)) return afterSecurityEvent(c, response);
  await getDb(c.env.DB).delete(sessionTable).where(eq(sessionTable.token, issued));
  const cleaned = new Response(response.body, response);
  cleaned.headers.delete("set-cookie");
  for (const line of response.headers.getSetCookie())
    if (!line.startsWith(`${SESSION_COOKIE}=`) && !line.startsWith("__Host-bastion.session_data=")) cleaned.headers.append("set-cookie", line);
  return afterSecurityEvent(c, cleaned);
});

accountsApi.on(["GET", "POST"], "/auth/*", async (c) => {
  const response = await withSessionAssurance(c, null, () => handle(c));
  return mergeGuestCartOnSignIn(c, await afterSecurityEvent(c, response));
});

async function sessionIdOfToken(d1: D1Database, token: string): Promise<string | null> {
  const [row] = await getDb(d1).select({ id: sessionTable.id }).from(sessionTable).where(eq(sessionTable.token, token)).limit(1);
  return row?.id ?? null;
}

const seedAdminRoute = createRoute({
  method: "post",
  path: "/dev/seed-admin",
  operationId: "seedDevelopmentAdmin",
  ...access.public,
  tags: ["Development"],
  summary: "Create the development admin from ADMIN_EMAIL / ADMIN_PASSWORD (development only; 404 otherwise)",
  responses: {
    200: { description: "The admin already existed", content: { "application/json": { schema: SeededAdminSchema } } },
    201: { description: "The admin was created", content: { "application/json": { schema: SeededAdminSchema } } },
    404: problemResponseSpec("Not in development"),
    409: problemResponseSpec("`admin_email_taken`: ADMIN_EMAIL belongs to a non-admin account"),
    422: problemResponseSpec("`admin_not_configured`: ADMIN_EMAIL or ADMIN_PASSWORD is not set"),
  },
});

/** POST /api/dev/seed-admin: creates the development admin from ADMIN_EMAIL / ADMIN_PASSWORD once. */
accountsApi.openapi(seedAdminRoute, async (c) => {
  const config = c.var.config;
  if (!config.devRoutes) throw new ProblemError(404, "not_found", "No such route.");
  if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) throw new ProblemError(422, "admin_not_configured", "Set ADMIN_EMAIL and ADMIN_PASSWORD in .dev.vars.");
  const created = await ensureAdmin(c.env, c, config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
  return c.json({ email: config.ADMIN_EMAIL, created }, created ? 201 : 200);
});

/**
 * Makes sure an admin account exists for `email` (created through better-auth, so the password is
 * hashed and checked like any other), then gives it the admin role. Returns whether it was created.
 */
export async function ensureAdmin(env: Env, c: Context<AppEnv>, email: string, password: string): Promise<boolean> {
  const db = getDb(env.DB);
  const normalised = normaliseEmail(email);
  const [existing] = await db.select({ id: userTable.id, role: userTable.role }).from(userTable).where(eq(userTable.email, normalised)).limit(1);
  // Like admin:create, the seed never hands someone else's account the admin role (decision 012).
  if (existing && existing.role !== "admin") {
    throw new ProblemError(409, "admin_email_taken", "ADMIN_EMAIL already belongs to a non-admin account: choose another address or delete that account.");
  }
  let id = existing?.id;
  if (!id) {
    const auth = authWithoutRequest(env, c.var.config);
    const result = await withoutBreachLookup(() => auth.api.signUpEmail({ body: { email: normalised, password, name: "Shop admin" } }));
    id = result.user.id;
  }
  await db.update(userTable).set({ role: "admin", emailVerified: true }).where(eq(userTable.id, id));
  if (!existing) await recordAudit(env, { actor: "system", action: "user.role_changed", subject: id, detail: { role: "admin", via: "dev-seed" } });
  return !existing;
}

/** Re-export for pages: the user of a request. */
export { getSessionUser };
