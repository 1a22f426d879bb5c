// Embedded mode's secrets: generated on first use beside the data folder
// (.data/secrets.json, 0600), extended in place when a release adds one.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DATA_DIR } from './paths.js';
import { randomSecretsEnv } from './random-secrets.ts';

export type EmbeddedSecrets = {
  pgPassword: string;
  jwtSecret: string;
  encryptionKeys: string;
  blindIndexKey: string;
  /** Added with the audit transparency log; files written before it get one on the next start. */
  auditSigningKey?: string;
  /** Added with consistent statistics noise; files written before it get one on the next start. */
  statsNoiseKey?: string;
  /** Added with the audit owner role: the service's own login role's password. */
  servicePgPassword?: string;
};

export function embeddedDataDir(env: NodeJS.ProcessEnv): string {
  return env.EMBEDDED_DATA_DIR ? path.resolve(env.EMBEDDED_DATA_DIR) : DATA_DIR;
}

/**
 * Secrets for embedded mode, generated on first use and kept owner-readable
 * only. External deployments must configure their own (config.ts refuses weak ones).
 */
export async function loadOrCreateEmbeddedSecrets(
  dataDir: string,
): Promise<{ secrets: EmbeddedSecrets; created: boolean }> {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    // Our own file, written below with this shape and readable by its owner only.
    const secrets = JSON.parse(await readFile(file, 'utf8')) as EmbeddedSecrets;
    if (!secrets.auditSigningKey || !secrets.statsNoiseKey || !secrets.servicePgPassword) {
      const fresh = randomSecretsEnv();
      secrets.auditSigningKey ??= fresh.AUDIT_SIGNING_KEY;
      secrets.statsNoiseKey ??= fresh.STATS_NOISE_KEY;
      secrets.servicePgPassword ??= randomBytes(24).toString('base64url');
      await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    }
    return { secrets, created: false };
  }
  // 0711: the `postgres` system user (when we run as root) must traverse the
  // folder to reach pg/, but nobody else may list it; secrets.json is 0600.
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  await chmod(dataDir, 0o711);
  const fresh = randomSecretsEnv('k1');
  const secrets: EmbeddedSecrets = {
    pgPassword: randomBytes(24).toString('base64url'),
    jwtSecret: fresh.JWT_SECRET,
    encryptionKeys: fresh.ENCRYPTION_KEYS,
    blindIndexKey: fresh.BLIND_INDEX_KEY,
    auditSigningKey: fresh.AUDIT_SIGNING_KEY,
    statsNoiseKey: fresh.STATS_NOISE_KEY,
    servicePgPassword: randomBytes(24).toString('base64url'),
  };
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { secrets, created: true };
}
