// Sign-in throttling for AuthService.login.
//
// (all counters in `login_throttle`, shared by every API
// instance; keys are HMAC-SHA256 under a key derived from BLIND_INDEX_KEY, so
// neither client addresses nor submitted emails are stored):
//
// 1. Per client IP: a fixed window of LOGIN_IP_MAX_ATTEMPTS attempts per
//    LOGIN_IP_WINDOW_MINUTES (429 past it).
// 2. Per submitted email (normalised: trimmed, lower case), whether or not an
//    account has it: every attempt first RESERVES a try with one atomic
//    `INSERT … ON CONFLICT DO UPDATE … WHERE not blocked … RETURNING`, before
//    any user lookup or password work. The reservation that makes
//    LOGIN_MAX_FAILURES tries in a row starts a block at once, so however many
//    requests arrive together, at most LOGIN_MAX_FAILURES passwords are ever
//    verified per block period; every other one answers 429 with Retry-After,
//    the owner's correct password included, until the block ends.
//    Exponential backoff: the k-th block in a row lasts
//    LOGIN_LOCKOUT_MINUTES × 2^(k-1), at most LOGIN_LOCKOUT_MAX_MINUTES
//    (default 15 min, 30, 60, … up to 24 h). When a block ends the next attempt
//    starts a new streak of LOGIN_MAX_FAILURES tries; the block count is kept.
//    A successful sign-in deletes the row (streak and backoff reset); a row is
//    otherwise forgotten LOGIN_LOCKOUT_MAX_MINUTES after its last attempt or
//    the end of its last block (`expires_at`), and pruned by a timer.
//    Unknown emails take the same path (the same reservation, a dummy argon2
//    verification with the same parameters, the same audit insert), so a
//    blocked account and an unknown email answer alike: 401 with the same body
//    before the block, 429 with the same body after it.
//    users.locked_until mirrors the current block for admins (written in the
//    reservation statement, cleared on success); users.failed_logins is no
//    longer used.
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import type { RateLimitSink } from '../../lib/rate-limit-headers.ts';

/** How often expired `login_throttle` rows are deleted. */
export const THROTTLE_PRUNE_INTERVAL_MS = 10 * 60_000;

export type Reservation = { count: number; blocks: number; blockedUntil: Date | null };

/** The HMAC key of `login_throttle` keys: derived from BLIND_INDEX_KEY with a label of its own. */
export const loginThrottleHmacKey = (blindIndexKey: Buffer): Buffer =>
  createHmac('sha256', blindIndexKey).update('exile-case/login-throttle/v1').digest();

/** The `login_throttle` key of a client IP or of a normalised email (trimmed, lower case). */
export const loginThrottleKey = (hmacKey: Buffer, kind: 'ip' | 'e', value: string): string =>
  `${kind}:${createHmac('sha256', hmacKey).update(value).digest('base64url')}`;

export class LoginThrottle {
  private readonly hmacKey: Buffer;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(private readonly app: FastifyInstance) {
    // A key of its own (domain-separated from the blind index of names).
    this.hmacKey = loginThrottleHmacKey(app.config.crypto.blindIndexKey);
  }

  private get db() {
    return this.app.db;
  }

