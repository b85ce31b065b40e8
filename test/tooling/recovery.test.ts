import { execFile, execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { d1Query } from "../../scripts/audit-verify.mjs";
import { canonicalJson, GENESIS_HASH, hashEvent, importAuditKeys, signAnchor, signEvent } from "../../src/audit/chain";

// P18: backups restore, and a tampered backup is caught by the audit hash chain. Runs the real
// npm scripts against throwaway local D1 state directories (no network, nothing remote).
const root = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join(tmpdir(), "bastion-recovery-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(script: string, args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  try {
    const out = execFileSync("node", [path.join(root, "scripts", script), ...args], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    return { code: 0, out };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

/** `run`, without waiting: independent checks run side by side (each is mostly process start-up). */
function runAsync(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      "node",
      [path.join(root, "scripts", script), ...args],
      { cwd: root, encoding: "utf8", env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
      },
    );
  });
}

// The installed binary, not `npx wrangler`: npx costs an npm start per call, and this file makes many.
const WRANGLER = path.join(root, "node_modules", ".bin", "wrangler");
function wrangler(args: string[]): string {
  return execFileSync(WRANGLER, args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" },
  });
}

/** A project directory of its own (wrangler.toml + migrations): its local D1 state lives inside it. */
function makeProject(name: string, opts: { migrated?: boolean } = {}): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  cpSync(path.join(root, "migrations"), path.join(dir, "migrations"), { recursive: true });
  writeFileSync(
    path.join(dir, "wrangler.toml"),
    readFileSync(path.join(root, "wrangler.toml"), "utf8")
      .replace(/^main = .*$/m, "")
      // The whole [assets] table: every line up to the next table header (its values may hold brackets).
      .replace(/^\[assets\]\n(?:(?!\[).*\n)*/m, ""),
  );
  // Migrated once (the first time asked), then copied: every project starts from the same schema.
  if (opts.migrated) cpSync(path.join(migratedTemplate(), ".wrangler"), path.join(dir, ".wrangler"), { recursive: true });
  return path.join(dir, "wrangler.toml");
}

let template: string | null = null;
function migratedTemplate(): string {
  if (!template) {
    const config = makeProject("migrated-template");
    wrangler(["d1", "migrations", "apply", "bastion", "--local", "--config", config]);
    template = path.dirname(config);
  }
  return template;
}

/**
 * The project's local D1 database file, opened directly (node:sqlite): the test's own seeding
 * and reading need no wrangler process each; the scripts under test still go through wrangler.
 */
function localDatabase(config: string): DatabaseSync {
  const dir = path.join(path.dirname(config), ".wrangler", "state", "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!file) throw new Error(`no local D1 database in ${dir}`);
  return new DatabaseSync(path.join(dir, file));
}

/** Rows of a read-only query on a project's local database: the verifier's own local reader. */
function query(config: string, sql: string): Record<string, unknown>[] {
  return d1Query({ config }, sql);
}

function execute(config: string, sql: string): void {
  const db = localDatabase(config);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

async function seedAuditSql(
  count: number,
  eventOf: (id: number) => { action: string; detail?: unknown } = () => ({ action: "product.updated" }),
): Promise<string> {
  let prev = GENESIS_HASH;
  const lines: string[] = [];
  for (let id = 1; id <= count; id++) {
    const { action, detail = { changes: { stock: { from: id, to: id + 1 } } } } = eventOf(id);
    const row = {
      id,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)).toISOString(),
      actor: "usr_admin",
      ip: null,
      action,
      subject: "prd_lamp",
      detail: canonicalJson(detail),
    };
    const hash = (await hashEvent(prev, row))!;
    lines.push(
      `INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash) VALUES (${id}, '${row.at}', 'usr_admin', NULL, '${action}', 'prd_lamp', '${row.detail}', '${prev}', '${hash}');`,
    );
    prev = hash;
  }
  return lines.join("\n");
}

