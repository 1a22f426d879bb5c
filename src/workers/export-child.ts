// One export build in its own process. The worker forks this file per job so
// the build's memory is its own (bounded, and returned to the system when it
// ends) and Prisma's query engine, most of a worker's resident memory, is
// never loaded here: the job's few row updates go through plain pg. Import
// only what the build runs: test/exports.test.ts walks this file's imports and
// fails if any of them reaches src/generated/prisma.
//   argv[2]: the export id; EXPORT_CHILD_CONFIG: JSON {dbUrl, exportsDir, ttlDays, defaultK}
import pg from 'pg';
import { errorSummary, pgJobStore, runExportJob } from '../modules/exports/export-job.ts';

type ChildConfig = { dbUrl: string; exportsDir: string; ttlDays: number; defaultK: number };

const exportId = process.argv[2];
// Cast: the parent (exports.worker.ts) writes it from its validated AppConfig; no zod here, to stay small.
const cfg = JSON.parse(process.env.EXPORT_CHILD_CONFIG ?? '{}') as ChildConfig;
const pool = new pg.Pool({ connectionString: cfg.dbUrl, max: 2, application_name: 'export-child' });
pool.on('error', () => {});
// Ids and error classes only: the parent logs them with the export id.
const log = {
  info: () => {},
  warn: (obj: object, msg?: string) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj })}\n`),
  error: (obj: object, msg?: string) => process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...obj })}\n`),
};
const config = {
  db: { url: cfg.dbUrl },
  exports: { dir: cfg.exportsDir, ttlDays: cfg.ttlDays },
  stats: { defaultK: cfg.defaultK },
};
let code = 0;
try {
  await runExportJob({ store: pgJobStore(pool), config, clock: () => new Date(), log }, exportId);
  // Peak resident memory of the build, for the parent's log and the benchmark.
  process.stdout.write(`${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
} catch (err) {
  log.error({ exportId, err: errorSummary(err, 200) }, 'export build failed');
  code = 1;
} finally {
  await pool.end().catch(() => {});
}
process.exit(code);
