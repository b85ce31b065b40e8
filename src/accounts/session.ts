import type { Context } from "hono";
import type { AppEnv } from "../platform/app-env";

/** The signed-in user as every other domain sees it. */
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: "customer" | "support" | "admin";
  emailVerified: boolean;
  twoFactorEnabled: boolean;
}

/**
 * The user of this request's session cookie, or `null` for a guest.
 * PLACEHOLDER until the accounts issue lands: everyone is a guest.
 */
export async function getSessionUser(c: Context<AppEnv>): Promise<SessionUser | null> {
  void c;
  return null;
}
