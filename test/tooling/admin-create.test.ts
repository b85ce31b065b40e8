import { scryptSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { adminSql, hashPassword, outcomeMessage } from "../../scripts/admin-create.mjs";

/** A fresh SQLite database with every D1 migration applied, like `wrangler d1 execute --local`. */
function migratedDb(): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  db.exec("PRAGMA foreign_keys = ON");
  const dir = path.join(import.meta.dirname, "../../migrations");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const statement of readFileSync(path.join(dir, file), "utf8").split("--> statement-breakpoint")) db.exec(statement);
  }
  return db;
}

/** Runs one admin:create SQL file statement by statement; returns the outcome of the last one. */
function run(db: DatabaseSync, sql: string): string {
  const statements = sql
    .split(/;\n/)
    .map((s) => s.replace(/;$/, ""))
    .filter(Boolean);
  for (const s of statements.slice(0, -1)) db.exec(s);
  return (db.prepare(statements[statements.length - 1]!).get() as { outcome: string }).outcome;
}

/** An account someone registered first, with a password, TOTP, a passkey and a session. */
function squatter(db: DatabaseSync, email: string): string {
  const id = "squatter1";
  db.exec(`INSERT INTO user (id, name, email, email_verified, two_factor_enabled, role) VALUES ('${id}', 'Mallory', '${email}', 0, 1, 'customer')`);
  db.exec(
    `INSERT INTO account (id, account_id, provider_id, user_id, password, updated_at) VALUES ('acc1', '${id}', 'credential', '${id}', 'scrypt$mallory', 0)`,
  );
  db.exec(`INSERT INTO two_factor (id, secret, backup_codes, user_id) VALUES ('tf1', 's', 'b', '${id}')`);
  db.exec(
    `INSERT INTO passkey (id, public_key, user_id, credential_id, counter, device_type, backed_up) VALUES ('pk1', 'k', '${id}', 'c1', 0, 'singleDevice', 0)`,
  );
  db.exec(`INSERT INTO session (id, expires_at, token, updated_at, user_id) VALUES ('s1', 9999999999999, 'tok1', 0, '${id}')`);
  return id;
}

const counts = (db: DatabaseSync, id: string) =>
  Object.fromEntries(
    ["session", "passkey", "two_factor"].map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t} WHERE user_id = ?`).get(id) as { n: number }).n]),
  );

describe("npm run admin:create", () => {
  it("hashes with the worker's scrypt parameters so the worker verifies the password", async () => {
    const hash: string = await hashPassword("a long admin passphrase 42");
    const [kind, n, r, p, salt, key] = hash.split("$");
    expect([kind, n, r, p]).toEqual(["scrypt", "16384", "8", "5"]);
    const again = scryptSync("a long admin passphrase 42".normalize("NFKC"), Buffer.from(salt!, "base64"), 64, {
      N: 16384,
      r: 8,
      p: 5,
      maxmem: 64 * 1024 * 1024,
    });
    expect(again.toString("base64")).toBe(key);
  });

  it("P16 writes only quoted, validated values: an email or name with SQL in it is refused or stays a literal", () => {
    expect(() => adminSql({ email: "x'); DROP TABLE user;--@example.com", passwordHash: "h" })).toThrow();
    const sql: string = adminSql({ email: "Ada@Example.com", name: "O'Brien'); DROP TABLE user;--", passwordHash: "scrypt$1", id: "u1", now: 1 });
    expect(sql).toContain("'ada@example.com'");
    expect(sql).toContain("'O''Brien''); DROP TABLE user;--'");
    const db = migratedDb();
    expect(run(db, sql)).toBe("created");
    expect(db.prepare("SELECT name, role, email_verified AS v FROM user WHERE id = 'u1'").get()).toEqual({
      name: "O'Brien'); DROP TABLE user;--",
      role: "admin",
      v: 1,
    });
  });

  it("P16 admin:create refuses an existing account: its role, password, factors and sessions stay, the run is recorded and ends with a clear message", () => {
    const db = migratedDb();
    const id = squatter(db, "owner@example.com");
    const before = JSON.stringify([db.prepare("SELECT * FROM user").all(), db.prepare("SELECT * FROM account").all(), counts(db, id)]);
    const outcome = run(db, adminSql({ email: "Owner@Example.com", passwordHash: "scrypt$admin", id: "new1", eventId: "ev1" }));
    expect(outcome).toBe("refused_existing");
    expect(JSON.stringify([db.prepare("SELECT * FROM user").all(), db.prepare("SELECT * FROM account").all(), counts(db, id)])).toBe(before);
    const event = db.prepare("SELECT action, subject, detail, recorded_at AS r FROM operator_events WHERE id = 'ev1'").get() as {
      action: string;
      subject: string;
      detail: string;
      r: null;
    };
    expect(event).toMatchObject({ action: "admin.create", subject: id, r: null });
    expect(JSON.parse(event.detail)).toMatchObject({ outcome: "refused_existing" });
    const message = outcomeMessage(outcome, "owner@example.com", "local bastion");
    expect(message.ok).toBe(false);
    expect(message.text).toContain("--reset-existing");
  });

  it("P16 admin:create --reset-existing takes the account over: new password, factors and sessions gone, verified, admin, recorded", () => {
    const db = migratedDb();
    const id = squatter(db, "owner@example.com");
    const outcome = run(db, adminSql({ email: "owner@example.com", passwordHash: "scrypt$admin", resetExisting: true, id: "new1", eventId: "ev2" }));
    expect(outcome).toBe("reset_existing");
    expect(db.prepare("SELECT role, email_verified AS v, two_factor_enabled AS t FROM user WHERE id = ?").get(id)).toEqual({ role: "admin", v: 1, t: 0 });
    expect(db.prepare("SELECT password FROM account WHERE user_id = ? AND provider_id = 'credential'").all(id)).toEqual([{ password: "scrypt$admin" }]);
    expect(counts(db, id)).toEqual({ session: 0, passkey: 0, two_factor: 0 });
    expect(JSON.parse((db.prepare("SELECT detail FROM operator_events WHERE id = 'ev2'").get() as { detail: string }).detail)).toMatchObject({
      outcome: "reset_existing",
    });
    expect(outcomeMessage(outcome, "owner@example.com", "local bastion").ok).toBe(true);
  });
});