describe("recovery (P18)", () => {
  const restored = makeProject("restored");
  const tamperedState = makeProject("tampered");
  const backups = path.join(work, "backups");
  let dump = "";

  it("db:backup exports local D1 to a timestamped SQL file and db:restore brings products and a verifiable audit chain back", async () => {
    const source = makeProject("source", { migrated: true });
    execute(
      source,
      `INSERT INTO products (id, slug, name, description, price_cents, stock) VALUES ('prd_lamp', 'lamp', 'Lamp', 'Bright', 4200, 7);\n${await seedAuditSql(5)}\n`,
    );
    expect(run("audit-verify.mjs", ["--config", source])).toMatchObject({ code: 0 });

    const backup = run("db-backup.mjs", ["--config", source, "--out", backups]);
    expect(backup.code).toBe(0);
    const files = readdirSync(backups);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^bastion-local-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.sql$/);
    dump = path.join(backups, files[0]!);

    const restore = run("db-restore.mjs", [dump, "--config", restored]);
    expect(restore.out).toContain("audit chain intact (5 events");
    expect(restore.code).toBe(0);
    expect(query(restored, "SELECT id, slug, price_cents, stock FROM products")).toEqual([{ id: "prd_lamp", slug: "lamp", price_cents: 4200, stock: 7 }]);
    expect(query(restored, "SELECT hash FROM audit_events ORDER BY id")).toEqual(query(source, "SELECT hash FROM audit_events ORDER BY id"));
    // D1 cannot export the FTS5 search index: the backup drops it for the export and builds it
    // again in the source, and the restore builds it in the restored database.
    expect(readFileSync(dump, "utf8")).not.toMatch(/VIRTUAL TABLE|TRIGGER `product_search_/);
    for (const config of [source, restored]) {
      expect(query(config, "SELECT p.slug FROM product_search s JOIN products p ON p.rowid = s.rowid WHERE product_search MATCH 'bright'")).toEqual([
        { slug: "lamp" },
      ]);
      expect(query(config, "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'product_search_%'")).toEqual([{ n: 6 }]);
    }
  }, 300_000);

  it("P18 restore drill detects a tampered backup through the hash chain", () => {
    const text = readFileSync(dump, "utf8");
    expect(text).toContain("4,'2026-01-01T00:00:04.000Z','usr_admin'");
    const tampered = path.join(work, "tampered.sql");
    // An attacker edits one event in the dump (who changed the stock) and leaves the hashes alone.
    writeFileSync(tampered, text.replace("4,'2026-01-01T00:00:04.000Z','usr_admin'", "4,'2026-01-01T00:00:04.000Z','usr_support'"));
    const restore = run("db-restore.mjs", [tampered, "--config", tamperedState]);
    expect(restore.code).toBe(1);
    expect(restore.out).toContain("BROKEN at event 4");
    expect(run("audit-verify.mjs", ["--config", tamperedState]).code).toBe(1);
  }, 300_000);

  it("T10 audit:verify reports a loss the log recorded (audit.head_mismatch) until an audit.restored event explains it", async () => {
    const mismatch = { action: "audit.head_mismatch", detail: { expectedId: 2, expectedHash: "0".repeat(64), foundId: 2, foundHash: "1".repeat(64) } };
    const cases: [string, Record<number, { action: string; detail?: unknown }>, number][] = [
      ["loss-only", { 3: mismatch }, 1],
      // A note that names another event explains nothing.
      ["loss-misnamed", { 3: mismatch, 4: { action: "audit.restored", detail: { note: "n", explains: 1 } } }, 1],
      ["loss-explained", { 3: mismatch, 4: { action: "audit.restored", detail: { note: "n", explains: 3 } } }, 0],
    ];
    const configs: string[] = [];
    for (const [name, events] of cases) {
      const config = makeProject(name, { migrated: true });
      execute(config, `${await seedAuditSql(5, (id) => events[id] ?? { action: "product.updated" })}\n`);
      configs.push(config);
    }
    const verdicts = await Promise.all(configs.map((config) => runAsync("audit-verify.mjs", ["--config", config])));
    cases.forEach(([name, , code], i) => {
      expect({ name, code: verdicts[i]!.code }).toEqual({ name, code });
      if (code === 1) expect(verdicts[i]!.out).toContain("no audit.restored event explains it");
    });
  }, 300_000);

  it("T10 audit:verify takes the key from the environment: the right key verifies a keyed chain, a wrong key is named, and a checkpoint past D1's end is a truncated tail", async () => {
    const key = "offline-verifier-test-key-0123456789abcdef";
    const keys = await importAuditKeys(key);
    const config = makeProject("keyed", { migrated: true });
    let prev = GENESIS_HASH;
    const lines: string[] = [];
    const hashes: string[] = [];
    for (let id = 1; id <= 6; id++) {
      const row = {
        id,
        at: new Date(Date.UTC(2026, 0, 2, 0, 0, id)).toISOString(),
        actor: "usr_admin",
        ip: null,
        action: "product.updated",
        subject: "prd_lamp",
        detail: "{}",
      };
      const hash = (await signEvent(keys.current.key, prev, row))!;
      lines.push(
        `INSERT INTO audit_events (id, at, actor, ip, action, subject, detail, prev_hash, hash, key_id) VALUES (${id}, '${row.at}', 'usr_admin', NULL, 'product.updated', 'prd_lamp', '{}', '${prev}', '${hash}', '${keys.current.id}');`,
      );
      hashes.push(hash);
      prev = hash;
    }
    execute(config, lines.join("\n"));
    const [right, wrong, rotated] = await Promise.all([
      runAsync("audit-verify.mjs", ["--config", config], { AUDIT_HMAC_KEY: key }),
      runAsync("audit-verify.mjs", ["--config", config], { AUDIT_HMAC_KEY: "not-the-key-the-chain-was-signed-with-0123" }),
      // Rotation: the old key as AUDIT_HMAC_KEY_PREVIOUS.
      runAsync("audit-verify.mjs", ["--config", config], { AUDIT_HMAC_KEY: "a-newer-key-after-rotation-0123456789abcd", AUDIT_HMAC_KEY_PREVIOUS: key }),
    ]);
    expect(right).toMatchObject({ code: 0, out: expect.stringContaining("audit chain intact: 6 events") });
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain("BROKEN at event 1 [wrong_key]: wrong key");
    expect(rotated.code).toBe(0);

    // A checkpoint in the local R2 bucket says the log reached event 9: events 7–9 are gone.
    const anchorFile = path.join(work, "latest.json");
    writeFileSync(anchorFile, JSON.stringify(await signAnchor(keys, { seq: 9, hash: "a".repeat(64), at: "2026-01-02T00:01:00.000Z" })));
    wrangler(["r2", "object", "put", "bastion-audit-anchors/latest.json", "--local", "--config", config, "--file", anchorFile]);
    const truncated = run("audit-verify.mjs", ["--config", config], { AUDIT_HMAC_KEY: key });
    expect(truncated.code).toBe(1);
    expect(truncated.out).toContain("BROKEN at event 7 [anchor_mismatch]");
    expect(truncated.out).toContain("truncated tail");
    // A checkpoint that matches verifies and is reported.
    writeFileSync(anchorFile, JSON.stringify(await signAnchor(keys, { seq: 5, hash: hashes[4]!, at: "2026-01-02T00:01:00.000Z" })));
    wrangler(["r2", "object", "put", "bastion-audit-anchors/latest.json", "--local", "--config", config, "--file", anchorFile]);
    expect(run("audit-verify.mjs", ["--config", config], { AUDIT_HMAC_KEY: key }).out).toContain("newest checkpoint matched at event 5");
  }, 300_000);
});
