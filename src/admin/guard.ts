import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { staffAssuranceProblem } from "../accounts/assurance";
import { getSessionUser, staffSessionExpired, staffSessionIdle, touchStaffSession, type SessionUser } from "../accounts/session";
import type { AppEnv } from "../platform/app-env";
import { ProblemError } from "../platform/problem";
import type { StaffActor } from "./products";

type StaffRole = "admin" | "support";

/**
 * The one access policy of the staff API (P16): which roles may call which admin route.
 * Support reads orders; every other admin route, and every change, is admin only.
 * Unknown paths under /api/admin fall to the strictest rule, so a new route is admin-only until
 * it is listed here.
 */
export function rolesFor(method: string, path: string): readonly StaffRole[] {
  const reads = method === "GET" || method === "HEAD";
  // Support reads orders one by one and in lists, their packing slips and customers; the CSV export (every customer's data at once) is admin only.
  const readsOrders = reads && /^(\/api)?\/admin\/orders(\/[^/]+)?\/?$/.test(path) && !/^\/admin\/orders\/export/.test(path);
  const readsCustomers = reads && /^\/admin\/customers\/[^/]+\/?$/.test(path);
  // The staff home page: the dashboard (its stock figures link to admin pages only for admins).
  const staffHome = reads && /^\/admin\/?$/.test(path);
  return readsOrders || readsCustomers || staffHome ? ["admin", "support"] : ["admin"];
}

const staffUsers = new WeakMap<Request, SessionUser>();

/**
 * Middleware for /api/admin/* and the staff pages under /admin: 401 without a session, 403 `forbidden` for a role the policy does
 * not allow, 403 `mfa_required` for a session not opened with a second factor (API.md, decision 012).
 * Staff sessions also expire after 12 hours (decision 007), whatever the shopper lifetime is.
 */
export const staffGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  // Mounted by each staff sub-app; once a request passed it, a second mount does not check again.
  if (staffUsers.has(c.req.raw)) return next();
  const user = await getSessionUser(c);
  if (!user) throw new ProblemError(401, "unauthenticated", "Sign in with a staff account.");
  const allowed = rolesFor(c.req.method, c.req.path);
  if (!(allowed as readonly string[]).includes(user.role)) {
    throw new ProblemError(403, "forbidden", "Your role does not allow this.");
  }
  // AAL2 (decision 012): the second factor must have been proven in this very session, when it
  // was made, by the role the account has now; what the account has enrolled is not enough.
  switch (staffAssuranceProblem(user)) {
    case "no_second_factor_enrolled":
      throw new ProblemError(
        403,
        "mfa_required",
        "Staff accounts need a second factor: add an authenticator app or a passkey with a PIN or biometrics on your account page, then sign in again.",
      );
    case "no_second_factor_in_session":
      throw new ProblemError(
        403,
        "mfa_required",
        "This session was not opened with a second factor: sign out and sign in again with your authenticator app code or a passkey that verifies you (PIN or biometrics).",
      );
    case "role_changed":
      throw new ProblemError(401, "session_expired", "Your role changed since this session began: sign in again.");
    case "too_old":
      throw new ProblemError(401, "session_expired", "Staff sessions last 12 hours: sign in again.");
    case null:
      break;
  }
  if (!user.emailVerified) throw new ProblemError(403, "email_not_verified", "Staff accounts need a verified email address.");
  if (staffSessionExpired(user)) throw new ProblemError(401, "session_expired", "Staff sessions last 12 hours: sign in again.");
  if (staffSessionIdle(user)) throw new ProblemError(401, "session_expired", "Staff sessions end after an hour without activity: sign in again.");
  await touchStaffSession(c.env, user);
  staffUsers.set(c.req.raw, user);
  await next();
};

/** The staff member the guard let through for this request. */
export function staffUser(c: Context<AppEnv>): SessionUser {
  const user = staffUsers.get(c.req.raw);
  if (!user) throw new ProblemError(401, "unauthenticated", "Sign in with a staff account.");
  return user;
}

/** The client address for audit events. */
export function clientIp(c: Context<AppEnv>): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}

/** The staff member acting, with their address: the actor of a change's audit event. */
export function actorOf(c: Context<AppEnv>): StaffActor {
  return { id: staffUser(c).id, ip: clientIp(c) };
}

/**
 * Each staff route documents who may call it from the one access policy (rolesFor), so the
 * OpenAPI document cannot drift from the guard: the session cookie, the roles, a second factor.
 */
export function describeStaffAccess(api: OpenAPIHono<AppEnv>): void {
  for (const definition of api.openAPIRegistry.definitions) {
    if (definition.type !== "route") continue;
    const roles = rolesFor(definition.route.method.toUpperCase(), definition.route.path);
    const rule = `Staff only: the ${roles.join(" or ")} role, in a session opened with a second factor (TOTP or a passkey that verified the user): otherwise 403 \`forbidden\` or \`mfa_required\`.`;
    Object.assign(definition.route, {
      security: [{ cookieAuth: [] }],
      "x-bastion-roles": [...roles],
      "x-bastion-second-factor": "required",
      description: definition.route.description ? `${definition.route.description}\n\n${rule}` : rule,
    });
  }
}
