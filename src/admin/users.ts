import { z } from "@hono/zod-openapi";
import { and, asc, eq, gt, or, sql, type SQL } from "drizzle-orm";
import { session as sessionTable, user as userTable } from "../accounts/schema";
import { toRole, type Role } from "../accounts/session";
import { requireAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { ProblemError } from "../platform/problem";
import type { StaffActor } from "./products";

export const ROLES = ["customer", "support", "admin"] as const;

/** PUT /api/admin/users/{id}/role body. Strict: `id`, `email`, `banned`… next to `role` are a 422 (P16). */
export const RoleBody = z
  .object({ role: z.enum(ROLES) })
  .strict()
  .openapi("AdminRoleChange");

/** Query of GET /api/admin/users: `q` matches part of an email or name, or a whole id. */
export const UserSearchQuery = z.object({
  q: z.string().trim().max(320).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});
export type UserSearchQuery = z.infer<typeof UserSearchQuery>;

/** An account as staff see it: never the password hash, TOTP secret or sessions' tokens. */
export interface AdminUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  banned: boolean;
  createdAt: string;
}

const columns = {
  id: userTable.id,
  email: userTable.email,
  name: userTable.name,
  role: userTable.role,
  emailVerified: userTable.emailVerified,
  twoFactorEnabled: userTable.twoFactorEnabled,
  banned: userTable.banned,
  createdAt: userTable.createdAt,
};

type UserColumns = {
  id: string;
  email: string;
  name: string;
  role: string;
  emailVerified: boolean;
  twoFactorEnabled: boolean | null;
  banned: boolean | null;
  createdAt: Date;
};

function toAdminUser(row: UserColumns): AdminUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: toRole(row.role),
    emailVerified: row.emailVerified,
    twoFactorEnabled: !!row.twoFactorEnabled,
    banned: !!row.banned,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Accounts in id order, optionally filtered by `q` (a parameter of instr(), never pasted into SQL). */
export async function searchUsers(db: Database, query: UserSearchQuery): Promise<{ items: AdminUser[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  const filters: SQL[] = [];
  const q = query.q?.toLowerCase();
  if (q) filters.push(or(eq(userTable.id, query.q!), sql`instr(lower(${userTable.email}), ${q}) > 0`, sql`instr(lower(${userTable.name}), ${q}) > 0`)!);
  if (query.cursor) filters.push(gt(userTable.id, query.cursor));
  const rows = await db
    .select(columns)
    .from(userTable)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(asc(userTable.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(toAdminUser);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

/** One account by id, or null. */
export async function findAdminUser(db: Database, id: string): Promise<AdminUser | null> {
  const [row] = await db.select(columns).from(userTable).where(eq(userTable.id, id)).limit(1);
  return row ? toAdminUser(row) : null;
}

/** What a role change did. */
export interface RoleChange {
  user: AdminUser;
  changed: boolean;
  sessionsRevoked: number;
}

/**
 * Sets a user's role (admin only; the route checks a fresh sign-in) and records
 * `user.role_changed` with before/after. The user's sessions are deleted, so the new role applies
 * from their next sign-in and a demoted admin's open session stops working at once.
 * The last admin cannot be demoted (409 `last_admin`): the update itself counts the other admins,
 * so two admins demoting each other at the same moment cannot both succeed.
 */
export async function changeRoleAudited(env: Env, db: Database, actor: StaffActor, userId: string, role: Role): Promise<RoleChange> {
  const before = await findAdminUser(db, userId);
  if (!before) throw new ProblemError(404, "user_not_found", "No user has this id.");
  if (before.role === role) return { user: before, changed: false, sessionsRevoked: 0 };
  // A staff role goes only to an address its owner proved (decision 012): whoever registered an
  // unverified address first must not become staff.
  if (role !== "customer" && !before.emailVerified) {
    throw new ProblemError(409, "email_not_verified", "This account's email address is not verified: it cannot be given a staff role.");
  }
  const otherAdmins = sql`(SELECT count(*) FROM ${userTable} AS other WHERE other.role = 'admin' AND coalesce(other.banned, 0) = 0 AND other.id <> ${userId})`;
  const demotesAdmin = before.role === "admin";
  const updated = await db
    .update(userTable)
    .set({ role, updatedAt: new Date() })
    .where(and(eq(userTable.id, userId), eq(userTable.role, before.role), demotesAdmin ? sql`${otherAdmins} > 0` : undefined))
    .returning({ id: userTable.id });
  if (updated.length === 0) {
    const now = await findAdminUser(db, userId);
    if (now && now.role === before.role && demotesAdmin) {
      throw new ProblemError(409, "last_admin", "This is the last admin: make another admin first.");
    }
    throw new ProblemError(409, "role_changed_meanwhile", "The user's role changed meanwhile; reload and try again.");
  }
  const revoked = await db.delete(sessionTable).where(eq(sessionTable.userId, userId)).returning({ id: sessionTable.id });
  try {
    // Fail closed (issue 19, decision 006): no role change stands without its audit row. The row
    // needs the outcome (revoked sessions), so it is written after the change, and a refused write
    // puts the role back. The revoked sessions stay revoked: that only signs the user out.
    await requireAudit(env, {
      actor: actor.id,
      action: "user.role_changed",
      subject: userId,
      // The name helps a reader of the log; the audit encodes it, so a crafted name stays one
      // escaped field. No email: the id is enough, and the log is append-only (erasure cannot reach it).
      detail: { before: { role: before.role }, after: { role }, name: before.name, sessionsRevoked: revoked.length },
      ip: actor.ip,
    });
  } catch (error) {
    await db
      .update(userTable)
      .set({ role: before.role, updatedAt: new Date() })
      .where(and(eq(userTable.id, userId), eq(userTable.role, role)));
    throw error;
  }
  return { user: { ...before, role }, changed: true, sessionsRevoked: revoked.length };
}
