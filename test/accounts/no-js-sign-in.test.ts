import { describe, expect, it } from "vitest";
import { cookiesFrom, getAs, signUpAndSignIn } from "../support/accounts";
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
});
