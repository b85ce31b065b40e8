import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requireFreshSession } from "../accounts/session";
import { getDb } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { Layout } from "../web/layout";
import { actorOf, staffUser } from "./guard";
import { Alert, filledQuery, refusalOf, StaffNav } from "./page-parts";
import { changeRoleAudited, ROLES, searchUsers, UserSearchQuery } from "./users";

async function UsersPage(props: { c: Context<AppEnv>; error?: string }) {
  const parsed = UserSearchQuery.safeParse(filledQuery(props.c));
  const query = parsed.success ? parsed.data : {};
  const page = await searchUsers(getDb(props.c.env.DB), query);
  const q = query.q ?? "";
  return (
    <Layout title="Staff: users">
      <StaffNav />
      <h1>Users</h1>
      <Alert message={props.error} />
      <form method="get" action="/admin/users">
        <label>
          Email, name or id <input name="q" value={q} maxlength={320} />
        </label>
        <button type="submit">Search</button>
      </form>
      <p>A role change signs the user out everywhere; the new role applies at their next sign-in. It needs a sign-in within the last 10 minutes.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Id</th>
            <th scope="col">Second factor</th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((u) => (
            <tr>
              <td>{u.email}</td>
              <td>{u.name}</td>
              <td>
                <code>{u.id}</code>
              </td>
              <td>{u.twoFactorEnabled ? "on" : "off"}</td>
              <td>
                <form method="post" action={`/admin/users/${encodeURIComponent(u.id)}/role`}>
                  <select name="role" aria-label={`Role of ${u.email}`}>
                    {ROLES.map((r) => (
                      <option value={r} selected={r === u.role}>
                        {r}
                      </option>
                    ))}
                  </select>{" "}
                  <button type="submit">Set role</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.nextCursor ? <a href={`/admin/users?q=${encodeURIComponent(q)}&cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</a> : null}
    </Layout>
  );
}

/**
 * Staff pages for accounts (admin): search, and change a role. Mounted inside `adminPages`, after
 * its staff guard; the handlers call the same audited functions as the API.
 */
export const userPages = new Hono<AppEnv>()
  .get("/admin/users", async (c) => c.html(await UsersPage({ c })))
  .post("/admin/users/:id/role", zValidator("form", z.object({ role: z.enum(ROLES).optional().catch(undefined) })), async (c) => {
    const id = c.req.param("id");
    const role = c.req.valid("form").role;
    if (!role) return c.html(await UsersPage({ c, error: "Choose customer, support or admin." }), 422);
    try {
      requireFreshSession(staffUser(c));
      await changeRoleAudited(c.env, getDb(c.env.DB), actorOf(c), id, role);
    } catch (error) {
      const refusal = refusalOf(error);
      return c.html(await UsersPage({ c, error: refusal.message }), refusal.status);
    }
    return c.redirect(`/admin/users?q=${encodeURIComponent(id)}`, 303);
  });
