// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the
// embedded PostgreSQL when DATABASE_URL is unset (starting it if needed).
import { migrate } from '../src/lib/migrator.js';
import { MIGRATIONS_DIR } from '../src/lib/paths.js';
import { resolveDatabase } from '../src/lib/embedded-db.js';

const db = await resolveDatabase(process.env);
try {
  const applied = await migrate(db.url, MIGRATIONS_DIR);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await db.release();
}
