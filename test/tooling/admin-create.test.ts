import { scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { adminSql, hashPassword } from "../../scripts/admin-create.mjs";

describe("npm run admin:create", () => {
  it("hashes with the worker's scrypt parameters so the worker verifies the password", async () => {
    const hash: string = await hashPassword("a long admin passphrase 42");
    const [kind, n, r, p, salt, key] = hash.split("$");
    expect([kind, n, r, p]).toEqual(["scrypt", "16384", "8", "5"]);
    const again = scryptSync("a long admin passphrase 42".normalize("NFKC"), Buffer.from(salt!, "base64"), 64, { N: 16384, r: 8, p: 5, maxmem: 64 * 1024 * 1024 });
    expect(again.toString("base64")).toBe(key);
  });

  it("P16 writes only quoted, validated values: an email or name with SQL in it is refused or stays a literal", () => {
    expect(() => adminSql({ email: "x'); DROP TABLE user;--@example.com", passwordHash: "h" })).toThrow();
    const sql: string = adminSql({ email: "Ada@Example.com", name: "O'Brien'); DROP TABLE user;--", passwordHash: "scrypt$1", id: "u1", now: 1 });
    expect(sql).toContain("'ada@example.com'");
    expect(sql).toContain("'O''Brien''); DROP TABLE user;--'");
    expect(sql.match(/;\n|;$/g)?.length).toBe(2);
  });
});
