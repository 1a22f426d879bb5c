// Operator commands; they work against DATABASE_URL or the embedded database
// (also while `npm start` runs).
//   npm run cli -- create-admin --email E [--name N]   (password from stdin)
//   npm run cli -- rotate-keys                         (re-encrypt under the newest key)
//   npm run audit:verify [-- --checkpoint FILE]         (recompute the audit tree; check it against signed checkpoints)
//   npm run cli -- audit-harden --owner R --service-role S  (as a superuser: the audit tables to R, S keeps
//                                                         read/insert/sequencing only; then set AUDIT_OWNER_ROLE=R)
import { createDb } from '../src/db.ts';
import { FieldCrypto } from '../src/lib/field-crypto.ts';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { auditPublicKey } from '../src/modules/audit/audit.keys.ts';
import { verifyAuditLog } from '../src/modules/audit/audit.verify.ts';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { PASSWORD_MIN_LENGTH } from '../src/lib/passwords.ts';
import { rotateKeys } from '../src/lib/key-rotation.ts';
import { prepareRuntime } from '../src/runtime.ts';
import { UsersService } from '../src/modules/users/users.service.ts';
import { readSecretLine } from '../src/lib/read-secret-line.ts';
import { hardenAuditTables } from '../src/modules/audit/audit-owner.ts';

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
};

const usage =
  'usage: npm run cli -- create-admin --email E [--name N] | rotate-keys | audit-verify [--checkpoint FILE]' +
  ' | audit-harden --owner ROLE --service-role ROLE';
if (!command || !['create-admin', 'rotate-keys', 'audit-verify', 'audit-harden'].includes(command)) {
  console.error(usage);
  process.exit(2);
}

/** The last signed note in a file of notes separated by blank lines. */
function lastNote(text: string): string {
  const notes = text
    .split(/\n\n(?=[^\n\u2014])/)
    .map((t) => t.trim())
    .filter(Boolean);
  if (!notes.length) throw new Error('the checkpoint file is empty');
  return `${notes[notes.length - 1]}\n`;
}

const rt = await prepareRuntime();
// The verifier reads only; every other command first brings the schema up to date.
if (command !== 'audit-verify') await migrate(rt.config.db.url, MIGRATIONS_DIR);
const db = createDb(rt.config.db.url, 4);
let code = 0;
try {
  if (command === 'create-admin') {
    const email = flag('email');
    if (!email) throw new Error('--email is required');
    const password = await readSecretLine('password');
    if (password.length < PASSWORD_MIN_LENGTH) {
      throw new Error(`the password must be at least ${PASSWORD_MIN_LENGTH} characters`);
    }
    const crypto = new FieldCrypto(
      rt.config.crypto.keys,
      rt.config.crypto.currentKeyId,
      rt.config.crypto.blindIndexKey,
    );
    const users = new UsersService({ db, config: rt.config, clock: () => new Date(), crypto });
    const u = await users.create(
      { email, displayName: flag('name') ?? 'Administrator', role: 'ADMIN', password },
      null,
      'cli',
    );
    console.log(`created admin ${u.email} (${u.id})`);
  } else if (command === 'rotate-keys') {
    const crypto = new FieldCrypto(
      rt.config.crypto.keys,
      rt.config.crypto.currentKeyId,
      rt.config.crypto.blindIndexKey,
    );
    const counts = await rotateKeys(db, crypto);
    console.log(`re-encrypted under key ${crypto.currentKeyId}: ${JSON.stringify(counts)}`);
  } else if (command === 'audit-harden') {
    const owner = flag('owner');
    const serviceRole = flag('service-role');
    if (!owner || !serviceRole) throw new Error('--owner and --service-role are required');
    await hardenAuditTables(rt.config.db.url, owner, serviceRole);
    console.log(`audit tables now belong to ${owner}; ${serviceRole} may read, insert and sequence them only`);
    console.log(`now set AUDIT_OWNER_ROLE=${owner} and run the service as ${serviceRole} (it checks at start)`);
  } else {
    // Read-only: one READ ONLY transaction, so the verifier can never change what it checks.
    const client = new pg.Client({ connectionString: rt.config.db.url });
    await client.connect();
    try {
      await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const file = flag('checkpoint');
      // A witness file holds many checkpoints, one after another: the last one is the newest.
      const oldCheckpoint = file ? lastNote(await readFile(file, 'utf8')) : undefined;
      const key = auditPublicKey(rt.config);
      const report = await verifyAuditLog(async (sql, params) => (await client.query(sql, params)).rows, {
        publicKey: Buffer.from(key.publicKey, 'base64'),
        origin: key.origin,
        oldCheckpoint,
      });
      for (const n of report.notes) console.log(n);
      for (const p of report.problems) console.log(`PROBLEM: ${p}`);
      console.log(report.ok ? 'audit log verified: no problem found' : 'audit log verification FAILED');
      if (!report.ok) code = 1;
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
  }
} catch (e) {
  console.error((e as Error).message);
  code = 1;
} finally {
  await db.$disconnect();
  await rt.database.release();
}
process.exit(code);
