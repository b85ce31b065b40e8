import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/app-env";
import { safeNext, SignInPage, signInPageKeys } from "./pages";
import { signInWithThrottle } from "./sign-in";

const SignInForm = z.object({
  email: z.string().trim().max(320),
  password: z.string().max(1024),
  "cf-turnstile-response": z.string().max(4096).optional(),
});

function page(c: Context<AppEnv>, status: 401 | 403 | 422 | 429, error: string, email: string) {
  return c.html(<SignInPage {...signInPageKeys(c.var.config)} error={error} email={email} next={safeNext(c.req.query("next")) ?? undefined} />, status);
}

/**
 * POST /sign-in: the sign-in form without JavaScript. The same path as the API's password sign-in
 * (signInWithThrottle: address and account throttles, Turnstile, audit, guest cart merge), given
 * the form's fields as the JSON request it would have sent; then 303 to where the shopper was going
 * with the session cookie, or the page again with the refusal (never the password).
 */
export const signInFormPage = new Hono<AppEnv>().post(
  "/sign-in",
  zValidator("form", SignInForm, (result, c) => {
    if (!result.success) return page(c as unknown as Context<AppEnv>, 422, "Enter your email address and password.", "");
  }),
  async (c) => {
    const form = c.req.valid("form");
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    if (form["cf-turnstile-response"]) headers.set("x-captcha-response", form["cf-turnstile-response"]);
    const asApi = new Request(new URL("/api/auth/sign-in/email", c.req.url), {
      method: "POST",
      headers,
      body: JSON.stringify({ email: form.email, password: form.password }),
    });
    const res = await signInWithThrottle(c, asApi);
    if (res.ok) {
      const body = (await res.clone().json()) as { twoFactorRedirect?: boolean };
      const out = new Response(null, {
        status: 303,
        headers: { location: body.twoFactorRedirect ? "/sign-in?step=code" : (safeNext(c.req.query("next")) ?? "/account") },
      });
      for (const line of res.headers.getSetCookie()) out.headers.append("set-cookie", line);
      return out;
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
);
