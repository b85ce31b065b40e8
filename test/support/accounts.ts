import { env } from "cloudflare:workers";
import { ORIGIN, request, sendJson } from "./http";
import { unique } from "./factories";
import { secretOf, spendTotp } from "./totp";

export const STRONG_PASSWORD = "violet-otter-lantern-harbour-57";

export interface SignedIn {
  cookie: string;
  user: { id: string; email: string };
  email: string;
  password: string;
}

/** The `name=value` pairs of every Set-Cookie header, joined as a Cookie header. */
export function cookiesFrom(res: Response, previous = ""): string {
  const jar = new Map<string, string>();
  for (const part of previous.split(/;\s*/).filter(Boolean)) {
    const [name, ...rest] = part.split("=");
    jar.set(name!, rest.join("="));
  }
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const [name, ...rest] = pair!.split("=");
    const value = rest.join("=");
    if (/max-age=0/i.test(line) || value === "") jar.delete(name!.trim());
    else jar.set(name!.trim(), value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

/**
 * Signs up a new shopper over HTTP, then signs in as the sign-up page does (sign-up itself opens
 * no session, so it cannot reveal whether an email exists), and returns the session cookie.
 */
export async function signUpAndSignIn(overrides: { email?: string; password?: string; name?: string; cookie?: string } = {}): Promise<SignedIn> {
  const email = overrides.email ?? `${unique("shopper").toLowerCase()}@example.com`;
  const password = overrides.password ?? STRONG_PASSWORD;
  const res = await sendJson("POST", "/api/auth/sign-up/email", { email, password, name: overrides.name ?? "Test Shopper" });
  if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const signedIn = await sendJson("POST", "/api/auth/sign-in/email", { email, password }, overrides.cookie ? { cookie: overrides.cookie } : {});
  if (signedIn.status !== 200) throw new Error(`sign-in after sign-up failed: ${signedIn.status} ${await signedIn.text()}`);
  const body = (await signedIn.json()) as { user: { id: string; email: string } };
  return { cookie: cookiesFrom(signedIn, overrides.cookie), user: body.user, email, password };
}

/** Signs in over HTTP; returns the raw response (tests assert on it) and the cookie it set. */
export async function signIn(email: string, password: string, headers: Record<string, string> = {}): Promise<{ res: Response; cookie: string }> {
  const res = await sendJson("POST", "/api/auth/sign-in/email", { email, password }, headers);
  return { res, cookie: cookiesFrom(res, headers.cookie ?? "") };
}

/** Marks the account's email as verified in D1 (tests that are not about verification). */
export async function markEmailVerified(userId: string): Promise<void> {
  await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(userId).run();
}

/** Opens the verification link of the latest "Confirm your email" mail to `email`, over HTTP. */
export async function verifyEmailByLink(email: string): Promise<Response> {
  let url = "";
  for (let i = 0; i < 100 && !url; i++) {
    const mail = await env.DB.prepare("SELECT text FROM mail_outbox WHERE \"to\" = ? AND subject LIKE 'Confirm your email%' ORDER BY id DESC LIMIT 1")
      .bind(email)
      .first<{ text: string }>();
    url = /https?:\/\/\S+verify-email\S+/.exec(mail?.text ?? "")?.[0] ?? "";
    if (!url) await new Promise((r) => setTimeout(r, 20));
  }
  if (!url) throw new Error(`no verification mail for ${email}`);
  const u = new URL(url);
  return request(u.pathname + u.search, { redirect: "manual" });
}

/**
 * Enrols TOTP over HTTP the way the account page does (the email must be verified): returns the
 * secret and backup codes. The enrolment's code is spent; the cookie is the rotated session.
 */
export async function enrolTotp(who: SignedIn): Promise<{ secret: string; backupCodes: string[] }> {
  const res = await jsonAs(who.cookie, "POST", "/api/auth/two-factor/enable", { password: who.password });
  if (res.status !== 200) throw new Error(`two-factor/enable: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { totpURI: string; backupCodes: string[] };
  const secret = secretOf(body.totpURI);
  const verify = await jsonAs(who.cookie, "POST", "/api/auth/two-factor/verify-totp", { code: await spendTotp(secret) });
  if (verify.status !== 200) throw new Error(`two-factor/verify-totp (enrolment): ${verify.status} ${await verify.text()}`);
  who.cookie = cookiesFrom(verify, who.cookie);
  return { secret, backupCodes: body.backupCodes };
}

/** Signs in with password then a TOTP code (the next period's: the current one may be spent). */
export async function signInWithTotp(email: string, password: string, secret: string, offsetMs = 30_000): Promise<{ res: Response; cookie: string }> {
  const first = await signIn(email, password);
  if (first.res.status !== 200) throw new Error(`sign-in: ${first.res.status}`);
  const res = await jsonAs(first.cookie, "POST", "/api/auth/two-factor/verify-totp", { code: await spendTotp(secret, Date.now() + offsetMs) });
  return { res, cookie: cookiesFrom(res, first.cookie) };
}

/**
 * Makes a signed-in staff member the way a real one gets in: a real account, its email verified
 * and role set in D1, TOTP enrolled over HTTP, then a new sign-in with password and TOTP (staff
 * routes need the second factor proven in the session, decision 012). `twoFactor: false` gives a
 * staff account with a password-only session and no second factor.
 */
export async function makeStaff(role: "admin" | "support" | "customer", opts: { twoFactor?: boolean } = {}): Promise<SignedIn & { totpSecret?: string }> {
  const who = await signUpAndSignIn();
  await env.DB.prepare("UPDATE user SET role = ?, email_verified = 1 WHERE id = ?").bind(role, who.user.id).run();
  if (opts.twoFactor === false || role === "customer") return who;
  const { secret } = await enrolTotp(who);
  const staff = await signInWithTotp(who.email, who.password, secret);
  if (staff.res.status !== 200) throw new Error(`staff TOTP sign-in: ${staff.res.status} ${await staff.res.text()}`);
  // The enrolment and sign-in notices are audited in the background: wait for them, so a test's
  // "audit rows after this point" holds only what the test itself caused.
  await backgroundAuditSettled(who.user.id, ["auth.totp.enabled", "auth.sign_in.totp"]);
  // The enrolment's session (password only, never a staff session) is signed out: one session each.
  await jsonAs(who.cookie, "POST", "/api/auth/sign-out", {});
  return { ...who, cookie: staff.cookie, totpSecret: secret };
}

/** Waits until the audit log holds `actions` about `userId` (security events are written after the response). */
export async function backgroundAuditSettled(userId: string, actions: string[]): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const { results } = await env.DB.prepare("SELECT action FROM audit_events WHERE subject = ?").bind(userId).all<{ action: string }>();
    if (actions.every((a) => results.some((r) => r.action === a))) {
      // The notice mail follows its audit event in the same background task.
      await new Promise((r) => setTimeout(r, 30));
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`audit events ${actions.join(", ")} for ${userId} never arrived`);
}

/** GET with a session cookie. */
export function getAs(cookie: string, path: string): Promise<Response> {
  return request(path, { headers: { cookie } });
}

/** JSON request with a session cookie from the shop's own origin. */
export function jsonAs(cookie: string, method: string, path: string, body?: unknown): Promise<Response> {
  return request(path, {
    method,
    headers: { cookie, origin: ORIGIN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The latest mail in the dev outbox for an address. */
export async function latestMailTo(to: string): Promise<{ subject: string; text: string } | null> {
  return env.DB.prepare('SELECT subject, text FROM mail_outbox WHERE "to" = ? ORDER BY id DESC LIMIT 1').bind(to).first();
}
