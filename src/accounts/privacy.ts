import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { asc, count, eq, sql } from "drizzle-orm";
import { listAuditEventsAbout, recordAudit, type AuditEvent } from "../audit/audit";
import { cartStubForUser } from "../cart/cart";
import { toOrder, type Order } from "../checkout/orders";
import { orderLines, orders } from "../checkout/schema";
import { couponRedemptions } from "../coupons/schema";
import { getDb, inList, type Database } from "../db/client";
import type { AppEnv } from "../platform/app-env";
import { access, createApiApp, problemResponseSpec } from "../platform/openapi";
import { ProblemError } from "../platform/problem";
import { SESSION_COOKIE } from "./auth";
import { emailKey } from "./pseudonym";
import { mailOutbox } from "../mail/schema";
import { account, passkey, session, signInPseudonym, twoFactor, user as userTable, verification } from "./schema";
import { requireFreshSession, requireUser, type SessionUser } from "./session";

/** Everything the shop keeps about a person, as their data download (GDPR art. 15 and 20). */
export interface PersonalDataExport {
  exportedAt: string;
  profile: {
    id: string;
    email: string;
    name: string;
    emailVerified: boolean;
    image: string | null;
    role: string;
    twoFactorEnabled: boolean;
    createdAt: string;
    updatedAt: string;
  };
  sessions: { createdAt: string; expiresAt: string; ipAddress: string | null; userAgent: string | null; current: boolean }[];
  signInMethods: { password: boolean; authenticatorApp: boolean; passkeys: { name: string | null; deviceType: string; createdAt: string | null }[] };
  orders: Order[];
  couponRedemptions: { code: string; orderId: string; discountCents: number | null; redeemedAt: string }[];
  auditEvents: AuditEvent[];
}

/**
 * Collects the signed-in user's data. The user id comes from the session only (P12): there is no
 * parameter that could name someone else. Never the password hash, TOTP secret, backup codes,
 * passkey public keys or session tokens. Audit events keep their hashes (so they can be checked
 * against the chain); the address of an event someone else caused (staff) is left out.
 */
export async function exportPersonalData(env: Env, db: Database, who: SessionUser): Promise<PersonalDataExport> {
  const [profile] = await db.select().from(userTable).where(eq(userTable.id, who.id)).limit(1);
  if (!profile) throw new ProblemError(401, "unauthenticated", "Sign in to continue.");
  // Failed sign-ins with this email are audited under its pseudonym (pseudonym.ts): theirs too.
  const [pseudonymRow] = await db
    .select({ pseudonym: signInPseudonym.pseudonym })
    .from(signInPseudonym)
    .where(eq(signInPseudonym.emailKey, await emailKey(env, profile.email)))
    .limit(1);
  const [sessions, credentials, totp, passkeys, orderRows, redemptions, audit, failedSignIns] = await Promise.all([
    db.select().from(session).where(eq(session.userId, who.id)).orderBy(asc(session.createdAt)),
    db.select({ providerId: account.providerId, password: account.password }).from(account).where(eq(account.userId, who.id)),
    db.select({ id: twoFactor.id }).from(twoFactor).where(eq(twoFactor.userId, who.id)).limit(1),
    db.select({ name: passkey.name, deviceType: passkey.deviceType, createdAt: passkey.createdAt }).from(passkey).where(eq(passkey.userId, who.id)),
    db.select().from(orders).where(eq(orders.userId, who.id)).orderBy(asc(orders.createdAt), asc(orders.id)),
    db.select().from(couponRedemptions).where(eq(couponRedemptions.userId, who.id)),
    listAuditEventsAbout(env.DB, who.id),
    pseudonymRow ? listAuditEventsAbout(env.DB, pseudonymRow.pseudonym) : Promise.resolve([]),
  ]);
  const lines = orderRows.length
    ? await db
        .select()
        .from(orderLines)
        .where(
          // All of the account's orders, however many: one bound parameter (D1 binds at most 100).
          inList(
            orderLines.orderId,
            orderRows.map((o) => o.id),
          ),
        )
        .orderBy(sql`rowid`)
    : [];
  return {
    exportedAt: new Date().toISOString(),
    profile: {
      id: profile.id,
      email: profile.email,
      name: profile.name,
      emailVerified: profile.emailVerified,
      image: profile.image,
      role: profile.role,
      twoFactorEnabled: !!profile.twoFactorEnabled,
      createdAt: profile.createdAt.toISOString(),
      updatedAt: profile.updatedAt.toISOString(),
    },
    sessions: sessions.map((s) => ({
      createdAt: s.createdAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      ipAddress: s.ipAddress,
      userAgent: s.userAgent,
      current: s.id === who.sessionId,
    })),
    signInMethods: {
      password: credentials.some((c) => c.providerId === "credential" && !!c.password),
      authenticatorApp: totp.length > 0,
      passkeys: passkeys.map((p) => ({ name: p.name, deviceType: p.deviceType, createdAt: p.createdAt?.toISOString() ?? null })),
    },
    orders: orderRows.map((o) =>
      toOrder(
        o,
        lines.filter((l) => l.orderId === o.id),
      ),
    ),
    couponRedemptions: redemptions.map((r) => ({ code: r.code, orderId: r.orderId, discountCents: r.discountCents, redeemedAt: r.redeemedAt })),
    auditEvents: [...audit.map((e) => (e.actor === who.id ? e : { ...e, ip: null })), ...failedSignIns].sort((a, b) => Number(a.id) - Number(b.id)),
  };
}

