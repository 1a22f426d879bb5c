// The operator's commands end to end (`npm run backup` / `npm run restore` are
// these scripts), and the secrets' round trip in both modes.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArchive } from '../src/lib/backup/archive-reader.ts';
import { identitiesFrom } from '../src/lib/backup/key-source.ts';
import { gatherSecrets, restoreSecretsFile, writeSecretsEnv } from '../src/lib/backup/secrets-file.ts';
import { writeBackup } from '../src/lib/backup/snapshot.ts';
import { PROJECT_ROOT } from '../src/lib/paths.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';
import { sealAndVerify } from './audit-support.ts';
import { emptyDatabase, restoreFrom, streamOf, tableCount, tableDigests } from './backup-support.ts';
import { clientFor, createCase, createTeam, setupTestEnv, testEnvVars, type TestEnv } from './helpers.ts';

const secretsEnv = randomSecretsEnv('t1');
let env: TestEnv;
let dir: string;
let identityFile: string;
let recipient: string;

type Run = { code: number; stdout: string; stderr: string };
function run(script: 'backup' | 'restore', args: string[], extraEnv: Record<string, string>, stdin = ''): Promise<Run> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', `${script}.ts`), ...args],
    {
      // tsx resolves from the project; every file argument below is absolute.
      cwd: PROJECT_ROOT,
      // Only what an operator would set: no inherited BACKUP_* from the machine.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}
const at = (f: string) => path.join(dir, f);
const serverEnv = (url: string) => testEnvVars(url, { ...secretsEnv }) as Record<string, string>;

beforeAll(async () => {
  env = await setupTestEnv({ env: { ...secretsEnv } });
  dir = await mkdtemp(path.join(os.tmpdir(), 'exiles-backup-cli-'));
  identityFile = path.join(dir, 'backup-identity.txt');
  const keygen = await run('backup', ['--new-identity', identityFile], {});
  expect(keygen.code, keygen.stderr).toBe(0);
  recipient = /recipient \(public, set BACKUP_RECIPIENT to it\): (age1\w+)/.exec(keygen.stdout)![1];
  expect((await stat(identityFile)).mode & 0o077).toBe(0);
  const team = await createTeam(env, ['GE']);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  await createCase(cw, team, 'GE');
  expect((await sealAndVerify(env)).ok).toBe(true);
}, 60_000);
afterAll(async () => env?.close());

describe('npm run backup / npm run restore', () => {
  it('round trip to a recipient: restore verifies the audit log and hands over the secrets to set', async () => {
    const b = await run('backup', ['--out', at('x.age'), '--recipient', recipient], serverEnv(env.url));
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/backup written to .*x\.age: \d+ tables, \d+ rows.*MB\/s.*secrets included; peak RSS/);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
    const target = await emptyDatabase();
    const r = await run('restore', ['--in', at('x.age'), '--secrets-out', at('keys.env')], {
      ...serverEnv(target),
      BACKUP_IDENTITY_FILE: identityFile,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('audit log verified: no problem found');
    expect(await tableDigests(target)).toEqual(await tableDigests(env.url));
    const keys = await readFile(path.join(dir, 'keys.env'), 'utf8');
    expect(keys).toContain(`AUDIT_SIGNING_KEY=${secretsEnv.AUDIT_SIGNING_KEY}\n`);
    expect(keys).toContain(`ENCRYPTION_KEYS=${secretsEnv.ENCRYPTION_KEYS}\n`);
    expect((await stat(path.join(dir, 'keys.env'))).mode & 0o077).toBe(0);
  }, 60_000);

  it('a passphrase comes from standard input, never a flag; a wrong one writes nothing', async () => {
    const flag = await run('backup', ['--out', at('p.age'), '--passphrase', 'x'], serverEnv(env.url));
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/passphrase/);
    const b = await run(
      'backup',
      ['--out', at('p.age'), '--without-secrets'],
      serverEnv(env.url),
      'a long enough passphrase\n',
    );
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('secrets NOT included');
    const target = await emptyDatabase();
    const wrong = await run('restore', ['--in', at('p.age')], serverEnv(target), 'not the passphrase at all\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('restore failed: cannot decrypt the backup: wrong passphrase or key');
    expect(await tableCount(target)).toBe(0);
    // The right passphrase opens it (read in-process: one scrypt less on a loaded machine).
    const checked = await verifyArchive(streamOf(await readFile(at('p.age'))), {
      passphrase: 'a long enough passphrase',
    });
    expect(checked.secrets).toBeNull();
    expect(checked.tables).toBeGreaterThan(10);
  }, 120_000);
});

describe('secrets', () => {
  it('embedded mode: the secrets file travels in the archive and comes back beside this machine’s database password', async () => {
    const src = await mkdtemp(path.join(os.tmpdir(), 'exiles-src-'));
    const fileSecrets = {
      pgPassword: 'old-machine-db-password',
      jwtSecret: secretsEnv.JWT_SECRET,
      encryptionKeys: secretsEnv.ENCRYPTION_KEYS,
      blindIndexKey: secretsEnv.BLIND_INDEX_KEY,
      auditSigningKey: secretsEnv.AUDIT_SIGNING_KEY,
      statsNoiseKey: secretsEnv.STATS_NOISE_KEY,
    };
    await writeFile(path.join(src, 'secrets.json'), JSON.stringify(fileSecrets), { mode: 0o600 });
    const secrets = await gatherSecrets({ embedded: true, dataDir: src, env: {} });
    const out = path.join(dir, 'embedded.age');
    await writeBackup({ url: env.url, out, key: { recipients: [recipient] }, secrets });
    const bytes = await readFile(out);
    const identities = await identitiesFrom(identityFile);
    const checked = await verifyArchive(streamOf(bytes), { identities });
    expect(checked.secrets?.file).toEqual(fileSecrets);

    const target = await emptyDatabase();
    const r = await restoreFrom(bytes, target, { identities });
    const newMachine = await mkdtemp(path.join(os.tmpdir(), 'exiles-dst-'));
    await writeFile(path.join(newMachine, 'secrets.json'), JSON.stringify({ pgPassword: 'new-machine-db-password' }));
    const { file, kept } = await restoreSecretsFile(newMachine, r.secrets!);
    const restored = JSON.parse(await readFile(file, 'utf8'));
    expect(restored).toEqual({ ...fileSecrets, pgPassword: 'new-machine-db-password' });
    expect((await stat(file)).mode & 0o077).toBe(0);
    expect(JSON.parse(await readFile(kept!, 'utf8'))).toEqual({ pgPassword: 'new-machine-db-password' });
  });

  it('external mode: the secret variables are archived and written out as an env file, never over an existing one', async () => {
    const secrets = await gatherSecrets({
      embedded: false,
      dataDir: '/nonexistent',
      env: { ...secretsEnv, PATH: '/bin' },
    });
    expect(Object.keys(secrets.env).sort()).toEqual(Object.keys(secretsEnv).sort());
    const target = path.join(dir, 'ext.env');
    await writeSecretsEnv(target, secrets);
    await expect(writeSecretsEnv(target, secrets)).rejects.toThrow(/EEXIST/);
  });
});
