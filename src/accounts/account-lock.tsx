import type { Context } from "hono";
import { shopSettingsFor } from "../settings/shop-settings";
import { z } from "zod";
import { recordAudit } from "../audit/audit";
import type { AppEnv } from "../platform/app-env";
import { hmacSha256Key } from "../platform/hmac";
import { Layout } from "../web/layout";
import { mailerFor, sendSafely } from "./mailer";
import { executionContextOf } from "./session";

/** How long the "this was not me" link of an email-change notice works. */
export const LOCK_LINK_SECONDS = 7 * 24 * 3600;

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function lockMac(env: Env, userId: string, oldEmail: string, expires: number): Promise<string> {
  const key = await hmacSha256Key(`account-lock:${env.BETTER_AUTH_SECRET ?? "development"}`);
  return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${userId}\n${oldEmail}\n${expires}`))));
}

/** The link that lets the previous address take the account back. */
export async function lockLink(env: Env, origin: string, userId: string, oldEmail: string, now: number = Date.now()): Promise<string> {
  const expires = Math.floor(now / 1000) + LOCK_LINK_SECONDS;
  const q = new URLSearchParams({ u: userId, e: oldEmail, x: String(expires), t: await lockMac(env, userId, oldEmail, expires) });
  return `${origin}/account/lock?${q}`;
}

/**
 * After an email change was confirmed: the old address hears about it, with a link that locks the
 * account (ASVS 6: notify the old address). JWT payload read without checking: better-auth
 * verified this token in the same request, and we only act when the change is visible in D1.
 */
export async function notifyOldAddressOfEmailChange(c: Context<AppEnv>, token: string): Promise<void> {
  let payload: { email?: string; updateTo?: string; requestType?: string };
  try {
    payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as typeof payload;
  } catch {
    return;
  }
  if (payload.requestType !== "change-email-verification" || !payload.email || !payload.updateTo) return;
  const row = await c.env.DB.prepare("SELECT id FROM user WHERE email = ?").bind(payload.updateTo.toLowerCase()).first<{ id: string }>();
  if (!row) return;
  const link = await lockLink(c.env, c.var.config.PUBLIC_ORIGIN, row.id, payload.email);
  const work = (async () => {
    await recordAudit(c.env, { actor: row.id, action: "auth.email.changed", subject: row.id, ip: c.req.header("cf-connecting-ip") ?? null });
    const { shopName } = await shopSettingsFor(c.env.DB);
    await sendSafely(mailerFor(c.env, c.var.config), {
      to: payload.email!,
      subject: `Your ${shopName} account's email was changed`,
      text: `The email address of your ${shopName} account was changed from this address to ${payload.updateTo}.\n\nIf this was not you, lock the account and take it back by opening (within 7 days):\n${link}\n\nLocking signs everyone out, removes the password, passkeys and authenticator app, and moves the account back to this address; then reset your password from the sign-in page.`,
    });
  })();
  const ctx = executionContextOf(c);
  if (ctx) ctx.waitUntil(work.catch(() => undefined));
  else await work;
}

interface LockParams {
  userId: string;
  oldEmail: string;
  expires: number;
  mac: string;
}

/** The link's fields (query of GET, form of POST): account, old address, expiry, MAC. */
const LockFields = z
  .object({
    u: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    e: z
      .string()
      .max(320)
      .transform((e) => e.toLowerCase())
      .refine((e) => e.includes("@")),
    x: z.coerce.number().int(),
    t: z.string().length(43),
  })
  .transform((f): LockParams => ({ userId: f.u, oldEmail: f.e, expires: f.x, mac: f.t }));

function params(input: unknown): LockParams | null {
  const parsed = LockFields.safeParse(input);
  return parsed.success ? parsed.data : null;
}

async function valid(env: Env, p: LockParams | null, now: number = Date.now()): Promise<boolean> {
  if (!p || p.expires * 1000 < now) return false;
  const expected = await lockMac(env, p.userId, p.oldEmail, p.expires);
  if (expected.length !== p.mac.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ p.mac.charCodeAt(i);
  return diff === 0;
}

/** GET /account/lock: a page with a button; a GET never changes anything (mail scanners open links). */
export async function lockPage(c: Context<AppEnv>): Promise<Response> {
  const p = params(c.req.query());
  const ok = await valid(c.env, p);
  return c.html(
    <Layout title="Lock your account">
      <h1>Lock your account</h1>
      {ok && p ? (
        <form method="post" action="/account/lock" class="stack panel">
          <p>
            This signs everyone out, removes the password, passkeys and authenticator app, and moves the account back to <strong>{p.oldEmail}</strong>. Then
            reset your password from the sign-in page.
          </p>
          <input type="hidden" name="u" value={p.userId} />
          <input type="hidden" name="e" value={p.oldEmail} />
          <input type="hidden" name="x" value={String(p.expires)} />
          <input type="hidden" name="t" value={p.mac} />
          <button type="submit">Lock my account</button>
        </form>
      ) : (
        <p>This link is not valid or has expired. Contact support.</p>
      )}
    </Layout>,
    ok ? 200 : 400,
  );
}

/** POST /account/lock: takes the account back for the previous address (form, same origin). */
export async function lockAccount(c: Context<AppEnv>): Promise<Response> {
  const origin = c.req.header("origin");
  if (origin && origin !== c.var.config.PUBLIC_ORIGIN) return c.text("Cross-site request refused.", 403);
  const p = params(await c.req.parseBody());
  if (!p || !(await valid(c.env, p))) return c.text("This link is not valid or has expired.", 400);
  const db = c.env.DB;
  await db.batch([
    db
      .prepare(
        "UPDATE user SET email = ?1, email_verified = 1, two_factor_enabled = 0, updated_at = ?3 WHERE id = ?2 AND NOT EXISTS (SELECT 1 FROM user other WHERE other.email = ?1 AND other.id <> ?2)",
      )
      .bind(p.oldEmail, p.userId, Date.now()),
    db.prepare("DELETE FROM session WHERE user_id = ?").bind(p.userId),
    db.prepare("DELETE FROM passkey WHERE user_id = ?").bind(p.userId),
    db.prepare("DELETE FROM two_factor WHERE user_id = ?").bind(p.userId),
    db.prepare("DELETE FROM verification WHERE value = ?").bind(p.userId),
    db.prepare("UPDATE account SET password = NULL WHERE user_id = ? AND provider_id = 'credential'").bind(p.userId),
  ]);
  await recordAudit(c.env, {
    actor: p.userId,
    action: "auth.account.locked",
    subject: p.userId,
    detail: { by: "previous email" },
    ip: c.req.header("cf-connecting-ip") ?? null,
  });
  const { shopName } = await shopSettingsFor(c.env.DB);
  await sendSafely(mailerFor(c.env, c.var.config), {
    to: p.oldEmail,
    subject: `Your ${shopName} account is locked`,
    text: "Your account was locked: everyone was signed out and its password, passkeys and authenticator app were removed. To get back in, choose Forgot password on the sign-in page and use this address.",
  });
  return c.redirect("/forgot-password", 303);
}
