import { env } from "cloudflare:workers";
import { ORIGIN, request, sendJson } from "./http";
import { unique } from "./factories";

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

/** Makes a signed-in staff member: a real account whose role (and second factor flag) is set in D1. */
export async function makeStaff(role: "admin" | "support" | "customer", opts: { twoFactor?: boolean } = {}): Promise<SignedIn> {
  const who = await signUpAndSignIn();
  await env.DB.prepare("UPDATE user SET role = ?, two_factor_enabled = ? WHERE id = ?").bind(role, opts.twoFactor === false ? 0 : 1, who.user.id).run();
  return who;
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
  return env.DB.prepare("SELECT subject, text FROM mail_outbox WHERE \"to\" = ? ORDER BY id DESC LIMIT 1").bind(to).first();
}
