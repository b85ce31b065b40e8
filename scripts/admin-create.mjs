#!/usr/bin/env node
// `npm run admin:create -- --email you@example.com [--name "Ada"] [--reset-existing] [--remote] [--env production] [--database bastion]`
// Creates an admin account in D1. An address that already has an account is refused: whoever
// registered it first (maybe not you) must not become admin with their password, second factors,
// passkeys and sessions. With --reset-existing, that account is taken over instead: its password
// becomes the one typed here, its TOTP, passkeys, sessions and reset tokens are removed, its
// address counts as verified, and it becomes admin. Every run is recorded in operator_events,
// which the worker moves into the audit log at the next sign-in. The password is read from the terminal without
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
import { wranglerCommand } from "./wrangler-cli.mjs";

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
 * The SQL of one run. Values are validated and quoted; the email pattern excludes quotes and
 * backslashes. The last statement answers the outcome: `created`, `refused_existing` (the address
 * has an account and --reset-existing was not given: nothing changed but the operator event) or
 * `reset_existing`.
 */
export function adminSql({
  email,
  name,
  passwordHash,
  resetExisting = false,
  now = Date.now(),
  id = randomUUID().replaceAll("-", ""),
  eventId = randomUUID(),
}) {
  const normalised = email.trim().toLowerCase();
  if (!EMAIL.test(normalised)) throw new Error("not a valid email address");
  const safeName = String(name ?? "Shop admin").slice(0, 100);
  const e = quote(normalised);
  const target = `(SELECT id FROM user WHERE email = ${e})`;
  const outcome = resetExisting
    ? `CASE WHEN ${target} = ${quote(id)} THEN 'created' ELSE 'reset_existing' END`
    : `CASE WHEN ${target} = ${quote(id)} THEN 'created' ELSE 'refused_existing' END`;
  const statements = [
    // Recorded first, from the state before this run: the outcome, the account, no secret.
    `INSERT INTO operator_events (id, at, action, subject, detail) VALUES (${quote(eventId)}, ${now}, 'admin.create', coalesce(${target}, ${quote(id)}), json_object('outcome', CASE WHEN ${target} IS NULL THEN 'created' ELSE ${resetExisting ? "'reset_existing'" : "'refused_existing'"} END, 'tool', 'npm run admin:create'));`,
    `INSERT INTO user (id, name, email, email_verified, created_at, updated_at, two_factor_enabled, role, banned) VALUES (${quote(id)}, ${quote(safeName)}, ${e}, 1, ${now}, ${now}, 0, 'admin', 0) ON CONFLICT(email) DO ${resetExisting ? `UPDATE SET role = 'admin', email_verified = 1, two_factor_enabled = 0, banned = 0, ban_reason = NULL, ban_expires = NULL, updated_at = ${now}` : "NOTHING"};`,
  ];
  if (resetExisting) {
    for (const table of ["session", "passkey", "two_factor"]) statements.push(`DELETE FROM ${table} WHERE user_id = ${target};`);
    statements.push(`DELETE FROM verification WHERE value = ${target};`);
    statements.push(`DELETE FROM account WHERE user_id = ${target} AND provider_id = 'credential';`);
  }
  statements.push(
    `INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at) SELECT ${quote(randomUUID().replaceAll("-", ""))}, u.id, 'credential', u.id, ${quote(passwordHash)}, ${now}, ${now} FROM user u WHERE u.email = ${e} AND (u.id = ${quote(id)} OR ${resetExisting ? 1 : 0} = 1) AND NOT EXISTS (SELECT 1 FROM account a WHERE a.user_id = u.id AND a.provider_id = 'credential');`,
    `SELECT ${outcome} AS outcome;`,
  );
  return statements.join("\n");
}

/** The message a run ends with, by outcome. */
export function outcomeMessage(outcome, email, where) {
  switch (outcome) {
    case "created":
      return {
        ok: true,
        text: `admin ${email} is ready (${where}). Sign in, enrol an authenticator app or a passkey with a PIN on /account, then sign in again with it: staff routes need the second factor proven in the session.`,
      };
    case "reset_existing":
      return {
        ok: true,
        text: `the existing account ${email} was reset and made admin (${where}): its password is the one you typed; its TOTP, passkeys, sessions and reset tokens were removed. Sign in and enrol a second factor.`,
      };
    case "refused_existing":
      return {
        ok: false,
        text: `refused: ${email} already has an account (${where}) and it was NOT promoted: whoever registered it keeps no say over staff access. To take that account over (new password; its TOTP, passkeys and sessions removed), run again with --reset-existing.`,
      };
    default:
      return { ok: false, text: `unknown outcome for ${email}: check the user table and the audit log.` };
  }
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
    console.error("usage: npm run admin:create -- --email you@example.com [--name NAME] [--reset-existing] [--remote] [--env production]");
    process.exit(2);
  }
  const password = await readPassword();
  if ([...password].length < 15 || [...password].length > 128) {
    console.error("the password must be 15 to 128 characters");
    process.exit(2);
  }
  const resetExisting = args.includes("--reset-existing");
  const sql = adminSql({ email, name: option("--name"), passwordHash: await hashPassword(password), resetExisting });
  const target = targetFromArgs(args);
  const dir = mkdtempSync(path.join(tmpdir(), "bastion-admin-"));
  const file = path.join(dir, "admin.sql");
  writeFileSync(file, sql, { mode: 0o600 });
  const cmd = ["d1", "execute", target.database, target.remote ? "--remote" : "--local", "--file", file, "--yes", "--json"];
  if (target.envName) cmd.push("--env", target.envName);
  if (target.config) cmd.push("--config", target.config);
  try {
    const out = execFileSync(...wranglerCommand(cmd), { stdio: ["ignore", "pipe", "inherit"] }).toString("utf8");
    const outcome = /"outcome"\s*:\s*"([a-z_]+)"/.exec(out)?.[1];
    const message = outcomeMessage(outcome, email.trim().toLowerCase(), `${target.remote ? "remote" : "local"} ${target.database}`);
    (message.ok ? console.log : console.error)(message.text);
    if (!message.ok) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
