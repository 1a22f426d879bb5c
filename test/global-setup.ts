// Migrates one template database per run; every test file clones it
// (CREATE DATABASE … TEMPLATE …), which takes milliseconds.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    redisUrl: string;
  }
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set: run the suite with `npm test`');
  const templateDb = `exile_tmpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${templateDb}`);
  await migrate(withDatabase(adminUrl, templateDb), MIGRATIONS_DIR);
  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', templateDb);
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? '');
  return async () => {
    // Drop the template and any per-file clones left by an aborted run.
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `exile_t%_${process.pid}_%`,
    ]);
    for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb} WITH (FORCE)`).catch(() => {});
    await admin.end();
  };
}