  /** Starts the unref'd timer that prunes expired throttle rows. */
  startPruning(): void {
    if (this.pruneTimer) return;
    this.pruneTimer = setInterval(() => {
      this.pruneThrottle().catch((err: unknown) =>
        this.app.log.warn(
          { err: { type: err instanceof Error ? err.name : typeof err } },
          'login_throttle prune failed',
        ),
      );
    }, THROTTLE_PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  stopPruning(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
  }

  /** Deletes throttle rows whose window or backoff history has expired; returns how many. */
  async pruneThrottle(): Promise<number> {
    const now = this.app.clock();
    return this.db.$executeRaw`DELETE FROM login_throttle WHERE expires_at <= ${now}::timestamptz`;
  }

  /** The `login_throttle` key of a client IP or a normalised email. */
  key(kind: 'ip' | 'e', value: string): string {
    return loginThrottleKey(this.hmacKey, kind, value);
  }

  /**
   * Counts an attempt from this client IP in a fixed window shared by every
   * API instance (a row in PostgreSQL); refuses once the window is full.
   */
  async throttleIp(ip: string, now: Date, report?: RateLimitSink): Promise<void> {
    const { ipMaxAttempts, ipWindowMinutes } = this.app.config.auth;
    const windowStart = new Date(now.getTime() - ipWindowMinutes * 60_000);
    const expires = new Date(now.getTime() + ipWindowMinutes * 60_000);
    const rows = await this.db.$queryRaw<{ count: number; window_start: Date }[]>`
      INSERT INTO login_throttle (key, window_start, count, expires_at)
      VALUES (${this.key('ip', ip)}, ${now}::timestamptz, 1, ${expires}::timestamptz)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN login_throttle.window_start < ${windowStart}::timestamptz THEN 1 ELSE login_throttle.count + 1 END,
        window_start = CASE WHEN login_throttle.window_start < ${windowStart}::timestamptz
          THEN ${now}::timestamptz ELSE login_throttle.window_start END,
        expires_at = CASE WHEN login_throttle.window_start < ${windowStart}::timestamptz
          THEN ${expires}::timestamptz ELSE login_throttle.expires_at END
      RETURNING count, window_start`;
    const row = rows[0];
    report?.({
      policy: 'ip',
      limit: ipMaxAttempts,
      used: row.count,
      windowSeconds: ipWindowMinutes * 60,
      endsAt: new Date(row.window_start.getTime() + ipWindowMinutes * 60_000),
    });
    if (row.count > ipMaxAttempts) {
      const retry = Math.max(
        1,
        Math.ceil((row.window_start.getTime() + ipWindowMinutes * 60_000 - now.getTime()) / 1000),
      );
      throw new AppError('RATE_LIMITED', 'Too many login attempts from this address; try again later.', {
        retryAfterSeconds: retry,
      });
    }
  }

  /**
   * Reserves one password check for this email key, atomically, or throws 429
   * while the key is blocked (see the top of this file). The reservation that
   * reaches LOGIN_MAX_FAILURES returns the block it started.
   */
  async reserve(key: string, email: string, now: Date): Promise<Reservation> {
    const { loginMaxFailures: max, lockoutMinutes, lockoutMaxMinutes } = this.app.config.auth;
    const baseMs = lockoutMinutes * 60_000;
    const capMs = lockoutMaxMinutes * 60_000;
    const forgetMs = capMs;
    // A key seen for the first time (or forgotten): its first try.
    const firstBlock = max <= 1 ? new Date(now.getTime() + baseMs) : null;
    const firstExpires = new Date((firstBlock ?? now).getTime() + forgetMs);
    const rows = await this.db.$queryRaw<{ count: number; blocks: number; blocked_until: Date | null }[]>`
      WITH r AS (
        INSERT INTO login_throttle AS t (key, window_start, count, blocks, blocked_until, expires_at)
        VALUES (${key}, ${now}::timestamptz, 1, ${firstBlock ? 1 : 0}::int, ${firstBlock}::timestamptz,
                ${firstExpires}::timestamptz)
        ON CONFLICT (key) DO UPDATE SET (window_start, count, blocks, blocked_until, expires_at) = (
          SELECT n.ws, n.cnt, n.blk, n.bu,
                 GREATEST(COALESCE(n.bu, ${now}::timestamptz), ${now}::timestamptz)
                   + ${forgetMs}::float8 * interval '1 millisecond'
          FROM (
            -- Forgotten rows start over; a served block starts a new streak.
            SELECT CASE WHEN t.expires_at <= ${now}::timestamptz OR t.blocked_until IS NOT NULL
                        THEN 0 ELSE t.count END AS c0,
                   CASE WHEN t.expires_at <= ${now}::timestamptz THEN 0 ELSE t.blocks END AS b0
          ) o,
          LATERAL (
            SELECT CASE WHEN o.c0 = 0 THEN ${now}::timestamptz ELSE t.window_start END AS ws,
                   o.c0 + 1 AS cnt,
                   CASE WHEN o.c0 + 1 >= ${max}::int THEN o.b0 + 1 ELSE o.b0 END AS blk,
                   CASE WHEN o.c0 + 1 >= ${max}::int
                        THEN ${now}::timestamptz + LEAST(${baseMs}::float8 * power(2, LEAST(o.b0, 40)), ${capMs}::float8)
                               * interval '1 millisecond'
                   END AS bu
          ) n
        )
        -- While blocked nothing is reserved: no row comes back.
        WHERE t.blocked_until IS NULL OR t.blocked_until <= ${now}::timestamptz
        RETURNING t.count, t.blocks, t.blocked_until
      ),
      mirror AS (
        UPDATE users SET locked_until = r.blocked_until FROM r
        WHERE r.blocked_until IS NOT NULL AND users.email = ${email}
        RETURNING 1
      )
      SELECT count, blocks, blocked_until FROM r`;
    const row = rows[0];
    if (row) return { count: row.count, blocks: row.blocks, blockedUntil: row.blocked_until };
    const [blocked] = await this.db.$queryRaw<{ blocked_until: Date | null }[]>`
      SELECT blocked_until FROM login_throttle WHERE key = ${key}`;
    const until = blocked?.blocked_until?.getTime() ?? now.getTime();
    throw new AppError('RATE_LIMITED', 'Too many failed sign-in attempts for this email address; try again later.', {
      retryAfterSeconds: Math.max(1, Math.ceil((until - now.getTime()) / 1000)),
    });
  }
}
