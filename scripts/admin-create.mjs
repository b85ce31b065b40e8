#!/usr/bin/env node
// `npm run admin:create -- --email you@example.com [--name "Ada"] [--remote] [--env production] [--database bastion]`
// Creates (or promotes) an admin account in D1. The password is read from the terminal without
// echo (or from ADMIN_CREATE_PASSWORD for automation), checked against the shop's policy, hashed
// here with the same scrypt parameters as the worker (src/accounts/password.ts), and only the hash
// is sent to D1. The new admin must enrol a second factor at first sign-in before staff routes
// answer (API.md). Production runbook: README "Deploying", docs/operations.md.
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID, scrypt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { targetFromArgs } from "./audit-verify.mjs";

export const SCRYPT = { N: 2 ** 14, r: 8, p: 5, keyLength: 64 };
const EMAIL = /^[^\s@'"\\]{1,64}@[^\s@'"\\]{1,253}\.[^\s@'"\\]{2,}$/;

/** Hashes like src/accounts/password.ts: `scrypt$N$r$p$salt$key`, NFKC-normalised input. */
export function hashPassword(password) {
  const salt = randomBytes(16);
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64"), key.toString("base64")].join("$")),
    ),
  );
}

const quote = (value) => `'${String(value).replaceAll("'", "''")}'`;

/**
 * The SQL that creates the admin, or promotes an existing account (its password is then left
 * alone). Values are validated and quoted; the email pattern excludes quotes and backslashes.
 */
export function adminSql({ email, name, passwordHash, now = Date.now(), id = randomUUID().replaceAll("-", "") }) {
  const normalised = email.trim().toLowerCase();
  if (!EMAIL.test(normalised)) throw new Error("not a valid email address");
  const safeName = String(name ?? "Shop admin").slice(0, 100);
  return [
    `INSERT INTO user (id, name, email, email_verified, created_at, updated_at, two_factor_enabled, role, banned) VALUES (${quote(id)}, ${quote(safeName)}, ${quote(normalised)}, 1, ${now}, ${now}, 0, 'admin', 0) ON CONFLICT(email) DO UPDATE SET role = 'admin', updated_at = ${now};`,
    `INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at) SELECT ${quote(randomUUID().replaceAll("-", ""))}, u.id, 'credential', u.id, ${quote(passwordHash)}, ${now}, ${now} FROM user u WHERE u.email = ${quote(normalised)} AND NOT EXISTS (SELECT 1 FROM account a WHERE a.user_id = u.id AND a.provider_id = 'credential');`,
  ].join("\n");
}

async function readPassword() {
  if (process.env.ADMIN_CREATE_PASSWORD) return process.env.ADMIN_CREATE_PASSWORD;
  if (!process.stdin.isTTY) throw new Error("set ADMIN_CREATE_PASSWORD or run in a terminal");
  process.stdout.write("Password (15-128 characters, not echoed): ");
  process.stdin.setRawMode(true);
  process.stdin.resume();
  let value = "";
  for await (const chunk of process.stdin) {
    for (const ch of chunk.toString("utf8")) {
      if (ch === "\r" || ch === "\n") {
        process.stdin.setRawMode(false);
        process.stdin.pause();
        process.stdout.write("\n");
        return value;
      }
      if (ch === "\u0003") process.exit(130);
      if (ch === "\u007f") value = value.slice(0, -1);
      else value += ch;
    }
  }
  return value;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (n) => (args.indexOf(n) >= 0 ? args[args.indexOf(n) + 1] : undefined);
  const email = option("--email");
  if (!email) {
    console.error("usage: npm run admin:create -- --email you@example.com [--name NAME] [--remote] [--env production]");
    process.exit(2);
  }
  const password = await readPassword();
  if ([...password].length < 15 || [...password].length > 128) {
    console.error("the password must be 15 to 128 characters");
    process.exit(2);
  }
  const sql = adminSql({ email, name: option("--name"), passwordHash: await hashPassword(password) });
  const target = targetFromArgs(args);
  const dir = mkdtempSync(path.join(tmpdir(), "bastion-admin-"));
  const file = path.join(dir, "admin.sql");
  writeFileSync(file, sql, { mode: 0o600 });
  const cmd = ["wrangler", "d1", "execute", target.database, target.remote ? "--remote" : "--local", "--file", file, "--yes"];
  if (target.envName) cmd.push("--env", target.envName);
  if (target.config) cmd.push("--config", target.config);
  try {
    execFileSync("npx", cmd, { stdio: ["ignore", "ignore", "inherit"] });
    console.log(`admin ${email.trim().toLowerCase()} is ready (${target.remote ? "remote" : "local"} ${target.database}). Sign in, then enrol an authenticator app on /account: staff routes need it.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
