// The secrets that make the data readable travel inside the (encrypted)
// archive unless --without-secrets: embedded mode's secrets file, or, with an
// external database, the secret variables this process was started with.
import { existsSync } from 'node:fs';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArchivedSecrets } from './archive-format.ts';

/** Secrets-file field ↔ environment variable (src/runtime.ts fills one from the other). */
export const SECRET_VARS: Record<string, string> = {
  jwtSecret: 'JWT_SECRET',
  encryptionKeys: 'ENCRYPTION_KEYS',
  blindIndexKey: 'BLIND_INDEX_KEY',
  auditSigningKey: 'AUDIT_SIGNING_KEY',
  statsNoiseKey: 'STATS_NOISE_KEY',
};
// AUDIT_ORIGIN is no secret, but the checkpoints name it: verifying them needs the same value.
const EXTRA_VARS = ['AUDIT_WITNESS_SECRET', 'AUDIT_ORIGIN'];

export function secretsFilePath(dataDir: string): string {
  return path.join(dataDir, 'secrets.json');
}

export async function gatherSecrets(opts: {
  embedded: boolean;
  dataDir: string;
  env: NodeJS.ProcessEnv;
}): Promise<ArchivedSecrets> {
  const env: Record<string, string> = {};
  let file: Record<string, string> | undefined;
  if (opts.embedded) {
    // Our own file (src/lib/embedded-db.ts): a flat JSON object of strings.
    file = JSON.parse(await readFile(secretsFilePath(opts.dataDir), 'utf8')) as Record<string, string>;
    for (const [field, name] of Object.entries(SECRET_VARS)) if (file[field]) env[name] = file[field];
  }
  // Variables set explicitly win, as they do at start-up.
  for (const name of [...Object.values(SECRET_VARS), ...EXTRA_VARS]) if (opts.env[name]) env[name] = opts.env[name]!;
  return { source: opts.embedded ? 'embedded' : 'external', env, ...(file ? { file } : {}) };
}

/**
 * Embedded mode: writes the archived secrets file, keeping this machine's own
 * database password (the one its freshly initialised server was created
 * with); a file already there is kept beside it, never overwritten.
 */
export async function restoreSecretsFile(
  dataDir: string,
  archived: ArchivedSecrets,
): Promise<{ file: string; kept: string | null }> {
  const file = secretsFilePath(dataDir);
  const local = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, string>) : {};
  const restored: Record<string, string> = { ...((archived.file as Record<string, string>) ?? {}) };
  for (const [field, name] of Object.entries(SECRET_VARS)) if (archived.env[name]) restored[field] = archived.env[name];
  if (local.pgPassword) restored.pgPassword = local.pgPassword;
  let kept: string | null = null;
  if (existsSync(file)) {
    kept = `${file}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(file, kept);
  }
  await writeFile(file, JSON.stringify(restored, null, 2), { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { file, kept };
}

/** External mode: the variables to set, as an env file readable by its owner only. */
export async function writeSecretsEnv(target: string, archived: ArchivedSecrets): Promise<string[]> {
  const names = Object.keys(archived.env).sort();
  const body = names.map((n) => `${n}=${archived.env[n]}`).join('\n');
  await writeFile(target, `${body}\n`, { mode: 0o600, flag: 'wx' });
  return names;
}
