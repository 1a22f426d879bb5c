// `npm run backup -- --out FILE [--without-secrets] [--recipient age1…]`
// `npm run backup -- --new-identity FILE`   (a key pair: the file to keep offline, the recipient to configure)
// A consistent, encrypted backup of the database (embedded or DATABASE_URL,
// also while the server runs) and, unless --without-secrets, of the secrets
// that make it readable. Key: --recipient / BACKUP_RECIPIENT (age public keys),
// else the passphrase in BACKUP_PASSPHRASE, else one read from standard input.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { writeBackup } from '../src/lib/backup/snapshot.ts';
import { backupKey } from '../src/lib/backup/key-source.ts';
import { gatherSecrets } from '../src/lib/backup/secrets-file.ts';
import { prepareRuntime } from '../src/runtime.ts';

const usage =
  'usage: npm run backup -- --out FILE [--without-secrets] [--recipient age1…] | --new-identity FILE\n' +
  '  passphrase: BACKUP_PASSPHRASE or standard input (never a flag); or --recipient / BACKUP_RECIPIENT';
let args;
try {
  args = parseArgs({
    options: {
      out: { type: 'string' },
      'without-secrets': { type: 'boolean', default: false },
      recipient: { type: 'string', multiple: true, default: [] },
      'new-identity': { type: 'string' },
    },
    strict: true,
  }).values;
} catch (e) {
  console.error(`${(e as Error).message}\n${usage}`);
  process.exit(2);
}
if (args['new-identity']) {
  // No database needed: an age X25519 key pair for unattended, recipient-encrypted backups.
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const note = `# age identity for exile-case-backend backups; recipient: ${recipient}\n# keep this file OFF the server: it decrypts every backup made to that recipient\n`;
  await writeFile(args['new-identity'], `${note}${identity}\n`, { mode: 0o600, flag: 'wx' });
  console.log(`identity written to ${args['new-identity']} (mode 0600): move it off this machine`);
  console.log(`recipient (public, set BACKUP_RECIPIENT to it): ${recipient}`);
  process.exit(0);
}
if (!args.out) {
  console.error(usage);
  process.exit(2);
}

const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
const rt = await prepareRuntime();
let code = 0;
try {
  const key = await backupKey(process.env, args.recipient ?? []);
  const secrets = args['without-secrets']
    ? null
    : await gatherSecrets({ embedded: rt.embedded, dataDir: rt.dataDir, env: process.env });
  const r = await writeBackup({ url: rt.config.db.url, out: args.out, key, secrets });
  const seconds = r.ms / 1000;
  console.log(
    `backup written to ${args.out}: ${r.tables} tables, ${r.rows} rows, ${mb(r.plainBytes)} MB of table data ` +
      `(${mb(r.archiveBytes)} MB encrypted) in ${seconds.toFixed(1)} s (${mb(r.plainBytes / seconds)} MB/s); ` +
      `secrets ${secrets ? 'included' : 'NOT included'}; peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`,
  );
  console.log('keep a copy off this machine; a backup is proven only by restoring it (npm run restore)');
} catch (e) {
  console.error(`backup failed: ${(e as Error).message}`);
  code = 1;
} finally {
  await rt.database.release();
}
process.exit(code);
