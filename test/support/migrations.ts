// Migration tests: take the database back to the shape before a migration, then run it.
import { env } from "cloudflare:workers";

export async function run(sql: string, ...values: unknown[]): Promise<void> {
  await env.DB.prepare(sql)
    .bind(...values)
    .run();
}

export async function all<T>(sql: string, ...values: unknown[]): Promise<T[]> {
  return (
    await env.DB.prepare(sql)
      .bind(...values)
      .all<T>()
  ).results;
}

/** Drops every table of ours, children before the tables they reference (D1 checks foreign keys on a drop). */
export async function dropEverything(): Promise<void> {
  const ours = "name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'";
  for (const t of await all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND ${ours}`)) await run(`DROP TRIGGER "${t.name}"`);
  // A virtual table (FTS5) drops its own shadow tables with it.
  for (const t of await all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%' AND ${ours}`))
    await run(`DROP TABLE "${t.name}"`);
  let tables = (await all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND ${ours}`)).map((t) => t.name);
  while (tables.length > 0) {
    const parents = new Set<string>();
    for (const name of tables) {
      for (const fk of await all<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list('${name}')`)) if (fk.table !== name) parents.add(fk.table);
    }
    const leaves = tables.filter((name) => !parents.has(name));
    for (const name of leaves) await run(`DROP TABLE "${name}"`);
    tables = tables.filter((name) => parents.has(name));
  }
}

export async function apply(filter: (name: string) => boolean): Promise<void> {
  for (const migration of env.TEST_MIGRATIONS.filter((m) => filter(m.name))) {
    for (const query of migration.queries) await run(query);
  }
}
