// The schemas and response building blocks of the better-auth routes' OpenAPI entries
// (auth-openapi.ts lists the routes): better-auth's own bodies, documented, never validated here.
import { z } from "@hono/zod-openapi";
import type { access } from "../platform/openapi";

export const AuthError = z
  .object({ code: z.string().openapi({ example: "INVALID_EMAIL_OR_PASSWORD" }), message: z.string() })
  .openapi("AuthError", { description: "better-auth's error body (API.md), kept for /auth/* routes." });
export const Status = z.object({ status: z.boolean() }).openapi("AuthStatus");
export const AuthUser = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    emailVerified: z.boolean(),
    image: z.string().nullable().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    role: z.string().optional(),
    twoFactorEnabled: z.boolean().nullable().optional(),
  })
  .openapi("AuthUser");
export const SignedIn = z
  .union([
    z.object({ redirect: z.boolean(), token: z.string(), url: z.string().nullable().optional(), user: AuthUser }),
    z.object({ twoFactorRedirect: z.literal(true), twoFactorMethods: z.array(z.string()).optional() }),
  ])
  .openapi("SignInResult", { description: "A session (Set-Cookie: the session cookie), or, for an account with TOTP, a request for the code." });
export const Passkey = z
  .object({ id: z.string(), name: z.string().nullable().optional(), createdAt: z.string(), deviceType: z.string(), backedUp: z.boolean() })
  .openapi("Passkey");
export const WebAuthnOptions = z
  .record(z.string(), z.unknown())
  .openapi("WebAuthnOptions", { description: "PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON (WebAuthn Level 3)." });
export const WebAuthnResponse = z
  .record(z.string(), z.unknown())
  .openapi("WebAuthnResponse", { description: "The authenticator's answer as JSON (RegistrationResponseJSON or AuthenticationResponseJSON)." });

export const json = (schema: z.ZodType) => ({ content: { "application/json": { schema } } });
export const errors = (codes: Record<number, string>) =>
  Object.fromEntries(Object.entries(codes).map(([status, description]) => [status, { description, ...json(AuthError) }]));
export const throttled = { 429: "`TOO_MANY_ATTEMPTS` (Retry-After) or `TOO_MANY_REQUESTS`" };
export const needsSession = { 401: "`UNAUTHORIZED`: no session" };
// Routes that check the password share the sign-in throttle: after failures, a Turnstile token.
export const secretCheck = { 403: "`CAPTCHA_REQUIRED`: pass a Turnstile token in `x-captcha-response`" };

/** One better-auth route as the document describes it. */
export type AuthRoute = {
  method: "get" | "post";
  path: string;
  operationId: string;
  summary: string;
  security: keyof typeof access;
  body?: z.ZodType;
  query?: z.ZodObject;
  ok: { status: 200 | 302; description: string; schema?: z.ZodType };
  /** Also answers 302 (a link opened in a browser). */
  redirects?: string;
  refusals: Record<number, string>;
};
