import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { cookiesFrom, enrolTotp, getAs, markEmailVerified, signUpAndSignIn } from "../support/accounts";
import { totp } from "../support/totp";
import { unique } from "../support/factories";
import { ORIGIN, request } from "../support/http";

/** The sign-in form as a browser without JavaScript posts it. */
function postSignIn(fields: Record<string, string>, headers: Record<string, string> = {}, query = ""): Promise<Response> {
  return request(`/sign-in${query}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, ...headers },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
}

/** The code step's form (POST /sign-in/code) with the cookies the password step set. */
function postCode(code: string, cookie: string, headers: Record<string, string> = {}, query = ""): Promise<Response> {
  return request(`/sign-in/code${query}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, cookie, ...headers },
    body: new URLSearchParams({ code }),
    redirect: "manual",
  });
}

async function auditCount(action: string, userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = ? AND actor = ?").bind(action, userId).first<{ n: number }>();
  return row?.n ?? 0;
}

/** A shopper with a verified email (TOTP needs one) and TOTP on. */
async function shopperWithTotp() {
  const who = await signUpAndSignIn();
  await markEmailVerified(who.user.id);
  return { who, ...(await enrolTotp(who)) };
}

let n = 0;
const address = () => `2001:db8:ff:${(++n).toString(16)}::1`;

describe("sign-in without JavaScript", () => {
  it("the page's form posts to /sign-in; a right password answers 303 to the account (or a safe next) with the session cookie", async () => {
    const page = await (await request("/sign-in")).text();
    expect(page).toContain('action="/sign-in"');
    const who = await signUpAndSignIn();
    const res = await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": address() });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account");
    const cookie = cookiesFrom(res);
    expect(cookie).toMatch(/bastion\.session_token=/);
    expect((await getAs(cookie, "/api/me")).status).toBe(200);
    for (const [next, expected] of [
      ["/cart", "/cart"],
      ["//evil.example/x", "/account"],
      ["https://evil.example", "/account"],
      ["/\\evil.example", "/account"],
    ] as const) {
      const r = await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": address() }, `?next=${encodeURIComponent(next)}`);
      expect(r.headers.get("location"), next).toBe(expected);
    }
  });

  it("P05 a wrong password re-renders the form with 401, the email kept, never the password, and no session", async () => {
    const who = await signUpAndSignIn();
    const res = await postSignIn({ email: who.email, password: "not-the-right-passphrase-42" }, { "cf-connecting-ip": address() });
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain(`value="${who.email}"`);
    expect(html).not.toContain("not-the-right-passphrase-42");
    expect(res.headers.getSetCookie().some((l) => l.includes("session_token=") && !/max-age=0/i.test(l))).toBe(false);
  });

  it("P05 the form shares the API's throttle: after 5 failures for one email the right password needs Turnstile and opens no session", async () => {
    const who = await signUpAndSignIn();
    for (let i = 0; i < 5; i++)
      expect((await postSignIn({ email: who.email, password: `wrong-guess-number-${i}-xx` }, { "cf-connecting-ip": address() })).status).toBe(401);
    const res = await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": address() });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("complete the check");
    expect(res.headers.getSetCookie().some((l) => l.includes("session_token=") && !/max-age=0/i.test(l))).toBe(false);
  });

  it("P03 CSRF: a sign-in form posted from another site with the visitor's cookies is refused and opens no session", async () => {
    const who = await signUpAndSignIn();
    const res = await postSignIn(
      { email: who.email, password: who.password },
      { origin: "https://evil.example", cookie: `__Host-bastion_cart=${unique("c")}`, "cf-connecting-ip": address() },
    );
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("with TOTP on: the password step answers 303 to the code step, whose form takes the code and opens a two-factor session", async () => {
    const { who, secret } = await shopperWithTotp();
    const ip = address();
    const first = await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": ip }, "?next=%2Fcart");
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/sign-in?step=code&next=%2Fcart");
    const pending = cookiesFrom(first);
    expect(pending).not.toMatch(/bastion\.session_token=/); // no session before the code
    const step = await (await request("/sign-in?step=code&next=%2Fcart", { headers: { cookie: pending } })).text();
    expect(step).toContain('action="/sign-in/code?next=%2Fcart"');
    expect(step).not.toContain("needs JavaScript");
    const res = await postCode(await totp(secret, Date.now() + 30_000), pending, { "cf-connecting-ip": ip }, "?next=%2Fcart");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/cart");
    const cookie = cookiesFrom(res, pending);
    const me = await getAs(cookie, "/api/me");
    expect(me.status).toBe(200);
    expect(await auditCount("auth.sign_in.totp", who.user.id)).toBeGreaterThanOrEqual(1);
  });

  it("P05 the code step refuses a wrong code (401, no session) and a replayed code, like the API", async () => {
    const { who, secret } = await shopperWithTotp();
    const signInOnce = async () => cookiesFrom(await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": address() }));
    const pending = await signInOnce();
    const wrong = await postCode("000000", pending, { "cf-connecting-ip": address() });
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain('action="/sign-in/code"');
    expect(wrong.headers.getSetCookie().some((l) => l.includes("session_token=") && !/max-age=0/i.test(l))).toBe(false);
    // A good code once, then the same code again in a second sign-in: refused (RFC 6238 §5.2).
    const code = await totp(secret, Date.now() + 30_000);
    expect((await postCode(code, pending, { "cf-connecting-ip": address() })).status).toBe(303);
    const again = await postCode(code, await signInOnce(), { "cf-connecting-ip": address() });
    expect(again.status).toBe(401);
    expect(await auditCount("auth.totp.replay_refused", who.user.id)).toBe(1);
  });

  it("P05 a backup code works once on the code step; an empty code is a 422 on the same page", async () => {
    const { who, backupCodes } = await shopperWithTotp();
    const pending = cookiesFrom(await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": address() }));
    expect((await postCode("", pending, { "cf-connecting-ip": address() })).status).toBe(422);
    const used = await postCode(backupCodes[0]!, pending, { "cf-connecting-ip": address() });
    expect(used.status).toBe(303);
    expect((await getAs(cookiesFrom(used, pending), "/api/me")).status).toBe(200);
    const pendingAgain = cookiesFrom(await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": address() }));
    expect((await postCode(backupCodes[0]!, pendingAgain, { "cf-connecting-ip": address() })).status).toBe(401);
  });

  it("P03 CSRF: the code form posted from another site is refused and opens no session", async () => {
    const { who, secret } = await shopperWithTotp();
    const pending = cookiesFrom(await postSignIn({ email: who.email, password: who.password }, { "cf-connecting-ip": address() }));
    const res = await postCode(await totp(secret, Date.now() + 30_000), pending, { origin: "https://evil.example", "cf-connecting-ip": address() });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });
});
