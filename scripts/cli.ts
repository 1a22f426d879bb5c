// Operator commands; they work against DATABASE_URL or the embedded database
// (also while `npm start` runs).
//   npm run cli -- create-admin --email E [--name N]   (password from stdin)
//   npm run cli -- rotate-keys                         (re-encrypt under the newest key)
//   npm run audit:verify                               (report the first broken link per chain)
import { createDb } from '../src/db.ts';
import { FieldCrypto } from '../src/lib/field-crypto.ts';
import { verifyAuditChains } from '../src/modules/audit/audit.log.ts';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { PASSWORD_MIN_LENGTH } from '../src/lib/passwords.ts';
import { rotateKeys } from '../src/lib/key-rotation.ts';
import { prepareRuntime } from '../src/runtime.ts';
import { UsersService } from '../src/modules/users/users.service.ts';

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
};

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (input is not hidden; prefer piping it): ');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (process.stdin.isTTY && Buffer.concat(chunks).includes(10)) break;
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const usage = 'usage: npm run cli -- create-admin --email E [--name N] | rotate-keys | audit-verify';
if (!command || !['create-admin', 'rotate-keys', 'audit-verify'].includes(command)) {
  console.error(usage);
  process.exit(2);
}

const rt = await prepareRuntime();
await migrate(rt.config.db.url, MIGRATIONS_DIR);
const db = createDb(rt.config.db.url, 4);
let code = 0;
try {
  if (command === 'create-admin') {
    const email = flag('email');
    if (!email) throw new Error('--email is required');
    const password = await readStdin();
    if (password.length < PASSWORD_MIN_LENGTH) throw new Error(`the password must be at least ${PASSWORD_MIN_LENGTH} characters`);
    const users = new UsersService({ db, config: rt.config, clock: () => new Date() } as never);
    const u = await users.create({ email, displayName: flag('name') ?? 'Administrator', role: 'ADMIN', password }, null, 'cli');
    console.log(`created admin ${u.email} (${u.id})`);
  } else if (command === 'rotate-keys') {
    const crypto = new FieldCrypto(rt.config.crypto.keys, rt.config.crypto.currentKeyId, rt.config.crypto.blindIndexKey);
    const counts = await rotateKeys(db, crypto);
    console.log(`re-encrypted under key ${crypto.currentKeyId}: ${JSON.stringify(counts)}`);
  } else {
    const result = await verifyAuditChains(db);
    if (result.breaks.length) {
      code = 1;
      for (const b of result.breaks) console.log(`BROKEN chain=${b.chain} seq=${b.seq} id=${b.id}: ${b.reason}`);
    }
    console.log(`${result.entries} entries in ${result.chains} chains verified; ${result.breaks.length} broken chain(s)`);
  }
} catch (e) {
  console.error((e as Error).message);
  code = 1;
} finally {
  await db.$disconnect();
  await rt.database.release();
}
process.exit(code);
