import { couponCustomerKey } from "./customer";

// The storage layout of a CouponObject, versioned (docs/decisions/027-object-storage-migrations.md).
// An object's SQLite storage outlives every deploy, so a change of its tables or of what a column
// means is a numbered step here, run in order, once, before the object answers its first call
// (the constructor runs `upgradeLedgerLayout` inside blockConcurrencyWhile). The version lives in
// the object's own `layout` table; an object from before versioning has the tables and no `layout`
// row, which is version 1.

/** The layout this code reads and writes. */
export const LEDGER_LAYOUT_VERSION = 2;

/** A customer key of the current layout (couponCustomerKey); anything else in `user_id` is an account id of layout 1. */
export const CUSTOMER_KEY_PREFIX = "cust_";

type Sql = SqlStorage;

/** Layout 1: the ledger's two tables, rows keyed by whoever the caller named (an account id, until the mailbox key). */
function createLayout1(sql: Sql): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS reservations (
    order_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  )`);
  sql.exec(`CREATE TABLE IF NOT EXISTS redemptions (
    order_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    committed_at INTEGER NOT NULL
  )`);
  sql.exec("CREATE INDEX IF NOT EXISTS reservations_expires_idx ON reservations (expires_at)");
  sql.exec("CREATE INDEX IF NOT EXISTS reservations_user_idx ON reservations (user_id)");
  sql.exec("CREATE INDEX IF NOT EXISTS redemptions_user_idx ON redemptions (user_id)");
}

/**
 * Layout 2: every row is keyed by the customer's mailbox key. Rows of layout 1 keyed by an account
 * id get the key of that account's address (read from D1), and keep the old key in `former_key`,
 * so the count of a customer who redeemed before the key changed stays theirs. A row whose account
 * is gone keeps its id: it still counts for the total, and nobody can sign in as it again.
 */
async function rekeyAccountRows(sql: Sql, db: D1Database): Promise<void> {
  for (const table of ["reservations", "redemptions"]) {
    const columns = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`).toArray();
    if (!columns.some((c) => c.name === "former_key")) sql.exec(`ALTER TABLE ${table} ADD COLUMN former_key TEXT`);
  }
  const legacy = sql
    .exec<{ user_id: string }>(
      "SELECT user_id FROM reservations WHERE substr(user_id, 1, 5) <> ?1 UNION SELECT user_id FROM redemptions WHERE substr(user_id, 1, 5) <> ?1",
      CUSTOMER_KEY_PREFIX,
    )
    .toArray()
    .map((r) => r.user_id);
  const keys = await customerKeysOfAccounts(db, legacy);
  for (const [accountId, key] of keys) {
    for (const table of ["reservations", "redemptions"]) {
      sql.exec(`UPDATE ${table} SET user_id = ?, former_key = ? WHERE user_id = ?`, key, accountId, accountId);
    }
  }
}

/** Customer keys of the accounts that still exist, by account id; D1 binds at most 100 parameters per statement. */
export async function customerKeysOfAccounts(db: D1Database, accountIds: string[]): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (let i = 0; i < accountIds.length; i += 90) {
    const chunk = accountIds.slice(i, i + 90);
    const { results } = await db
      .prepare(`SELECT id, email FROM "user" WHERE id IN (${chunk.map(() => "?").join(", ")})`)
      .bind(...chunk)
      .all<{ id: string; email: string }>();
    for (const row of results) keys.set(row.id, await couponCustomerKey(row.email));
  }
  return keys;
}

/** The steps from one version to the next, in order: step `n` turns layout n-1 into layout n. */
const STEPS: { version: number; what: string; run: (sql: Sql, db: D1Database) => void | Promise<void> }[] = [
  { version: 1, what: "reservations and redemptions", run: (sql) => createLayout1(sql) },
  { version: 2, what: "rows keyed by the mailbox key, the account id kept in former_key", run: rekeyAccountRows },
];

/** The layout the storage is at: 0 for a new object, 1 for one written before versioning. */
export function storedLayoutVersion(sql: Sql): number {
  const hasLayout = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'layout'").toArray().length > 0;
  if (hasLayout) return sql.exec<{ version: number }>("SELECT version FROM layout").toArray()[0]?.version ?? 0;
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'redemptions'").toArray().length > 0 ? 1 : 0;
}

/**
 * Brings the storage to LEDGER_LAYOUT_VERSION, one step at a time, recording each version as it
 * lands (a step that fails leaves the version before it, and runs again on the next start: every
 * step is written to be repeatable). A storage newer than this code is refused: old code must not
 * write a layout it does not know.
 */
export async function upgradeLedgerLayout(storage: DurableObjectStorage, db: D1Database): Promise<number> {
  const sql = storage.sql;
  const from = storedLayoutVersion(sql);
  if (from > LEDGER_LAYOUT_VERSION) throw new Error(`coupon ledger layout ${from} is newer than this code (${LEDGER_LAYOUT_VERSION})`);
  sql.exec("CREATE TABLE IF NOT EXISTS layout (version INTEGER NOT NULL)");
  for (const step of STEPS) {
    if (step.version <= from) continue;
    await step.run(sql, db);
    storage.transactionSync(() => {
      sql.exec("DELETE FROM layout");
      sql.exec("INSERT INTO layout (version) VALUES (?)", step.version);
    });
  }
  return Math.max(from, LEDGER_LAYOUT_VERSION);
}
