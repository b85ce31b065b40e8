import { describe, expect, it } from "vitest";
import { hashPassword, SCRYPT_PARAMS, verifyPassword } from "../../src/accounts/password";

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
});
