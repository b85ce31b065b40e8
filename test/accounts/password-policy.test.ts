import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { afterEach, describe, expect, it, vi } from "vitest";
import { commonPasswordList, isCommonPassword } from "../../src/accounts/password-policy";
import { countRows, unique } from "../support/factories";
import { sendJson } from "../support/http";

const signUp = (password: string) => sendJson("POST", "/api/auth/sign-up/email", { email: `${unique("pp").toLowerCase()}@example.com`, password, name: "P" });

async function sha1Hex(s: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(s)));
  return [...d]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

describe("password policy", () => {
  afterEach(() => vi.restoreAllMocks());

  it("keeps a local list of at least the 3,000 most common passwords", () => {
    expect(commonPasswordList().size).toBeGreaterThanOrEqual(3000);
    expect(isCommonPassword("123456789qwerty")).toBe(true);
    expect(isCommonPassword("passwordpassword")).toBe(true);
    expect(isCommonPassword("aaaaaaaaaaaaaaaa")).toBe(true);
    expect(isCommonPassword("violet-otter-lantern-harbour")).toBe(false);
  });

  it("P05 refuses passwords shorter than 15 or longer than 128 characters and creates no account", async () => {
    const before = await countRows("user");
    expect((await signUp("short-pass-14c")).status).toBe(400);
    expect((await signUp("x".repeat(129))).status).toBe(400);
    expect(await countRows("user")).toBe(before);
  });

  it("P05 refuses a common password from the local list with no network", async () => {
    const before = await countRows("user");
    const res = await signUp("123456789987654321");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("PASSWORD_TOO_COMMON");
    expect(await countRows("user")).toBe(before);
  });

  it("P05 refuses a password found by the Pwned Passwords range API, sending only 5 hex characters of its SHA-1", async () => {
    const password = "breached-but-long-passphrase-000";
    const hash = await sha1Hex(password);
    const seen: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = new Request(input as RequestInfo).url;
      seen.push(url);
      // The documented range format: SUFFIX:COUNT lines, padded with zero-count entries.
      return new Response(`0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n${hash.slice(5)}:42\r\nFFFFF0000000000000000000000000000000:0`, { status: 200 });
    });
    const before = await countRows("user");
    const res = await signUp(password);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("PASSWORD_COMPROMISED");
    expect(await countRows("user")).toBe(before);
    const pwned = seen.filter((u) => u.includes("pwnedpasswords"));
    expect(pwned).toEqual([`https://api.pwnedpasswords.com/range/${hash.slice(0, 5)}`]);
    expect(pwned.join()).not.toContain(hash.slice(5));
  });

  it("signs up on the local list alone when Pwned Passwords is unreachable (never a 500)", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("network down"));
    const res = await signUp("quiet-maple-orbit-lantern-9911");
    expect(res.status).toBe(200);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM user").first<{ n: number }>()).toBeTruthy();
  });
});

describe("development admin seed", () => {
  afterEach(() => vi.restoreAllMocks());

  it("seeds the development admin offline: no Pwned Passwords lookup, while sign-up still asks it", async () => {
    const seen: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      seen.push(new Request(input as RequestInfo).url);
      return new Response("0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n", { status: 200 });
    });
    const email = `${unique("seed").toLowerCase()}@example.com`;
    const seedEnv = { ...env, ADMIN_EMAIL: email, ADMIN_PASSWORD: "granite-heron-violet-compass-42" } as Env;
    // A second env object: the config and better-auth are built per env, with these two values.
    const res = await worker.fetch(
      new Request("http://localhost:8787/api/dev/seed-admin", {
        method: "POST",
        headers: { origin: "http://localhost:8787", "content-type": "application/json" },
        body: "{}",
      }),
      seedEnv,
      createExecutionContext(),
    );
    expect(res.status).toBe(201);
    const row = await env.DB.prepare("SELECT role, email_verified AS verified FROM user WHERE email = ?")
      .bind(email)
      .first<{ role: string; verified: number }>();
    expect(row).toEqual({ role: "admin", verified: 1 });
    expect(seen.filter((u) => u.includes("pwnedpasswords"))).toEqual([]);
    // The exemption is the seed's alone: an ordinary sign-up right after still asks the API.
    expect((await signUp("quiet-maple-orbit-lantern-7733")).status).toBe(200);
    expect(seen.filter((u) => u.includes("pwnedpasswords"))).toHaveLength(1);
  });
});
