// `npm run restore -- --in FILE [--force] [--identity FILE] [--secrets-out FILE]`
// Restores a backup into an EMPTY database (embedded or DATABASE_URL): reads
// the whole archive first (nothing written if it is wrong in any way), then the
// schema, then every table in one transaction; restores the secrets and
// verifies the audit log. Key: --identity / BACKUP_IDENTITY_FILE (age
// identities), else BACKUP_PASSPHRASE, else a passphrase from standard input.
import { createReadStream, existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyRestoredAudit } from '../src/lib/backup/audit-check.ts';
import { webStreamFrom } from '../src/lib/backup/age-stream.ts';
import { restoreKey } from '../src/lib/backup/key-source.ts';
import { restoreBackup } from '../src/lib/backup/restore.ts';
import { restoreSecretsFile, writeSecretsEnv } from '../src/lib/backup/secrets-file.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { prepareRuntime } from '../src/runtime.ts';

const usage = 'usage: npm run restore -- --in FILE [--force] [--identity FILE] [--secrets-out FILE]';
let args;
try {
  args = parseArgs({
    options: {
      in: { type: 'string' },
      force: { type: 'boolean', default: false },
      identity: { type: 'string' },
      'secrets-out': { type: 'string' },
    },
    strict: true,
  }).values;
} catch (e) {
  console.error(`${(e as Error).message}\n${usage}`);
  process.exit(2);
}
if (!args.in) {
  console.error(usage);
  process.exit(2);
}
if (!existsSync(args.in)) {
  console.error(`${args.in}: no such file`);
  process.exit(2);
}

const file = args.in;
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
const started = Date.now();
const rt = await prepareRuntime();
let code = 0;
try {
  const key = await restoreKey(process.env, args.identity);
  const r = await restoreBackup({
    url: rt.config.db.url,
    open: () => webStreamFrom(createReadStream(file)),
    key,
    migrationsDir: MIGRATIONS_DIR,
    force: args.force,
    log: (m) => console.log(m),
  });
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `restored ${r.tables} tables, ${r.rows} rows from a backup of ${r.manifest.createdAt} in ${seconds.toFixed(1)} s; ` +
      `peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`,
  );
  const latest = r.manifest.migrations.at(-1)?.name;
  console.log(`schema at ${latest}; the next start applies any newer migration of this code`);
  if (!r.secrets) {
    console.log('the archive holds no secrets: start the service with the keys the data was encrypted with');
  } else if (rt.embedded) {
    const { file, kept } = await restoreSecretsFile(rt.dataDir, r.secrets);
    console.log(`secrets restored to ${file} (mode 0600)${kept ? `; the previous file is kept as ${kept}` : ''}`);
  } else {
    const target = args['secrets-out'] ?? 'restored-secrets.env';
    const names = await writeSecretsEnv(target, r.secrets);
    console.log(`set these in the service's environment (written to ${target}, mode 0600): ${names.join(', ')}`);
  }
  // The audit log must verify under the key it was signed with: the archive's.
  const seed = r.secrets?.env.AUDIT_SIGNING_KEY;
  const report = await verifyRestoredAudit(rt.config.db.url, {
    signingSeed: seed ? Buffer.from(seed, 'base64') : rt.config.audit.signingSeed,
    origin: r.secrets?.env.AUDIT_ORIGIN ?? rt.config.audit.origin,
  });
  for (const n of report.notes) console.log(n);
  for (const p of report.problems) console.log(`PROBLEM: ${p}`);
  console.log(report.ok ? 'audit log verified: no problem found' : 'audit log verification FAILED');
  if (!report.ok) code = 1;
} catch (e) {
  console.error(`restore failed: ${(e as Error).message}`);
  code = 1;
} finally {
  await rt.database.release();
}
process.exit(code);
