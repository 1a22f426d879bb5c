// Shared start-up for the service and every script: resolves the database
// (external or embedded), fills embedded-mode secrets, parses the config.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type AppConfig } from './config.ts';
import { PROJECT_ROOT } from './lib/paths.ts';
import {
  embeddedDataDir,
  loadOrCreateEmbeddedSecrets,
  resolveDatabase,
  type ResolvedDatabase,
} from './lib/embedded-db.ts';
import { cronIsOff, DEFAULT_BACKUP_CRON } from './lib/backup/cron.ts';

export type Runtime = { config: AppConfig; database: ResolvedDatabase; embedded: boolean; dataDir: string };

/** The project's .env, read by `npm start` and every script when present (variables already set win). */
export const ENV_FILE = path.join(PROJECT_ROOT, '.env');

export async function prepareRuntime(source: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  if (source === process.env && existsSync(ENV_FILE)) process.loadEnvFile(ENV_FILE);
  const env = { ...source };
  const embedded = !env.DATABASE_URL;
  const dataDir = embeddedDataDir(env);
  // Starting the embedded server writes the secrets file on first use: note
  // now whether it existed, to say so when it was just generated.
  const secretsExisted = existsSync(path.join(dataDir, 'secrets.json'));
  const database = await resolveDatabase(env, (m) => console.error(m));
  env.DATABASE_URL = database.url;
  if (embedded) {
    // Embedded mode is for a single machine: strong secrets are generated on
    // first start and kept owner-readable in the data folder. With an external
    // database nothing is generated: missing or weak secrets stop the process.
    const { secrets, created: createdNow } = await loadOrCreateEmbeddedSecrets(dataDir);
    const created = createdNow || !secretsExisted;
    env.JWT_SECRET ??= secrets.jwtSecret;
    env.ENCRYPTION_KEYS ??= secrets.encryptionKeys;
    env.BLIND_INDEX_KEY ??= secrets.blindIndexKey;
    env.AUDIT_SIGNING_KEY ??= secrets.auditSigningKey;
    // No mail server on a single machine: reminders land in a local mailbox (npm run mail).
    if (!env.SMTP_URL) env.MAIL_DIR ??= path.join(dataDir, 'mail');
    env.STATS_NOISE_KEY ??= secrets.statsNoiseKey;
    // Scheduled backups are on by default on a single machine, encrypted to a key pair made once.
    env.BACKUP_CRON ??= DEFAULT_BACKUP_CRON;
    env.BACKUP_DIR ??= path.join(dataDir, 'backups');
    if (!cronIsOff(env.BACKUP_CRON) && !env.BACKUP_RECIPIENT) {
      // Loaded only here (embedded mode with backups on): the age library stays out of other processes.
      const { embeddedBackupRecipient } = await import('./lib/backup/embedded-identity.ts');
      const key = await embeddedBackupRecipient(dataDir);
      env.BACKUP_RECIPIENT = key.recipient;
      if (key.created) {
        console.error(
          `generated the backup key: scheduled backups (${env.BACKUP_DIR}) are encrypted to ${key.recipient}; ` +
            `the identity that decrypts them is ${key.identityFile}: copy it OFF this machine now (restoring needs ` +
            'it), then delete it here',
        );
      }
    }
    if (created) {
      console.error(
        `generated secrets in ${dataDir}/secrets.json (mode 0600); back it up: without it the encrypted data cannot be read`,
      );
    }
  }
  try {
    return { config: loadConfig(env), database, embedded, dataDir };
  } catch (e) {
    await database.release();
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(78);
    }
    throw e;
  }
}
