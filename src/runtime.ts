// Shared start-up for the service and every script: resolves the database
// (external or embedded), fills embedded-mode secrets, parses the config.
import { ConfigError, loadConfig, type AppConfig } from './config.ts';
import { embeddedDataDir, loadOrCreateEmbeddedSecrets, resolveDatabase, type ResolvedDatabase } from './lib/embedded-db.ts';

export type Runtime = { config: AppConfig; database: ResolvedDatabase; embedded: boolean; dataDir: string };

export async function prepareRuntime(source: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const env = { ...source };
  const embedded = !env.DATABASE_URL;
  const database = await resolveDatabase(env, (m) => console.error(m));
  env.DATABASE_URL = database.url;
  const dataDir = embeddedDataDir(env);
  if (embedded) {
    // Embedded mode is for a single machine: strong secrets are generated on
    // first start and kept owner-readable in the data folder. With an external
    // database nothing is generated: missing or weak secrets stop the process.
    const { secrets, created } = await loadOrCreateEmbeddedSecrets(dataDir);
    env.JWT_SECRET ??= secrets.jwtSecret;
    env.ENCRYPTION_KEYS ??= secrets.encryptionKeys;
    env.BLIND_INDEX_KEY ??= secrets.blindIndexKey;
    if (created) console.error(`generated secrets in ${dataDir}/secrets.json (mode 0600); back it up: without it the encrypted data cannot be read`);
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
