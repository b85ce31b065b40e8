import { afterAll, beforeAll } from "vitest";
import type { SessionUser } from "../../src/accounts/session";
import { replaceSessionResolverForTests } from "../../src/admin/guard";

/**
 * Until the accounts domain's `signUpAndSignIn`/`makeStaff` land, admin tests replace the
 * guard's session lookup with this (vi.mock does not work in this pool): the session is the `x-test-session`
 * header, a JSON SessionUser. Only test files install it; the worker never reads this header.
 */
export async function sessionFromTestHeader(c: { req: { header(name: string): string | undefined } }): Promise<SessionUser | null> {
  const raw = c.req.header("x-test-session");
  return raw ? (JSON.parse(raw) as SessionUser) : null;
}

/** Headers that act as a signed-in user of the given role (second factor on unless told). */
export function as(role: SessionUser["role"], overrides: Partial<SessionUser> = {}): Record<string, string> {
  const user: SessionUser = {
    id: `usr_${role}_${crypto.randomUUID().slice(0, 8)}`,
    email: `${role}@bastion.test`,
    name: role,
    role,
    emailVerified: true,
    twoFactorEnabled: true,
    ...overrides,
  };
  return { "x-test-session": JSON.stringify(user) };
}

/**
 * Sends a request through the worker's app imported into the test module graph, so a test's
 * `vi.mock` of the session module applies (`exports.default` runs a separate module instance).
 * Same pipeline as production: every middleware, the guard, onError.
 */
export async function appRequest(path: string, init: RequestInit = {}): Promise<Response> {
  const { env } = await import("cloudflare:workers");
  const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
  const app = (await import("../../src/index")).default;
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(new URL(path, "http://localhost:8787"), init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** JSON from the shop's own origin through `appRequest`. */
export function appJson(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return appRequest(path, { method, headers: { "content-type": "application/json", origin: "http://localhost:8787", ...headers }, body: JSON.stringify(body) });
}

/** Installs `sessionFromTestHeader` as the guard's session lookup for this test file. */
export function useTestSessions(): void {
  beforeAll(() => replaceSessionResolverForTests(sessionFromTestHeader as never));
  afterAll(() => replaceSessionResolverForTests(null));
}
