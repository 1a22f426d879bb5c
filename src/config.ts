// Configuration is parsed once, here, from the environment. Bad or missing
// values stop the process with their names listed; weak secrets are refused.
import path from 'node:path';
import { DATA_DIR } from './lib/paths.ts';
import { defaultLoginConcurrency } from './lib/passwords.ts';
import { parseKeyring, secretWeakness } from './lib/secrets.ts';
import type { TrustProxy } from './lib/trust-proxy.ts';
import { EnvSchema } from './config.env.ts';
import { backupConfig, type BackupConfig } from './lib/backup/backup-config.ts';

export { defaultLoginConcurrency };

export type AppConfig = {
  role: 'all' | 'api' | 'worker';
  http: { host: string; port: number; trustProxy: TrustProxy; corsOrigins: string[] };
  log: { level: string };
  db: { url: string };
  redis: { url: string | undefined };
  auth: {
    jwtSecret: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlDays: number;
    argon2: { memoryCost: number; timeCost: number; parallelism: number };
    loginMaxFailures: number;
    lockoutMinutes: number;
    lockoutMaxMinutes: number;
    verifyConcurrency: number;
    verifyQueueMax: number;
    ipMaxAttempts: number;
    ipWindowMinutes: number;
    reauthMaxAgeSeconds: number;
    /** AUTH_CACHE_SECONDS: see src/plugins/session-cache.ts. */
    sessionCacheSeconds: number;
    refreshReuseGraceSeconds: number;
    mfaRequiredRoles: string[];
    webauthn: { rpId: string; origin: string; rpName: string };
  };
  crypto: { keys: Map<string, Buffer>; currentKeyId: string; blindIndexKey: Buffer };
  idempotencyTtlHours: number;
  documents: {
    maxBytes: number;
    store: 'postgres' | 's3';
    s3: {
      endpoint: string | undefined;
      bucket: string;
      region: string;
      credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
      forcePathStyle: boolean;
      orphanMinutes: number;
    } | null;
  };
  publicBaseUrl: string;
  mail: { smtpUrl: string | undefined; from: string; dir: string | undefined };
  webhooks: { allowPrivate: boolean };
  reminders: {
    relaySeconds: number;
    horizonSeconds: number;
    offsetsDays: number[];
    offsetsHours: number[];
    morningTime: string;
    digestCron: string;
    claimTimeoutMs: number;
    reenqueueMs: number;
    concurrency: number;
  };
  exports: { dir: string; ttlDays: number };
  intake: {
    retentionDays: number;
    ipMax: number;
    globalMax: number;
    windowMinutes: number;
    /** Asks to other teams per user per day (ASK_TEAM_MAX_PER_DAY). */
    askTeamPerDay: number;
  };
  stats: { defaultK: number; protectionPct: number; epsilonBudget: number; noiseKey: Buffer };
  audit: {
    signingSeed: Buffer;
    origin: string;
    checkpointSeconds: number;
    checkpointFile: string | undefined;
    witnessUrl: string | undefined;
    witnessSecret: string | undefined;
    witnessEmail: string | undefined;
    /** Role owning the audit tables (AUDIT_OWNER_ROLE); the service checks at start that it is not that role. */
    ownerRole: string | undefined;
  };
  /** Scheduled backups in the worker role (BACKUP_*). */
  backup: BackupConfig;
};

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) =>
        `${i.path.join('.') || '(env)'}: ${i.message === 'Invalid input: expected string, received undefined' ? 'missing' : i.message}`,
    );
    // Name a weak secret in the same message rather than after the next restart.
    const jwtWeak = env.JWT_SECRET !== undefined ? secretWeakness(env.JWT_SECRET) : null;
    if (jwtWeak) problems.push(`JWT_SECRET is weak (${jwtWeak}); generate one with: openssl rand -base64 48`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const problems: string[] = [];
  const jwtWeak = secretWeakness(e.JWT_SECRET);
  if (jwtWeak) problems.push(`JWT_SECRET is weak (${jwtWeak}); generate one with: openssl rand -base64 48`);
  const ring = parseKeyring(e.ENCRYPTION_KEYS);
  problems.push(...ring.problems);
  const bidx = Buffer.from(e.BLIND_INDEX_KEY, 'base64');
  const bidxWeak = bidx.length !== 32 ? 'must decode to 32 bytes' : secretWeakness(bidx);
  if (bidxWeak) problems.push(`BLIND_INDEX_KEY is weak or malformed (${bidxWeak})`);
  if ([...ring.keys.values()].some((k) => k.equals(bidx))) {
    problems.push('BLIND_INDEX_KEY must differ from every encryption key');
  }
  const auditSeed = Buffer.from(e.AUDIT_SIGNING_KEY, 'base64');
  const auditWeak = auditSeed.length !== 32 ? 'must decode to 32 bytes' : secretWeakness(auditSeed);
  if (auditWeak) {
    problems.push(`AUDIT_SIGNING_KEY is weak or malformed (${auditWeak}); generate one with: openssl rand -base64 32`);
  }
  if (e.AUDIT_WITNESS_URL && (!e.AUDIT_WITNESS_SECRET || secretWeakness(e.AUDIT_WITNESS_SECRET))) {
    problems.push(
      'AUDIT_WITNESS_SECRET: missing or weak; AUDIT_WITNESS_URL needs it to sign checkpoints (openssl rand -base64 32)',
    );
  }
  const noiseKey = Buffer.from(e.STATS_NOISE_KEY, 'base64');
  const noiseWeak = noiseKey.length !== 32 ? 'must decode to 32 bytes' : secretWeakness(noiseKey);
  if (noiseWeak) {
    problems.push(`STATS_NOISE_KEY is weak or malformed (${noiseWeak}); generate one with: openssl rand -base64 32`);
  }
  if (e.DOCUMENTS_STORE === 's3' && !e.DOCUMENTS_S3_BUCKET) {
    problems.push(
      'DOCUMENTS_STORE=s3 needs DOCUMENTS_S3_BUCKET (and DOCUMENTS_S3_ENDPOINT unless the bucket is on AWS)',
    );
  }
  if (!e.DOCUMENTS_S3_ACCESS_KEY_ID !== !e.DOCUMENTS_S3_SECRET_ACCESS_KEY) {
    problems.push('DOCUMENTS_S3_ACCESS_KEY_ID and DOCUMENTS_S3_SECRET_ACCESS_KEY go together');
  }
  if (e.LOGIN_LOCKOUT_MAX_MINUTES < e.LOGIN_LOCKOUT_MINUTES) {
    problems.push('LOGIN_LOCKOUT_MAX_MINUTES must be at least LOGIN_LOCKOUT_MINUTES');
  }
  const backup = backupConfig(e, problems);
  if (problems.length) throw new ConfigError(problems);
  return {
    role: e.ROLE,
    http: {
      host: e.HOST,
      port: e.PORT,
      trustProxy: e.TRUST_PROXY,
      corsOrigins: e.CORS_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    },
    log: { level: e.LOG_LEVEL },
    db: { url: e.DATABASE_URL },
    redis: { url: e.REDIS_URL },
    auth: {
      jwtSecret: e.JWT_SECRET,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
      argon2: { memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_TIME_COST, parallelism: 1 },
      loginMaxFailures: e.LOGIN_MAX_FAILURES,
      lockoutMinutes: e.LOGIN_LOCKOUT_MINUTES,
      lockoutMaxMinutes: e.LOGIN_LOCKOUT_MAX_MINUTES,
      verifyConcurrency: e.LOGIN_CONCURRENCY ?? defaultLoginConcurrency(),
      verifyQueueMax: e.LOGIN_QUEUE_MAX,
      ipMaxAttempts: e.LOGIN_IP_MAX_ATTEMPTS,
      ipWindowMinutes: e.LOGIN_IP_WINDOW_MINUTES,
      reauthMaxAgeSeconds: e.REAUTH_MAX_AGE_SECONDS,
      sessionCacheSeconds: e.AUTH_CACHE_SECONDS,
      refreshReuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
      mfaRequiredRoles: e.MFA_REQUIRED_ROLES ? e.MFA_REQUIRED_ROLES.split(',') : [],
      webauthn: {
        rpId: e.WEBAUTHN_RP_ID ?? new URL(e.PUBLIC_BASE_URL).hostname,
        origin: (e.WEBAUTHN_ORIGIN ?? e.PUBLIC_BASE_URL).replace(/\/$/, ''),
        rpName: e.WEBAUTHN_RP_NAME,
      },
    },
    crypto: { keys: ring.keys, currentKeyId: ring.currentKeyId, blindIndexKey: bidx },
    idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS,
    documents: {
      maxBytes: e.DOCUMENT_MAX_BYTES,
      store: e.DOCUMENTS_STORE ?? (e.DOCUMENTS_S3_BUCKET ? 's3' : 'postgres'),
      s3: e.DOCUMENTS_S3_BUCKET
        ? {
            endpoint: e.DOCUMENTS_S3_ENDPOINT,
            bucket: e.DOCUMENTS_S3_BUCKET,
            region: e.DOCUMENTS_S3_REGION,
            credentials:
              e.DOCUMENTS_S3_ACCESS_KEY_ID && e.DOCUMENTS_S3_SECRET_ACCESS_KEY
                ? { accessKeyId: e.DOCUMENTS_S3_ACCESS_KEY_ID, secretAccessKey: e.DOCUMENTS_S3_SECRET_ACCESS_KEY }
                : undefined,
            forcePathStyle: e.DOCUMENTS_S3_FORCE_PATH_STYLE,
            orphanMinutes: e.DOCUMENTS_S3_ORPHAN_MINUTES,
          }
        : null,
    },
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/$/, ''),
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, dir: e.SMTP_URL ? undefined : e.MAIL_DIR },
    webhooks: { allowPrivate: e.WEBHOOK_ALLOW_PRIVATE },
    reminders: {
      relaySeconds: e.REMINDER_RELAY_SECONDS,
      horizonSeconds: e.REMINDER_HORIZON_SECONDS,
      offsetsDays: e.REMINDER_OFFSETS_DAYS.split(',').map(Number),
      offsetsHours: e.REMINDER_OFFSETS_HOURS.split(',').map(Number),
      morningTime: e.REMINDER_MORNING_TIME,
      digestCron: e.DIGEST_CRON,
      claimTimeoutMs: e.REMINDER_CLAIM_TIMEOUT_SECONDS * 1000,
      reenqueueMs: e.REMINDER_REENQUEUE_SECONDS * 1000,
      concurrency: e.REMINDER_CONCURRENCY,
    },
    exports: { dir: e.EXPORTS_DIR ?? path.join(DATA_DIR, 'exports'), ttlDays: e.EXPORT_TTL_DAYS },
    intake: {
      retentionDays: e.INTAKE_RETENTION_DAYS,
      ipMax: e.INTAKE_IP_MAX,
      globalMax: e.INTAKE_GLOBAL_MAX,
      windowMinutes: e.INTAKE_WINDOW_MINUTES,
      askTeamPerDay: e.ASK_TEAM_MAX_PER_DAY,
    },
    stats: {
      defaultK: e.STATS_DEFAULT_K,
      protectionPct: e.STATS_PROTECTION_PCT,
      epsilonBudget: e.STATS_EPSILON_BUDGET,
      noiseKey,
    },
    audit: {
      signingSeed: auditSeed,
      origin: e.AUDIT_ORIGIN,
      checkpointSeconds: e.AUDIT_CHECKPOINT_SECONDS,
      checkpointFile: e.AUDIT_CHECKPOINT_FILE,
      witnessUrl: e.AUDIT_WITNESS_URL,
      witnessSecret: e.AUDIT_WITNESS_SECRET,
      witnessEmail: e.AUDIT_WITNESS_EMAIL,
      ownerRole: e.AUDIT_OWNER_ROLE,
    },
    backup,
  };
}
