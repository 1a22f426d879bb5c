// The environment variables the service reads, with their defaults and
// limits (zod). src/config.ts parses them once, checks the secrets, and turns
// them into AppConfig; .env.example explains each.
import { z } from 'zod';
import { TrustProxySchema } from './lib/trust-proxy.ts';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

export const EnvSchema = z.object({
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
  AUTH_CACHE_SECONDS: int(30, 0).describe(
    'how long a checked session may be reused without a database read (0: never); emptied at once on any change',
  ),
  LOGIN_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe('concurrent argon2 verifications per process (default CPUs - 1, >= 1, < UV_THREADPOOL_SIZE)'),
  LOGIN_QUEUE_MAX: int(16, 0).describe('logins waiting for a verification slot; past it 503 + Retry-After'),
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
  DOCUMENTS_STORE: z
    .enum(['postgres', 's3'])
    .optional()
    .describe('where document bodies go (default: s3 when DOCUMENTS_S3_BUCKET is set, else postgres)'),
  DOCUMENTS_S3_ENDPOINT: z.string().url().optional().describe('S3-compatible endpoint (default: AWS)'),
  DOCUMENTS_S3_BUCKET: z.string().min(3).max(63).optional(),
  DOCUMENTS_S3_REGION: z.string().default('us-east-1'),
  DOCUMENTS_S3_ACCESS_KEY_ID: z.string().optional().describe('without it, the AWS SDK credential chain'),
  DOCUMENTS_S3_SECRET_ACCESS_KEY: z.string().optional(),
  DOCUMENTS_S3_FORCE_PATH_STYLE: bool.default(false).describe('bucket in the path (MinIO, Garage, SeaweedFS)'),
  DOCUMENTS_S3_ORPHAN_MINUTES: int(1440, 1).describe(
    'bucket objects without a committed document row are deleted by the sweep once this old',
  ),
  PUBLIC_BASE_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:3000')
    .describe('how clients reach the API (calendar feed links)'),
  SMTP_URL: z.string().url().optional().describe('smtp://user:pass@host:port for reminder emails'),
  MAIL_FROM: z.string().default('Case reminders <reminders@localhost>'),
  MAIL_DIR: z
    .string()
    .optional()
    .describe('without SMTP_URL: write mail as .eml files here (embedded mode: .data/mail; npm run mail lists them)'),
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
  INTAKE_RETENTION_DAYS: int(30, 1).describe('days an unvetted intake report is kept before its content is erased'),
  INTAKE_IP_MAX: int(10, 1).describe('intake reports (attempts) per client address per INTAKE_WINDOW_MINUTES'),
  INTAKE_GLOBAL_MAX: int(2000, 1).describe('intake reports (attempts) from all addresses together per window'),
  INTAKE_WINDOW_MINUTES: int(60, 1),
  ASK_TEAM_MAX_PER_DAY: int(20, 1).describe(
    'POST /v1/people/duplicates/ask-team per user per 24 hours (each ask emails other teams)',
  ),
  STATS_DEFAULT_K: int(5, 3).describe(
    'the k every statistic and export uses at least: requests may ask more, never less',
  ),
  STATS_PROTECTION_PCT: int(50, 1).describe(
    'a suppressed cell must stay undecidable within at least ± this percent of its value (and up to k)',
  ),
  STATS_EPSILON_BUDGET: z.coerce
    .number()
    .positive()
    .default(10)
    .describe('total epsilon of noisy statistics each user may spend per 30 days (429 when spent)'),
  STATS_NOISE_KEY: z
    .string()
    .describe('base64 32-byte key of the consistent statistics noise (generated in embedded mode)'),
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
  AUDIT_OWNER_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_$]{0,62}$/i, 'a plain PostgreSQL role name')
    .optional()
    .describe('role owning the audit tables and triggers (not the role the service logs in as); checked at start'),
  BACKUP_CRON: z
    .string()
    .optional()
    .describe('scheduled backups in the worker (5-field cron, UTC; "off": none). Embedded default 0 2 * * *, else off'),
  BACKUP_DIR: z.string().optional().describe('where scheduled backups are written (default .data/backups)'),
  BACKUP_KEEP: int(14, 1).describe('scheduled backups kept (the newest good ones); older ones are deleted'),
  BACKUP_RECIPIENT: z
    .string()
    .optional()
    .describe('age public key(s) (age1…, comma-separated) backups are encrypted to; embedded mode generates one'),
});
