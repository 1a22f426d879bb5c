import { randomBytes } from 'node:crypto';

/**
 * Fresh strong values for the secrets, as environment variables: for
 * embedded mode's first start, tests and benchmarks. Never for a deployment
 * with an external database, whose secrets must be set (and backed up) by
 * its operators.
 */
export function randomSecretsEnv(keyId = 'k1'): {
  JWT_SECRET: string;
  ENCRYPTION_KEYS: string;
  BLIND_INDEX_KEY: string;
  AUDIT_SIGNING_KEY: string;
  STATS_NOISE_KEY: string;
} {
  return {
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEYS: `${keyId}:${randomBytes(32).toString('base64')}`,
    BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
    AUDIT_SIGNING_KEY: randomBytes(32).toString('base64'),
    STATS_NOISE_KEY: randomBytes(32).toString('base64'),
  };
}
