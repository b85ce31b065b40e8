import { Hono } from "hono";
import type { AppEnv } from "../platform/app-env";
import type { Config } from "../platform/config";
import { Layout } from "../web/layout";
import { and, desc, eq, gt } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import { getDb } from "../db/client";
import { session } from "../db/schema";
import { PASSWORD_MAX } from "./password-policy";
import { authFor } from "./auth";
import { lockAccount, lockPage } from "./account-lock";
import { consumeRateLimit } from "./rate-limits";
import { executionContextOf, getSessionUser } from "./session";
import { AccountPage } from "./account-page";
import { PasswordField } from "./password-field";

const TESTING_SITE_KEY = /^[123]x00000000000000000000A[AB]$/;

/** The Turnstile site key the sign-in page renders, and whether it is a development one. */
export function signInPageKeys(cfg: Config): { siteKey: string; dev: boolean } {
  const siteKey = cfg.TURNSTILE_SITE_KEY ?? "";
  return { siteKey, dev: cfg.ENVIRONMENT !== "production" && (TESTING_SITE_KEY.test(siteKey) || !siteKey) };
}

/**
 * Where to go after signing in: a path on this origin only (never "//host", "/\\host", a scheme
 * or control characters), else null. The page script applies the same rule (account.js).
 */
export function safeNext(next: string | undefined): string | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (!next?.startsWith("/") || next.startsWith("//") || /[\\\u0000-\u001f\u007f]/.test(next) || next.length > 500) return null;
  return next;
}

export function SignInPage(props: { siteKey: string; dev: boolean; error?: string; email?: string; next?: string; codeStep?: boolean }) {
  const nextQuery = props.next ? `?next=${encodeURIComponent(props.next)}` : "";
  return (
    <Layout title="Sign in" scripts={["account"]}>
      <section class="auth panel">
        <h1>Sign in</h1>
        {props.error ? (
          <p class="form-message error" role="alert">
            {props.error}
          </p>
        ) : null}
        {/* Without JavaScript the form posts to POST /sign-in (sign-in-form.tsx); with it, account.js signs in through the API. */}
        <form class="stack" data-auth-form="signin" method="post" action={`/sign-in${nextQuery}`} hidden={props.codeStep}>
          <label>
            Email
            <input name="email" type="email" required autocomplete="username webauthn" maxlength={320} value={props.email ?? ""} />
          </label>
          <label>
            Password
            <input name="password" type="password" required autocomplete="current-password" maxlength={PASSWORD_MAX} />
          </label>
          <div data-captcha data-site-key={props.siteKey} data-dev={String(props.dev)} hidden></div>
          <button type="submit">Sign in</button>
          <p class="form-message" role="status"></p>
          <p>
            <a href="/forgot-password">Forgot your password?</a> · <a href="/sign-up">Create an account</a>
          </p>
        </form>
        {/* Shown by account.js after the password, or by the server on the no-JavaScript code step (POST /sign-in/code). */}
        <div data-second-factor hidden={!props.codeStep}>
          <h2>Second step</h2>
          <form class="stack" data-auth-form="totp" method="post" action={`/sign-in/code${nextQuery}`}>
            <label>
              Code from your authenticator app (or a backup code)
              <input name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength={32} />
            </label>
            <button type="submit">Verify</button>
            <p class="form-message" role="status"></p>
          </form>
          {props.codeStep ? (
            <p>
              <a href={`/sign-in${nextQuery}`}>Start again</a>
            </p>
          ) : null}
        </div>
        <p class="divider">or</p>
        <form data-auth-form="passkey-signin" method="post" action="#" class="stack">
          <button type="submit" class="secondary">
            Sign in with a passkey
          </button>
          <p class="form-message" role="status"></p>
        </form>
      </section>
    </Layout>
  );
}

function SignUpPage() {
  return (
    <Layout title="Create an account" scripts={["account"]}>
      <section class="auth panel">
        <h1>Create an account</h1>
        <form class="stack" data-auth-form="signup" method="post" action="#">
          <label>
            Name
            <input name="name" required maxlength={100} autocomplete="name" />
          </label>
          <label>
            Email
            <input name="email" type="email" required maxlength={320} autocomplete="email" />
          </label>
          <PasswordField name="password" label="Password" autocomplete="new-password" />
          <button type="submit">Create account</button>
          <p class="form-message" role="status"></p>
          <p>
            Already have an account? <a href="/sign-in">Sign in</a>
          </p>
        </form>
      </section>
    </Layout>
  );
}

