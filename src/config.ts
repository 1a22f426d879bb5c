// Configuration is parsed once, here, from the environment. Bad or missing
// values stop the process with their names listed; weak secrets are refused.
import path from 'node:path';
import { z } from 'zod';
import { DATA_DIR } from './lib/paths.ts';
import { defaultLoginConcurrency } from './lib/passwords.ts';
import { parseKeyring, secretWeakness } from './lib/secrets.ts';
import { TrustProxySchema, type TrustProxy } from './lib/trust-proxy.ts';

export { defaultLoginConcurrency };

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const EnvSchema = z.object({
  ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(3000, 0),
  TRUST_PROXY: TrustProxySchema.default(false),
  CORS_ORIGINS: z
    .string()
    .default('')
    .refine(
      (v) => v.split(',').every((o) => !o.trim() || /^https?:\/\/[^/\s]+$/.test(o.trim())),
      'comma-separated exact origins such as https://app.example.org (scheme and host, no path)',
    )
    .describe('browser origins allowed to call the API (none by default)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.string().url(),
  REDIS_URL: z.string().url().optional(),
  JWT_SECRET: z.string(),
  JWT_ISSUER: z.string().default('exile-case-backend'),
  JWT_AUDIENCE: z.string().default('exile-case-api'),
  ACCESS_TOKEN_TTL_SECONDS: int(900, 30),
  REFRESH_TOKEN_TTL_DAYS: int(30, 1),
  ENCRYPTION_KEYS: z
    .string()
    .describe('comma-separated <keyId>:<base64 32-byte key>; the last one encrypts new values'),
  BLIND_INDEX_KEY: z.string().describe('base64 32-byte key for the keyed blind index'),
  // OWASP's floor for argon2id is m=19 MiB, t=2, p=1 (~6 ms here); the defaults
  // (64 MiB, t=12) take ~190 ms on these machines: bench/argon2.bench.ts.
  ARGON2_MEMORY_KIB: int(65536, 19456),
  ARGON2_TIME_COST: int(12, 2),
  LOGIN_MAX_FAILURES: int(5, 1),
  LOGIN_LOCKOUT_MINUTES: int(15, 1).describe('first block after LOGIN_MAX_FAILURES failures; doubles per block'),
  LOGIN_LOCKOUT_MAX_MINUTES: int(1440, 1).describe('longest block (the backoff cap)'),
  LOGIN_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe('concurrent argon2 verifications per process (default 2 per CPU, >= 2, < UV_THREADPOOL_SIZE)'),
  LOGIN_QUEUE_MAX: int(64, 0).describe('logins waiting for a verification slot; past it 503 + Retry-After'),
  LOGIN_IP_MAX_ATTEMPTS: int(30, 1),
  LOGIN_IP_WINDOW_MINUTES: int(15, 1),
  REFRESH_REUSE_GRACE_SECONDS: int(10, 0).describe(
    'a rotated refresh token presented again this soon gets the same new one',
  ),
  REAUTH_MAX_AGE_SECONDS: int(600, 30).describe('step-up routes need a sign-in or reauth within this many seconds'),
  MFA_REQUIRED_ROLES: z
    .string()
    .regex(/^$|^(ADMIN|COORDINATOR|CASEWORKER|LAWYER)(,(ADMIN|COORDINATOR|CASEWORKER|LAWYER))*$/)
    .default('ADMIN')
    .describe('roles that must enrol a second factor (comma-separated; empty: none)'),
  WEBAUTHN_RP_ID: z.string().optional().describe('passkey relying party id (default: the host of PUBLIC_BASE_URL)'),
  WEBAUTHN_ORIGIN: z.string().url().optional().describe('origin of the web client (default: PUBLIC_BASE_URL)'),
  WEBAUTHN_RP_NAME: z.string().default('Exile case backend'),
  IDEMPOTENCY_TTL_HOURS: int(24, 1),
  DOCUMENT_MAX_BYTES: int(50 * 1024 * 1024, 1).describe(
    'largest document upload in bytes (counted while streaming; 413 past it)',
  ),
  PUBLIC_BASE_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:3000')
    .describe('how clients reach the API (calendar feed links)'),
  SMTP_URL: z.string().url().optional().describe('smtp://user:pass@host:port for reminder emails'),
  MAIL_FROM: z.string().default('Case reminders <reminders@localhost>'),
  REMINDER_RELAY_SECONDS: int(30, 1),
  REMINDER_OFFSETS_DAYS: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .default('14,3,1')
    .describe('reminders this many days before a day-counted deadline'),
  REMINDER_OFFSETS_HOURS: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .default('48,24,12,4,1')
    .describe('reminders this many hours before an hour-counted deadline'),
  WEBHOOK_ALLOW_PRIVATE: bool
    .default(false)
    .describe('allow http and private/loopback webhook targets (tests, closed networks only)'),
  REMINDER_CLAIM_TIMEOUT_SECONDS: int(60, 5).describe(
    'a delivery claimed longer ago than this (its worker died) is taken over',
  ),
  REMINDER_REENQUEUE_SECONDS: int(120, 5).describe(
    'a pending reminder queued longer ago than this is queued again (job ids make it a no-op if it is still there)',
  ),
  REMINDER_CONCURRENCY: int(50, 1).describe('deliveries in flight per worker process'),
  DIGEST_CRON: z
    .string()
    .default('0 5 * * *')
    .describe('when the daily digest of the week ahead is emailed (cron, UTC)'),
  REMINDER_MORNING_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
    .default('08:00')
    .describe('local time of the due-day reminder'),
  REMINDER_HORIZON_SECONDS: int(300, 10),
  EXPORTS_DIR: z.string().optional().describe('where export files are written (default .data/exports)'),
  EXPORT_TTL_DAYS: int(7, 1),
  STATS_DEFAULT_K: int(5, 3),
  AUDIT_SIGNING_KEY: z.string().describe('base64 32-byte Ed25519 seed that signs audit checkpoints'),
  AUDIT_ORIGIN: z
    .string()
    .regex(/^[^\s+]{1,200}$/, 'no spaces or "+"')
    .default('exile-case-backend.local/audit')
    .describe("the audit log's name in its checkpoints (C2SP origin line): set it to a name of your organisation"),
  AUDIT_CHECKPOINT_SECONDS: int(5, 1).describe('how often the sequencer signs a checkpoint when new entries arrived'),
  AUDIT_CHECKPOINT_FILE: z
    .string()
    .optional()
    .describe('append every signed checkpoint to this file (a witness outside the database)'),
  AUDIT_WITNESS_URL: z
    .string()
    .url()
    .optional()
    .describe('POST every signed checkpoint here (HMAC-SHA256 signed with AUDIT_WITNESS_SECRET)'),
  AUDIT_WITNESS_SECRET: z.string().optional(),
  AUDIT_WITNESS_EMAIL: z.string().email().optional().describe('email the latest signed checkpoint here once a day'),
});

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
    refreshReuseGraceSeconds: number;
    mfaRequiredRoles: string[];
    webauthn: { rpId: string; origin: string; rpName: string };
  };
  crypto: { keys: Map<string, Buffer>; currentKeyId: string; blindIndexKey: Buffer };
  idempotencyTtlHours: number;
  publicBaseUrl: string;
  mail: { smtpUrl: string | undefined; from: string };
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
  stats: { defaultK: number };
  audit: {
    signingSeed: Buffer;
    origin: string;
    checkpointSeconds: number;
    checkpointFile: string | undefined;
    witnessUrl: string | undefined;
    witnessSecret: string | undefined;
    witnessEmail: string | undefined;
  };
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
  if (e.LOGIN_LOCKOUT_MAX_MINUTES < e.LOGIN_LOCKOUT_MINUTES) {
    problems.push('LOGIN_LOCKOUT_MAX_MINUTES must be at least LOGIN_LOCKOUT_MINUTES');
  }
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
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/$/, ''),
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
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
    stats: { defaultK: e.STATS_DEFAULT_K },
    audit: {
      signingSeed: auditSeed,
      origin: e.AUDIT_ORIGIN,
      checkpointSeconds: e.AUDIT_CHECKPOINT_SECONDS,
      checkpointFile: e.AUDIT_CHECKPOINT_FILE,
      witnessUrl: e.AUDIT_WITNESS_URL,
      witnessSecret: e.AUDIT_WITNESS_SECRET,
      witnessEmail: e.AUDIT_WITNESS_EMAIL,
    },
  };
}