/** What an erasure did. */
export interface ErasureResult {
  userRow: "anonymised" | "deleted";
  ordersKept: number;
}

/**
 * Erases a person's data (GDPR art. 17). Sign-in material goes (sessions, password, TOTP,
 * passkeys, outstanding reset tokens), the cart is emptied and development mail to them is dropped. Orders are kept for the
 * accounts (a legal obligation): they hold no name or email, only the user id, so the user row is
 * anonymised (`deleted-<id>@invalid`, "Deleted user", banned so it can never sign in) while orders
 * reference it, and deleted otherwise. Audit events stay (append-only, security logging); they
 * name the pseudonymous id, and failed sign-ins a random pseudonym whose link to the email is
 * deleted here. Staff accounts are refused (`409 staff_account`): an admin must first
 * take their role away, so the shop is never left without an admin by accident.
 */
export async function erasePersonalData(env: Env, db: Database, who: SessionUser, ip: string | null): Promise<ErasureResult> {
  if (who.role !== "customer") {
    throw new ProblemError(409, "staff_account", "Staff accounts cannot delete themselves: ask an admin to change your role first.");
  }
  const [{ n: ordersKept } = { n: 0 }] = await db.select({ n: count() }).from(orders).where(eq(orders.userId, who.id));
  const userRow = ordersKept > 0 ? "anonymised" : "deleted";
  const lastStep =
    userRow === "anonymised"
      ? db
          .update(userTable)
          .set({
            email: `deleted-${who.id}@invalid`,
            name: "Deleted user",
            image: null,
            emailVerified: false,
            twoFactorEnabled: false,
            role: "customer",
            banned: true,
            banReason: "account deleted by its owner",
            updatedAt: new Date(),
          })
          .where(eq(userTable.id, who.id))
      : db.delete(userTable).where(eq(userTable.id, who.id));
  // One batch: a failure part-way leaves nothing half-erased.
  await db.batch([
    db.delete(session).where(eq(session.userId, who.id)),
    db.delete(account).where(eq(account.userId, who.id)),
    db.delete(twoFactor).where(eq(twoFactor.userId, who.id)),
    db.delete(passkey).where(eq(passkey.userId, who.id)),
    db.delete(mailOutbox).where(eq(mailOutbox.to, who.email)),
    // Outstanding password-reset tokens (better-auth keeps the user id as their value).
    db.delete(verification).where(eq(verification.value, who.id)),
    // The link from this email to the pseudonym of its failed sign-ins: the audit log keeps the
    // pseudonym (append-only), which then points at no one.
    db.delete(signInPseudonym).where(eq(signInPseudonym.emailKey, await emailKey(env, who.email))),
    lastStep,
  ]);
  // The cart holds product ids only, but it is theirs: empty it. A cart object that is down must
  // not undo an erasure that already happened.
  await cartStubForUser(env, who.id)
    .clear()
    .catch((error: unknown) => console.error(JSON.stringify({ level: "error", msg: "erase_cart_failed", error: String(error) })));
  await recordAudit(env, { actor: who.id, action: "user.deleted", subject: who.id, detail: { userRow, ordersKept }, ip });
  return { userRow, ordersKept };
}

