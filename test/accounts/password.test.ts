import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashPassword, SCRYPT_PARAMS, verifyPassword } from "../../src/accounts/password";
import worker from "../../src/index";
import { ORIGIN } from "../support/http";

describe("password hashing (scrypt)", () => {
  it("hashes with OWASP-level scrypt parameters and verifies only the right password", async () => {
    const hash = await hashPassword("a long enough passphrase here");
    expect(hash.split("$").slice(0, 4)).toEqual(["scrypt", String(SCRYPT_PARAMS.N), "8", "5"]);
    expect(SCRYPT_PARAMS.N * SCRYPT_PARAMS.r * SCRYPT_PARAMS.p).toBeGreaterThanOrEqual(2 ** 14 * 8 * 5);
    expect(await verifyPassword(hash, "a long enough passphrase here")).toBe(true);
    expect(await verifyPassword(hash, "a long enough passphrase herE")).toBe(false);
  });

  it("salts every hash and refuses malformed stored hashes", async () => {
    const a = await hashPassword("same password twice please");
    const b = await hashPassword("same password twice please");
    expect(a).not.toBe(b);
    expect(await verifyPassword("plain", "plain")).toBe(false);
    expect(await verifyPassword("scrypt$0$8$1$AAAA$AAAA", "x")).toBe(false);
  });

  it("a sign-up stores the full-cost hash unless the config asks for the test suite's cheap one (which production refuses)", async () => {
    const signUp = async (cost: string | undefined): Promise<string> => {
      const email = `cost-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const res = await worker.fetch(
        new Request(`${ORIGIN}/api/auth/sign-up/email`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            origin: ORIGIN,
            "cf-connecting-ip": `2001:db8:c0:${Math.floor(Math.random() * 65535).toString(16)}::1`,
          },
          body: JSON.stringify({ email, password: "violet-otter-lantern-harbour-57", name: "Cost" }),
        }),
        { ...env, PASSWORD_HASH_COST: cost } as unknown as Env,
        { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
      );
      expect(res.status).toBe(200);
      const row = await env.DB.prepare("SELECT a.password FROM account a JOIN user u ON u.id = a.user_id WHERE u.email = ?")
        .bind(email)
        .first<{ password: string }>();
      return row!.password.split("$").slice(0, 4).join("$");
    };
    expect(await signUp(undefined)).toBe("scrypt$16384$8$5");
    expect(await signUp("standard")).toBe("scrypt$16384$8$5");
    expect(await signUp("test-only-fast")).toBe("scrypt$1024$8$1");
  });
});
