import { createRoute, z } from "@hono/zod-openapi";
import { requireFreshSession } from "../accounts/session";
import { getDb } from "../db/client";
import { createApiApp, problemResponseSpec } from "../platform/openapi";
import { actorOf, staffUser } from "./guard";
import { changeRoleAudited, RoleBody, ROLES, searchUsers, UserSearchQuery } from "./users";
import { guarded, jsonContent } from "./staff-api";

const AdminUserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    emailVerified: z.boolean(),
    twoFactorEnabled: z.boolean(),
    banned: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("AdminUser");
const UserIdParam = z.object({ id: z.string().min(1).max(100) });

const listUsersRoute = createRoute({
  method: "get",
  path: "/admin/users",
  operationId: "adminListUsers",
  tags: ["Staff"],
  summary: "Accounts, searched by part of an email or name, or an id (admin)",
  request: { query: UserSearchQuery },
  responses: {
    200: { description: "A page", content: jsonContent(z.object({ items: z.array(AdminUserSchema), nextCursor: z.string().nullable() })) },
    ...guarded,
  },
});
const setRoleRoute = createRoute({
  method: "put",
  path: "/admin/users/{id}/role",
  operationId: "adminSetUserRole",
  tags: ["Staff"],
  summary: "Change a user's role (admin, sign-in within 10 minutes)",
  description:
    "Signs the user out everywhere (their sessions are deleted), so the new role applies at their next sign-in. The last admin cannot be demoted (`409 last_admin`).",
  request: { params: UserIdParam, body: { content: jsonContent(RoleBody), required: true } },
  responses: {
    200: { description: "The user now", content: jsonContent(z.object({ user: AdminUserSchema, changed: z.boolean(), sessionsRevoked: z.number().int() })) },
    404: problemResponseSpec("No such user"),
    409: problemResponseSpec("`last_admin`"),
    422: problemResponseSpec("Invalid or unknown field"),
    ...guarded,
  },
});

/** Staff API for accounts (admin): search them, change a role (audited). */
export const userApi = createApiApp();

userApi
  .openapi(listUsersRoute, async (c) => c.json(await searchUsers(getDb(c.env.DB), c.req.valid("query")), 200))
  .openapi(setRoleRoute, async (c) => {
    requireFreshSession(staffUser(c));
    const result = await changeRoleAudited(c.env, getDb(c.env.DB), actorOf(c), c.req.valid("param").id, c.req.valid("json").role);
    return c.json(result, 200);
  });
