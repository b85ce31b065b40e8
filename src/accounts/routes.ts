import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { mailOutbox, session as sessionTable, user as userTable } from "../db/schema";
import type { AppEnv } from "../platform/app-env";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { CART_COOKIE, guestCartIdFromCookie, mergeGuestCart } from "../cart/cart";
import { authFor, authWithoutRequest, SESSION_COOKIE } from "./auth";
import { clientAddressKey } from "../platform/client-address";
import { auditRefusalWithBudget, loginGuard, normaliseEmail, type GuardDecision } from "./login-guard";
import { mailerFor, sendSafely } from "./mailer";
import { executionContextOf, getSessionUser, isFreshSession, requireUser } from "./session";
import { verifyTurnstile } from "./turnstile";
import { desc } from "drizzle-orm";
import { assertionUserVerified, issuedSessionToken } from "./assurance";
import { afterSecurityEvent } from "./security-events";
import { signInPseudonymFor } from "./pseudonym";
import { recordOperatorEvents } from "./operator-events";
import { notifyOldAddressOfEmailChange } from "./account-lock";
import { authError, EXPIRE_TRUST_DEVICE, guardRefusal as refusal, guardSecretCheck, isAllowedAuthRoute, withoutTrustDeviceCookie, withSessionAssurance } from "./auth-gate";

/** A string field of the JSON body, read from a copy (better-auth reads the body itself); "" when absent. */
async function bodyString(request: Request, field: string): Promise<string> {
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
async function signInWithThrottle(c: Context<AppEnv>): Promise<Response> {
  const env = c.env;
  const config = c.var.config;
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const address = clientAddressKey(c);
  const ctx = executionContextOf(c);
  const email = await readEmail(c.req.raw);
  // Refusals and failures name the typed email only by its pseudonym (ASVS 7; decision 012).
  const pseudonym = (): Promise<string | null> => signInPseudonymFor(env, auditableEmail(email) ?? "");
  const token = c.req.header("x-captcha-response");
  const captchaOk = token ? await verifyTurnstile(config, token, ip) : false;

  const addressGuard = loginGuard(env, `ip:${address}`);
  const addressDecision = await addressGuard.attemptForAddress(captchaOk);
  const addressRefusal = refusal(addressDecision);
  if (addressRefusal) {
    const action = `auth.sign_in.${addressDecision.decision === "throttle" ? "throttled" : "captcha_required"}`;
    await auditRefusalWithBudget(env, `${address}:${action}`, async () => recordAudit(env, { actor: "anonymous", action, subject: await pseudonym(), detail: { scope: "address", failures: addressDecision.failures }, ip }), ctx);
    return addressRefusal;
  }
  const emailGuard = email ? loginGuard(env, `email:${email}`) : null;
  if (emailGuard) {
    const emailDecision = await emailGuard.attemptForEmail(captchaOk);
    const emailRefusal = refusal(emailDecision);
    if (emailRefusal) {
      await addressGuard.succeeded(); // nothing was tried: the address gets its attempt back
      const action = `auth.sign_in.${emailDecision.decision === "throttle" ? "throttled" : "captcha_required"}`;
      await auditRefusalWithBudget(env, `email:${email}:${action}`, async () => recordAudit(env, { actor: "anonymous", action, subject: await pseudonym(), detail: { scope: "email", failures: emailDecision.failures }, ip }), ctx);
      return emailRefusal;
    }
    if (emailDecision.decision === "allow" && emailDecision.notifyOwner) {
      executionContextOf(c)?.waitUntil(notifyOwnerOfThrottle(env, c, email));
    }
  }

  const auth = authFor(env, config, c.req.raw, ctx);
  // "Trust this device" never skips the second factor (decision 012): the cookie is not passed on.
  const { request, had: hadTrustCookie } = withoutTrustDeviceCookie(c.req.raw);
  let response = await mergeGuestCartOnSignIn(c, await withSessionAssurance(c, ["pwd"], () => auth.handler(request)));
  if (hadTrustCookie) {
    response = new Response(response.body, response);
    for (const line of EXPIRE_TRUST_DEVICE) response.headers.append("set-cookie", line);
  }
  if (response.ok) {
    await Promise.all([addressGuard.succeeded(), emailGuard?.succeeded()]);
    // Operator runs (admin:create) reach the audit log at the next sign-in.
    const operatorWork = recordOperatorEvents(env).catch((error: unknown) => console.error(JSON.stringify({ level: "error", msg: "operator_events_failed", error: String(error) })));
    if (ctx) ctx.waitUntil(operatorWork);
    else await operatorWork;
    const body = (await response.clone().json().catch(() => ({}))) as { user?: { id?: string }; twoFactorRedirect?: boolean };
    await recordAudit(env, {
      actor: body.user?.id ?? "anonymous",
      action: body.twoFactorRedirect ? "auth.sign_in.second_factor_required" : "auth.sign_in.succeeded",
      subject: body.user?.id ?? null,
      ip,
    });
  } else {
    // Every counted failure is audited (they are bounded by the throttle), in the background.
    const failed = (async () => recordAudit(env, { actor: "anonymous", action: "auth.sign_in.failed", subject: await pseudonym(), detail: { status: response.status }, ip }))();
    if (ctx) ctx.waitUntil(failed);
    else await failed;
  }
  return response;
}

async function notifyOwnerOfThrottle(env: Env, c: Context<AppEnv>, email: string): Promise<void> {
  const [owner] = await getDb(env.DB).select({ id: userTable.id, email: userTable.email }).from(userTable).where(eq(userTable.email, email)).limit(1);
  await recordAudit(env, { actor: "system", action: "auth.throttled", subject: owner?.id ?? (await signInPseudonymFor(env, email)), ip: c.req.header("cf-connecting-ip") ?? null });
  if (!owner) return;
  await sendSafely(mailerFor(env, c.var.config), {
    to: owner.email,
    subject: "Security notice: failed sign-ins on your Bastion account",
    text: "There were 10 failed attempts to sign in to your account. Sign-in is slowed down for a while. If this was not you, nothing is needed: your password was not accepted. Consider adding a passkey or an authenticator app.",
  });
}

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
  tags: ["Development"],
  summary: "Mail the shop would have sent (development only; 404 otherwise)",
  responses: { 200: { description: "Newest first", content: { "application/json": { schema: OutboxSchema } } }, 404: problemResponseSpec("Not in development") },
});

