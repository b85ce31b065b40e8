import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAs, makeStaff } from "../support/accounts";

const ageSession = (userId: string, column: "created_at" | "updated_at", ms: number) =>
  env.DB.prepare(`UPDATE session SET ${column} = ${column} - ? WHERE user_id = ?`).bind(ms, userId).run();

describe("staff session lifetimes", () => {
  it("P08 a staff session idle for over an hour no longer opens staff routes; activity keeps it alive", async () => {
    const admin = await makeStaff("admin");
    expect((await getAs(admin.cookie, "/api/admin/products")).status).toBe(200);
    await ageSession(admin.user.id, "updated_at", 59 * 60_000);
    expect((await getAs(admin.cookie, "/api/admin/products")).status).toBe(200);
    const row = await env.DB.prepare("SELECT updated_at FROM session WHERE user_id = ? ORDER BY updated_at DESC LIMIT 1")
      .bind(admin.user.id)
      .first<{ updated_at: number }>();
    expect(Date.now() - row!.updated_at).toBeLessThan(60_000);
    await ageSession(admin.user.id, "updated_at", 61 * 60_000);
    const idle = await getAs(admin.cookie, "/api/admin/products");
    expect(idle.status).toBe(401);
    expect(((await idle.json()) as { code: string }).code).toBe("session_expired");
  });

  it("P08 a staff session older than 12 hours is refused even when active", async () => {
    const admin = await makeStaff("admin");
    await ageSession(admin.user.id, "created_at", 13 * 3600_000);
    const res = await getAs(admin.cookie, "/api/admin/products");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("session_expired");
    // The same cookie still works as a shopper session (its 7-day lifetime is separate).
    expect((await getAs(admin.cookie, "/api/me")).status).toBe(200);
  });
});
