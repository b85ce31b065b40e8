// The storage layout of a StockGate shard, versioned like every object's storage (decision 027).

/** The layout this code reads and writes. */
export const GATE_LAYOUT_VERSION = 1;

/** Layout 1: the shard's units, the holds it gave out (by order), the credits it applied (by ledger row). */
function createLayout1(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS shard (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    variant_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    units INTEGER NOT NULL CHECK (units >= 0),
    seeded_at_ledger INTEGER NOT NULL,
    seed_total INTEGER NOT NULL,
    seed_shards INTEGER NOT NULL,
    version INTEGER NOT NULL
  )`);
  sql.exec(`CREATE TABLE IF NOT EXISTS holds (
    order_id TEXT PRIMARY KEY,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    taken_at INTEGER NOT NULL,
    check_at INTEGER NOT NULL
  )`);
  sql.exec("CREATE INDEX IF NOT EXISTS holds_check_idx ON holds (check_at)");
  sql.exec(`CREATE TABLE IF NOT EXISTS credits (
    ledger_id INTEGER PRIMARY KEY,
    delta INTEGER NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
}

const STEPS: ((sql: SqlStorage) => void)[] = [createLayout1];

/** Brings the storage to GATE_LAYOUT_VERSION; refuses storage newer than this code (a rollback). */
export function upgradeGateLayout(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS layout (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
  const stored = sql.exec<{ version: number }>("SELECT version FROM layout WHERE id = 1").toArray()[0]?.version ?? 0;
  if (stored > GATE_LAYOUT_VERSION) throw new Error(`stock gate storage is layout ${stored}, newer than this code (${GATE_LAYOUT_VERSION})`);
  for (let v = stored + 1; v <= GATE_LAYOUT_VERSION; v++) {
    STEPS[v - 1]!(sql);
    sql.exec("INSERT INTO layout (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version", v);
  }
}