/** Accounts: better-auth at /api/auth/*, GET /api/me, and the development outbox. */
export const accountsApi = createApiApp()
  .openapi(meRoute, async (c) => {
    const user = await requireUser(c);
    return c.json(
      { user: { id: user.id, email: user.email, name: user.name, role: user.role, emailVerified: user.emailVerified, twoFactorEnabled: user.twoFactorEnabled } },
      200,
    );
  })
  .openapi(outboxRoute, async (c) => {
    if (!c.var.config.devRoutes) throw new ProblemError(404, "not_found", "No such route.");
    const rows = await getDb(c.env.DB).select().from(mailOutbox).orderBy(desc(mailOutbox.id)).limit(100);
    return c.json({ items: rows.map((r) => ({ to: r.to, subject: r.subject, text: r.text, createdAt: r.createdAt })) }, 200);
  });

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

const handle = (c: Context<AppEnv>, request: Request = c.req.raw): Promise<Response> => authFor(c.env, c.var.config, c.req.raw, executionContextOf(c)).handler(request);

// A TOTP code opens at most one session (RFC 6238 §5.2): a code that was already accepted for
// the account within its validity window is refused and the session it just created is revoked.
// With a session (enrolment), the code is checked under the LoginGuard like a password; the
// session better-auth makes when TOTP is switched on inherits the old session's record, so a
// session older than the enrolment never counts as one with a second factor (decision 012).
accountsApi.post("/auth/two-factor/verify-totp", async (c) => {
  const code = (await bodyString(c.req.raw, "code")).trim().slice(0, 16);
  const response = await guardSecretCheck(c, () => withSessionAssurance(c, ["pwd", "otp"], () => handle(c)));
  if (!response.ok || !code) return mergeGuestCartOnSignIn(c, response);
  const body = (await response.clone().json().catch(() => null)) as { user?: { id?: string }; token?: string } | null;
  const userId = body?.user?.id ?? (await getSessionUser(c))?.id;
  if (!userId || !(await loginGuard(c.env, `totp:${userId}`).totpCodeSeen(code))) return mergeGuestCartOnSignIn(c, await afterSecurityEvent(c, response));
  // Replayed code: undo the session better-auth just made, and answer like a wrong code.
  const issued = response.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=`));
  const token = issued ? decodeURIComponent(issued.slice(SESSION_COOKIE.length + 1).split(";")[0]!).split(".")[0] : body?.token;
  if (token) await getDb(c.env.DB).delete(sessionTable).where(eq(sessionTable.token, token));
  await recordAudit(c.env, { actor: userId, action: "auth.totp.replay_refused", subject: userId, ip: c.req.header("cf-connecting-ip") ?? null });
  return authError(401, "INVALID_CODE", "Invalid code", { "set-cookie": `${SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax` });
});

accountsApi.post("/auth/two-factor/verify-backup-code", async (c) => {
  const response = await guardSecretCheck(c, () => withSessionAssurance(c, ["pwd", "backup"], () => handle(c)));
  return mergeGuestCartOnSignIn(c, await afterSecurityEvent(c, response));
});

// Passkey sign-in: the session counts as two factors only when the authenticator verified the
// user (PIN, biometrics: the UV flag of the signed authenticator data); a touch alone is one.
accountsApi.post("/auth/passkey/verify-authentication", async (c) => {
  const body = await c.req.raw.clone().json().catch(() => null);
  const response = await withSessionAssurance(c, async () => (assertionUserVerified(body) ? ["hwk", "uv"] : ["hwk"]), () => handle(c));
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
  for (const line of response.headers.getSetCookie()) if (!line.startsWith(`${SESSION_COOKIE}=`) && !line.startsWith("__Host-bastion.session_data=")) cleaned.headers.append("set-cookie", line);
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

/**
 * When a response starts a session (sign-up, sign-in, second factor, passkey) and the browser had
 * a guest cart, the guest cart is merged into the account's cart and its cookie is cleared
 * (API.md "Sessions and cookies"). The new session token itself comes from better-auth.
 */
async function mergeGuestCartOnSignIn(c: Context<AppEnv>, response: Response): Promise<Response> {
  if (!response.ok) return response;
  const guestCartId = guestCartIdFromCookie(c);
  if (!guestCartId) return response;
  const startsSession = response.headers.getSetCookie().some((line) => line.startsWith(`${SESSION_COOKIE}=`) && !/max-age=0/i.test(line));
  if (!startsSession) return response;
  const body = (await response.clone().json().catch(() => null)) as { user?: { id?: string }; session?: { userId?: string } } | null;
  const userId = body?.user?.id ?? body?.session?.userId;
  if (!userId) return response;
  await mergeGuestCart(c.env, guestCartId, userId);
  const merged = new Response(response.body, response);
  merged.headers.append("set-cookie", `${CART_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax`);
  return merged;
}

/** POST /api/dev/seed-admin: creates the development admin from ADMIN_EMAIL / ADMIN_PASSWORD once. */
accountsApi.post("/dev/seed-admin", async (c) => {
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
  const [existing] = await db.select({ id: userTable.id }).from(userTable).where(eq(userTable.email, normalised)).limit(1);
  let id = existing?.id;
  if (!id) {
    const auth = authWithoutRequest(env, c.var.config);
    const result = await auth.api.signUpEmail({ body: { email: normalised, password, name: "Shop admin" } });
    id = result.user.id;
  }
  await db.update(userTable).set({ role: "admin", emailVerified: true }).where(eq(userTable.id, id));
  if (!existing) await recordAudit(env, { actor: "system", action: "user.role_changed", subject: id, detail: { role: "admin", via: "dev-seed" } });
  return !existing;
}

/** Re-export for pages: the user of a request. */
export { getSessionUser };
