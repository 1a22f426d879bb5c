// What a backup covers, read from PostgreSQL's catalog: every table of the
// application's schema (`public`) except the migrations ledger (the manifest
// carries it as the schema version), in foreign-key order. BullMQ's own
// schema is left out on purpose: queues are rebuilt from the tables.
import type pg from 'pg';
import type { ArchivedSequence, ArchivedTable } from './archive-format.ts';

type Q = Pick<pg.ClientBase, 'query'>;

export const SCHEMA = 'public';
export const LEDGER = '_prisma_migrations';

/** "name" quoted as an SQL identifier. */
export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function listTables(db: Q): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> $2
     ORDER BY c.relname`,
    [SCHEMA, LEDGER],
  );
  return rows.map((r) => r.name);
}

/** Tables with their stored (not generated) columns, parents before children. */
export async function tablesInLoadOrder(db: Q): Promise<ArchivedTable[]> {
  const names = await listTables(db);
  const { rows: cols } = await db.query<{ table: string; column: string }>(
    `SELECT c.relname AS table, a.attname AS column FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     ORDER BY c.relname, a.attnum`,
    [SCHEMA],
  );
  const { rows: fks } = await db.query<{ child: string; parent: string }>(
    `SELECT ch.relname AS child, pa.relname AS parent FROM pg_constraint k
     JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid
     JOIN pg_namespace n ON n.oid = ch.relnamespace
     WHERE k.contype = 'f' AND n.nspname = $1`,
    [SCHEMA],
  );
  const columns = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const c of cols) columns.get(c.table)?.push(c.column);
  const parents = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
  for (const fk of fks) {
    // A table referencing itself loads in one COPY: its checks run at the statement's end.
    if (fk.child !== fk.parent && columns.has(fk.parent)) parents.get(fk.child)?.add(fk.parent);
  }
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < names.length) {
    const ready = names.filter((n) => !placed.has(n) && [...parents.get(n)!].every((p) => placed.has(p)));
    if (!ready.length) {
      const stuck = names.filter((n) => !placed.has(n));
      throw new Error(`foreign keys form a cycle between ${stuck.join(', ')}: no load order exists`);
    }
    for (const n of ready) {
      order.push(n);
      placed.add(n);
    }
  }
  return order.map((name) => ({ name, columns: columns.get(name)! }));
}

export async function listSequences(db: Q): Promise<ArchivedSequence[]> {
  const { rows } = await db.query<{ name: string; last_value: string | null }>(
    `SELECT sequencename AS name, last_value::text FROM pg_sequences WHERE schemaname = $1 ORDER BY sequencename`,
    [SCHEMA],
  );
  return rows.map((r) => ({ name: r.name, lastValue: r.last_value }));
}

/** What the target holds: tables of the schema, and those with rows (counted up to COUNT_CAP). */
export const COUNT_CAP = 10_000;

export async function describeTarget(db: Q): Promise<{ tables: number; filled: { table: string; rows: number }[] }> {
  const names = await listTables(db);
  const filled: { table: string; rows: number }[] = [];
  for (const name of names) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${ident(SCHEMA)}.${ident(name)} LIMIT ${COUNT_CAP}) s`,
    );
    if (rows[0].n > 0) filled.push({ table: name, rows: rows[0].n });
  }
  return { tables: names.length, filled };
}
