import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/app-env";
import { safeNext, SignInPage, signInPageKeys } from "./pages";
import { verifyBackupCode, verifyTotpCode } from "./second-factor";
import { signInWithThrottle } from "./sign-in";

const SignInForm = z.object({
  email: z.string().trim().max(320),
  password: z.string().max(1024),
  "cf-turnstile-response": z.string().max(4096).optional(),
});

const CodeForm = z.object({ code: z.string().trim().min(1).max(32) });

function page(c: Context<AppEnv>, status: 401 | 403 | 422 | 429, error: string, email: string, codeStep = false) {
  return c.html(
    <SignInPage {...signInPageKeys(c.var.config)} error={error} email={email} next={safeNext(c.req.query("next")) ?? undefined} codeStep={codeStep} />,
    status,
  );
}

/** The form's fields as the JSON request the API route takes, with the browser's own headers (cookies). */
function asApiRequest(c: Context<AppEnv>, path: string, body: Record<string, string>): Request {
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  return new Request(new URL(path, c.req.url), { method: "POST", headers, body: JSON.stringify(body) });
}

/** A 303 to `location` carrying every cookie the API answer set. */
function redirectWithCookies(res: Response, location: string): Response {
  const out = new Response(null, { status: 303, headers: { location } });
  for (const line of res.headers.getSetCookie()) out.headers.append("set-cookie", line);
  return out;
}

/**
 * POST /sign-in: the sign-in form without JavaScript. The same path as the API's password sign-in
 * (signInWithThrottle: address and account throttles, Turnstile, audit, guest cart merge), given
 * the form's fields as the JSON request it would have sent; then 303 to where the shopper was going
 * with the session cookie, or the page again with the refusal (never the password).
 */
export const signInFormPage = new Hono<AppEnv>()
  .post(
    "/sign-in",
    zValidator("form", SignInForm, (result, c) => {
      if (!result.success) return page(c as unknown as Context<AppEnv>, 422, "Enter your email address and password.", "");
    }),
    async (c) => {
      const form = c.req.valid("form");
      const asApi = asApiRequest(c, "/api/auth/sign-in/email", { email: form.email, password: form.password });
      if (form["cf-turnstile-response"]) asApi.headers.set("x-captcha-response", form["cf-turnstile-response"]);
      const res = await signInWithThrottle(c, asApi);
      if (res.ok) {
        const body = (await res.clone().json()) as { twoFactorRedirect?: boolean };
        const next = safeNext(c.req.query("next"));
        if (body.twoFactorRedirect) return redirectWithCookies(res, `/sign-in?step=code${next ? `&next=${encodeURIComponent(next)}` : ""}`);
        return redirectWithCookies(res, next ?? "/account");
      }
      const refusal = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
      const status = res.status === 429 ? 429 : res.status === 403 ? 403 : 401;
      const message =
        refusal.code === "CAPTCHA_REQUIRED"
          ? "Too many failed attempts: complete the check below (it needs JavaScript) and try again, or reset your password."
          : status === 429
            ? (refusal.message ?? "Too many failed attempts. Try again later, or reset your password.")
            : "That email and password do not match an account.";
      const out = await page(c, status, message, form.email);
      const retryAfter = res.headers.get("retry-after");
      if (retryAfter) out.headers.set("retry-after", retryAfter);
      return out;
    },
  )
  /**
   * POST /sign-in/code: the second step without JavaScript. The code goes through the same checks
   * as the API's (second-factor.ts: LoginGuard, replay refusal, session assurance, audit and
   * notice); a code longer than 8 characters is a backup code, as on the page with JavaScript.
   */
  .post(
    "/sign-in/code",
    zValidator("form", CodeForm, (result, c) => {
      if (!result.success) return page(c as unknown as Context<AppEnv>, 422, "Enter the code from your authenticator app, or a backup code.", "", true);
    }),
    async (c) => {
      const { code } = c.req.valid("form");
      const backup = code.length > 8;
      const path = backup ? "/api/auth/two-factor/verify-backup-code" : "/api/auth/two-factor/verify-totp";
      const asApi = asApiRequest(c, path, { code });
      const res = backup ? await verifyBackupCode(c, asApi) : await verifyTotpCode(c, asApi);
      if (res.ok) return redirectWithCookies(res, safeNext(c.req.query("next")) ?? "/account");
      const status = res.status === 429 ? 429 : res.status === 403 ? 403 : 401;
      const message =
        status === 429
          ? "Too many wrong codes. Wait a few minutes and try again."
          : status === 403
            ? "Complete the check on the sign-in page (it needs JavaScript), or wait a few minutes and try again."
            : "That code did not work. Codes change every 30 seconds; a backup code works once. If your sign-in timed out, start again.";
      const out = await page(c, status, message, "", true);
      const retryAfter = res.headers.get("retry-after");
      if (retryAfter) out.headers.set("retry-after", retryAfter);
      for (const line of res.headers.getSetCookie()) out.headers.append("set-cookie", line);
      return out;
    },
  );