function ForgotPage() {
  return (
    <Layout title="Reset your password" scripts={["account"]}>
      <section class="auth panel">
        <h1>Reset your password</h1>
        <form class="stack" data-auth-form="forgot" method="post" action="#">
          <label>
            Email
            <input name="email" type="email" required maxlength={320} autocomplete="email" />
          </label>
          <button type="submit">Send reset link</button>
          <p class="form-message" role="status"></p>
        </form>
      </section>
    </Layout>
  );
}

function ResetPage(props: { token: string }) {
  return (
    <Layout title="Choose a new password" scripts={["account"]}>
      <section class="auth panel">
        <h1>Choose a new password</h1>
        {props.token ? (
          <form class="stack" data-auth-form="reset" method="post" action="#">
            <input type="hidden" name="token" value={props.token} />
            <PasswordField name="password" label="New password" autocomplete="new-password" />
            <button type="submit">Change password</button>
            <p class="form-message" role="status"></p>
            <p>
              <a href="/sign-in">Sign in</a>
            </p>
          </form>
        ) : (
          <p class="error-text">
            This reset link is not valid or has expired. <a href="/forgot-password">Ask for a new one.</a>
          </p>
        )}
      </section>
    </Layout>
  );
}

/** Account pages: sign-up, sign-in (with second factor and Turnstile), recovery and security settings. */
export const accountPages = new Hono<AppEnv>()
  .get("/sign-in", (c) => {
    // A password sign-in without JavaScript that needs the second step lands on ?step=code
    // (sign-in-form.tsx), whose form posts the code to POST /sign-in/code.
    const codeStep = c.req.query("step") === "code";
    return c.html(<SignInPage {...signInPageKeys(c.var.config)} next={safeNext(c.req.query("next")) ?? undefined} codeStep={codeStep} />);
  })
  .get("/sign-up", (c) => c.html(<SignUpPage />))
  .get("/forgot-password", (c) => c.html(<ForgotPage />))
  .get("/reset-password", (c) => {
    const token = c.req.query("token") ?? "";
    return c.html(<ResetPage token={/^[A-Za-z0-9_-]{16,128}$/.test(token) ? token : ""} />);
  })
  .get("/account", async (c) => {
    const user = await getSessionUser(c);
    if (!user) return c.redirect("/sign-in?next=/account", 303);
    const sessions = await getDb(c.env.DB)
      .select({ id: session.id, createdAt: session.createdAt, ipAddress: session.ipAddress, userAgent: session.userAgent })
      .from(session)
      .where(and(eq(session.userId, user.id), gt(session.expiresAt, new Date())))
      .orderBy(desc(session.createdAt))
      .limit(50);
    return c.html(<AccountPage user={user} sessions={sessions} sent={c.req.query("sent") === "1"} />);
  })
  .get("/account/lock", lockPage)
  .post("/account/lock", lockAccount)
  // Sends the verification link again (a plain form: better-auth's endpoint and its rate limit).
  .post("/account/send-verification", async (c) => {
    const user = await getSessionUser(c);
    if (!user) return c.redirect("/sign-in?next=/account", 303);
    const allowed = (await consumeRateLimit(c.env, "verifymail", user.id, { window: 3600, max: 5 })).allowed;
    if (!user.emailVerified && allowed) {
      const auth = authFor(c.env, c.var.config, c.req.raw, executionContextOf(c));
      await auth.api.sendVerificationEmail({ body: { email: user.email, callbackURL: "/account" }, headers: c.req.raw.headers }).catch(() => undefined);
    }
    return c.redirect("/account?sent=1", 303);
  })
  // Revokes one of the caller's own sessions (the id is only ever matched with the caller's user id).
  .post("/account/sessions/:id/revoke", async (c) => {
    const user = await getSessionUser(c);
    if (!user) return c.redirect("/sign-in?next=/account", 303);
    const id = c.req.param("id");
    if (/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      const removed = await getDb(c.env.DB)
        .delete(session)
        .where(and(eq(session.id, id), eq(session.userId, user.id)))
        .returning({ id: session.id });
      if (removed.length > 0)
        await recordAudit(c.env, { actor: user.id, action: "auth.session.revoked", subject: user.id, ip: c.req.header("cf-connecting-ip") ?? null });
    }
    return c.redirect("/account", 303);
  });
