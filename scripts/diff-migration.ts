// Writes the next migration: `npm run db:diff -- add_deadlines`.
// Diffs the schema snapshot kept with the newest migration against the current
// prisma/schema.prisma (no database or shadow database is read, which the WASM
// engine cannot do here), writes migrations/<timestamp>_<name>/migration.sql and
// a snapshot of the schema beside it. Review the SQL, append hand-written parts
// (triggers, checks) and commit; never edit a migration that has been applied.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { diffSchemas } from '../src/lib/schema-engine.js';
import { PROJECT_ROOT } from '../src/lib/paths.js';

const SNAPSHOT = 'schema.snapshot.prisma';
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:diff -- <snake_case_name>');
  process.exit(2);
}
const migrationsDir = path.join(PROJECT_ROOT, 'migrations');
const dirs = (await readdir(migrationsDir, { withFileTypes: true }))
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const last = dirs.at(-1);
const previous =
  last && existsSync(path.join(migrationsDir, last, SNAPSHOT))
    ? await readFile(path.join(migrationsDir, last, SNAPSHOT), 'utf8')
    : null;
if (last && previous === null) {
  console.error(`migrations/${last} has no ${SNAPSHOT}; cannot diff offline`);
  process.exit(1);
}
const current = await readFile(path.join(PROJECT_ROOT, 'prisma', 'schema.prisma'), 'utf8');
// The engine wants a connection string for its adapter even though a
// schema-to-schema diff never opens a connection.
const sql = await diffSchemas(
  process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  previous,
  current,
);
if (!sql.trim() || /^-- This is an empty migration/.test(sql.trim())) {
  console.log('schema.prisma has no changes since the last migration');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const dir = path.join(migrationsDir, `${stamp}_${name}`);
await mkdir(dir, { recursive: true });
await writeFile(path.join(dir, 'migration.sql'), sql);
await writeFile(path.join(dir, SNAPSHOT), current);
if (!existsSync(path.join(migrationsDir, 'migration_lock.toml'))) {
  await writeFile(path.join(migrationsDir, 'migration_lock.toml'), 'provider = "postgresql"\n');
}
console.log(`wrote ${path.relative(PROJECT_ROOT, dir)}/migration.sql: review it before committing`);
