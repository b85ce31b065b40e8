import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { ProblemError } from "./problem";

/**
 * A sub-app whose every zod validation failure becomes one `422 validation_failed` problem
 * (or `400 invalid_query` for query and path parameters), thrown to the single `onError`.
 */
export function createApiApp(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const target = (result as { target?: string }).target;
      const errors = result.error.issues.map((issue) => ({
        path: issue.path.map(String).join("."),
        message: issue.message,
      }));
      if (target === "query" || target === "param") {
        throw new ProblemError(400, "invalid_parameter", "A query or path parameter is not valid.", { errors });
      }
      void c;
      throw new ProblemError(422, "validation_failed", "The request body breaks a rule.", { errors });
    },
  });
}

/** The problem+json schema, referenced by every route's error responses in the OpenAPI document. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

/** OpenAPI response entry for a problem+json error. */
export function problemResponseSpec(description: string) {
  return { description, content: { "application/problem+json": { schema: ProblemSchema } } };
}

/**
 * How a route is authenticated, for its OpenAPI entry (the `securitySchemes` are registered in
 * docs.tsx). `cookieAuth` is better-auth's session cookie; `cartCookie` the guest cart's.
 */
export const access = {
  /** Anyone, no credentials. */
  public: { security: [] as Record<string, string[]>[] },
  /** A shopper's cart: the session's cart when signed in, else the guest cart cookie (or none yet). */
  cart: { security: [{}, { cookieAuth: [] }, { cartCookie: [] }] as Record<string, string[]>[] },
  /** A buyer: a signed-in account, or a guest holding a cart cookie. */
  buyer: { security: [{ cookieAuth: [] }, { cartCookie: [] }] as Record<string, string[]>[] },
  /** A signed-in user of any role. */
  signedIn: { security: [{ cookieAuth: [] }] as Record<string, string[]>[] },
  /** Stripe only: the body's HMAC in `Stripe-Signature`. */
  stripe: { security: [{ stripeSignature: [] }] as Record<string, string[]>[] },
} as const;