/** Set-Cookie lines that end the session in the browser (the server-side rows are gone already). */
export function clearSessionCookies(c: Context<AppEnv>): void {
  for (const name of [SESSION_COOKIE, "__Host-bastion.dont_remember"]) {
    c.header("set-cookie", `${name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax`, { append: true });
  }
}

/** The download's file name: `bastion-data-YYYY-MM-DD.json`. */
export function exportFileName(now: Date = new Date()): string {
  return `bastion-data-${now.toISOString().slice(0, 10)}.json`;
}

const DeleteBody = z
  .object({ confirm: z.literal("DELETE") })
  .strict()
  .openapi("DeleteMyData");

const exportRoute = createRoute({
  method: "get",
  path: "/me/export",
  operationId: "exportMyData",
  ...access.signedIn,
  tags: ["Accounts"],
  summary: "Download your data (sign-in within 10 minutes)",
  description: "A JSON attachment: profile, sessions, sign-in methods (no secrets), orders, coupon redemptions and audit events about you.",
  responses: {
    200: {
      description: "The data, as an attachment",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()).openapi("PersonalDataExport") } },
    },
    401: problemResponseSpec("Not signed in"),
    403: problemResponseSpec("`reauth_required`: sign in again"),
  },
});
const deleteRoute = createRoute({
  method: "post",
  path: "/me/delete",
  operationId: "deleteMyAccount",
  ...access.signedIn,
  tags: ["Accounts"],
  summary: "Erase your account (sign-in within 10 minutes)",
  description: "Deletes sign-in data and anonymises the account; orders are kept without your name or email. Clears the session cookie.",
  request: { body: { content: { "application/json": { schema: DeleteBody } }, required: true } },
  responses: {
    200: { description: "Erased", content: { "application/json": { schema: z.object({ deleted: z.literal(true), ordersKept: z.number().int() }) } } },
    401: problemResponseSpec("Not signed in"),
    403: problemResponseSpec("`reauth_required`: sign in again"),
    409: problemResponseSpec("`staff_account`"),
    422: problemResponseSpec('`confirm` must be "DELETE"'),
  },
});

/** Data protection API (GDPR art. 15, 17, 20): GET /api/me/export and POST /api/me/delete, for the signed-in user only. */
export const privacyApi = createApiApp()
  .openapi(exportRoute, async (c) => {
    const user = await requireUser(c);
    requireFreshSession(user);
    const data = await exportPersonalData(c.env, getDb(c.env.DB), user);
    await recordAudit(c.env, { actor: user.id, action: "user.data_exported", subject: user.id, ip: c.req.header("cf-connecting-ip") ?? null });
    return c.json(data, 200, { "content-disposition": `attachment; filename="${exportFileName()}"` });
  })
  .openapi(deleteRoute, async (c) => {
    const user = await requireUser(c);
    requireFreshSession(user);
    c.req.valid("json");
    const result = await erasePersonalData(c.env, getDb(c.env.DB), user, c.req.header("cf-connecting-ip") ?? null);
    clearSessionCookies(c);
    return c.json({ deleted: true as const, ordersKept: result.ordersKept }, 200);
  });
