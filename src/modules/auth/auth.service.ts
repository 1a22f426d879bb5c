// Login, refresh-token rotation and logout.
//
// Refresh tokens are opaque random strings stored only as SHA-256 hashes. Each
// refresh rotates the token; presenting a token that was already rotated means
// it was copied, so the whole session (every token descended from the login)
// is revoked (OAuth 2.0 Security BCP, refresh token rotation). A session keeps
// the client's IP and User-Agent from its login and `last_used_at` (its last
// login or refresh); listing and ending sessions: ./sessions.service.ts.
//
// Sign-in throttling (all counters in `login_throttle`, shared by every API
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
// 3. Argon2 work: at most LOGIN_CONCURRENCY verifications run at once per
//    process and LOGIN_QUEUE_MAX wait; past that a login answers 503 with
//    Retry-After before it touches any counter (see VerifyLimiter).
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { hashPassword, verifyPassword, VerifyLimiter } from '../../lib/passwords.ts';
import { hashToken } from '../../lib/token-hash.ts';
import { sessionUserAgent } from './sessions.service.ts';

const newRefreshToken = () => `rt_${randomBytes(32).toString('base64url')}`;

/** How often expired `login_throttle` rows are deleted. */
export const THROTTLE_PRUNE_INTERVAL_MS = 10 * 60_000;

export type TokenPair = { accessToken: string; refreshToken: string; expiresIn: number; tokenType: 'Bearer' };

type Reservation = { count: number; blocks: number; blockedUntil: Date | null };

/** The HMAC key of `login_throttle` keys: derived from BLIND_INDEX_KEY with a label of its own. */
export const loginThrottleHmacKey = (blindIndexKey: Buffer): Buffer =>
  createHmac('sha256', blindIndexKey).update('exile-case/login-throttle/v1').digest();

/** The `login_throttle` key of a client IP or of a normalised email (trimmed, lower case). */
export const loginThrottleKey = (hmacKey: Buffer, kind: 'ip' | 'e', value: string): string =>
  `${kind}:${createHmac('sha256', hmacKey).update(value).digest('base64url')}`;

export class AuthService {
  private readonly throttleHmacKey: Buffer;
  private readonly limiter: VerifyLimiter;
  private dummyHash: Promise<string> | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(private readonly app: FastifyInstance) {
    const { auth, crypto } = app.config;
    // A key of its own (domain-separated from the blind index of names).
    this.throttleHmacKey = loginThrottleHmacKey(crypto.blindIndexKey);
    this.limiter = new VerifyLimiter(auth.verifyConcurrency, auth.verifyQueueMax);
  }

  private get db() {
    return this.app.db;
  }

  /** Starts the unref'd timer that prunes expired throttle rows. */
  startPruning(): void {
    if (this.pruneTimer) return;
    this.pruneTimer = setInterval(() => {
      this.pruneThrottle().catch((err: unknown) =>
        this.app.log.warn({ err: { type: (err as Error)?.name } }, 'login_throttle prune failed'),
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

  /** The argon2 hash verified for emails without an account: same parameters as real hashes. */
  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'), this.app.config.auth.argon2);
    return this.dummyHash;
  }

  /** Computes the dummy hash ahead of the first unknown email (its first use would otherwise be slower). */
  warmUp(): void {
    this.dummy().catch(() => {
      this.dummyHash = null;
    });
  }

  private throttleKey(kind: 'ip' | 'e', value: string): string {
    return loginThrottleKey(this.throttleHmacKey, kind, value);
  }

  /**
   * Counts an attempt from this client IP in a fixed window shared by every
   * API instance (a row in PostgreSQL); refuses once the window is full.
   */
  private async throttleIp(ip: string, now: Date): Promise<void> {
    const { ipMaxAttempts, ipWindowMinutes } = this.app.config.auth;
    const windowStart = new Date(now.getTime() - ipWindowMinutes * 60_000);
    const expires = new Date(now.getTime() + ipWindowMinutes * 60_000);
    const rows = await this.db.$queryRaw<{ count: number; window_start: Date }[]>`
      INSERT INTO login_throttle (key, window_start, count, expires_at)
      VALUES (${this.throttleKey('ip', ip)}, ${now}::timestamptz, 1, ${expires}::timestamptz)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN login_throttle.window_start < ${windowStart}::timestamptz THEN 1 ELSE login_throttle.count + 1 END,
        window_start = CASE WHEN login_throttle.window_start < ${windowStart}::timestamptz
          THEN ${now}::timestamptz ELSE login_throttle.window_start END,
        expires_at = CASE WHEN login_throttle.window_start < ${windowStart}::timestamptz
          THEN ${expires}::timestamptz ELSE login_throttle.expires_at END
      RETURNING count, window_start`;
    const row = rows[0];
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
  private async reserve(key: string, email: string, now: Date): Promise<Reservation> {
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

  /** Signs in; the session keeps the client's `ip` (as Fastify gives it) and `userAgent` (see sessionUserAgent). */
  async login(
    email: string,
    password: string,
    ip: string,
    requestId: string,
    userAgent?: string,
  ): Promise<TokenPair & { userId: string }> {
    const { auth } = this.app.config;
    const now = this.app.clock();
    await this.throttleIp(ip, now);
    // Refuse a flood before it touches the per-email counter: a 503 must not
    // spend the owner's tries.
    const ticket = this.limiter.admit();
    if (!ticket) {
      throw new AppError('UNAVAILABLE', 'Too many sign-ins in progress; retry shortly.', {
        retryAfterSeconds: this.limiter.retryAfterSeconds(),
      });
    }
    try {
      const normalised = email.trim().toLowerCase();
      const key = this.throttleKey('e', normalised);
      const reservation = await this.reserve(key, normalised, now);
      const user = await this.db.user.findUnique({
        where: { email: normalised },
        select: { id: true, passwordHash: true, active: true },
      });
      const stored = user ? user.passwordHash : await this.dummy();
      const ok = await ticket.run(() => verifyPassword(stored, password));
      if (!ok || !user || !user.active) {
        // The same insert whether or not the account exists (timing); an
        // unknown email is recorded without any trace of the address.
        await this.db.$transaction(async (tx) => {
          await appendAudit(
            tx,
            {
              actorId: null,
              action: reservation.blockedUntil ? 'auth.locked' : 'auth.login_failed',
              entityType: 'user',
              entityId: user?.id ?? null,
              requestId,
              ...(ok && user ? { changes: { reason: 'inactive' } } : {}),
            },
            now,
          );
        });
        throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong.');
      }
      const sessionId = randomUUID();
      const refreshToken = newRefreshToken();
      await this.db.$transaction(async (tx) => {
        await tx.$executeRaw`DELETE FROM login_throttle WHERE key = ${key}`;
        await tx.user.update({ where: { id: user.id }, data: { failedLogins: 0, lockedUntil: null } });
        await tx.session.create({
          data: {
            id: sessionId,
            userId: user.id,
            createdAt: now,
            lastUsedAt: now,
            ip,
            userAgent: sessionUserAgent(userAgent),
            expiresAt: new Date(now.getTime() + auth.refreshTtlDays * 86_400_000),
          },
        });
        await tx.refreshToken.create({
          data: { id: randomUUID(), sessionId, tokenHash: hashToken(refreshToken), createdAt: now },
        });
        await appendAudit(
          tx,
          { actorId: user.id, action: 'auth.login', entityType: 'session', entityId: sessionId, requestId },
          now,
        );
      });
      const access = this.app.signAccessToken(user.id, sessionId);
      return {
        userId: user.id,
        accessToken: access.token,
        refreshToken,
        expiresIn: access.expiresIn,
        tokenType: 'Bearer',
      };
    } finally {
      ticket.release();
    }
  }

  async refresh(refreshToken: string, requestId: string): Promise<TokenPair & { userId: string }> {
    const now = this.app.clock();
    const row = await this.db.refreshToken.findUnique({
      where: { tokenHash: hashToken(refreshToken) },
      select: {
        id: true,
        rotatedAt: true,
        sessionId: true,
        session: { select: { userId: true, revokedAt: true, expiresAt: true, user: { select: { active: true } } } },
      },
    });
    if (!row) throw new AppError('INVALID_TOKEN');
    const { session } = row;
    if (session.revokedAt || session.expiresAt <= now || !session.user.active) throw new AppError('INVALID_TOKEN');
    if (row.rotatedAt) {
      await this.revokeSession(row.sessionId, session.userId, 'refresh_token_reuse', requestId);
      throw new AppError('INVALID_TOKEN', 'This refresh token was already used; the session has been revoked.');
    }
    const next = newRefreshToken();
    const rotated = await this.db.$transaction(async (tx) => {
      // Guarded transition: of two concurrent refreshes with the same token,
      // exactly one rotates it; the other is treated as reuse.
      const { count } = await tx.refreshToken.updateMany({
        where: { id: row.id, rotatedAt: null },
        data: { rotatedAt: now },
      });
      if (count !== 1) return false;
      // lastUsedAt means "last login or token refresh": the request path never writes it.
      await tx.session.update({ where: { id: row.sessionId }, data: { lastUsedAt: now } });
      await tx.refreshToken.create({
        data: { id: randomUUID(), sessionId: row.sessionId, tokenHash: hashToken(next), createdAt: now },
      });
      return true;
    });
    if (!rotated) {
      await this.revokeSession(row.sessionId, session.userId, 'refresh_token_reuse', requestId);
      throw new AppError('INVALID_TOKEN', 'This refresh token was already used; the session has been revoked.');
    }
    const access = this.app.signAccessToken(session.userId, row.sessionId);
    return {
      userId: session.userId,
      accessToken: access.token,
      refreshToken: next,
      expiresIn: access.expiresIn,
      tokenType: 'Bearer',
    };
  }

  async revokeSession(
    sessionId: string,
    userId: string,
    reason: string,
    requestId: string,
    actorId: string | null = null,
  ): Promise<void> {
    const now = this.app.clock();
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.session.updateMany({
        where: { id: sessionId, revokedAt: null },
        data: { revokedAt: now, revokeReason: reason },
      });
      if (count) {
        await appendAudit(
          tx,
          {
            actorId: actorId ?? userId,
            action: 'auth.session_revoked',
            entityType: 'session',
            entityId: sessionId,
            requestId,
            changes: { reason },
          },
          now,
        );
      }
    });
  }

  async logout(
    actorUserId: string,
    currentSessionId: string,
    refreshToken: string | undefined,
    requestId: string,
  ): Promise<void> {
    let sessionId = currentSessionId;
    if (refreshToken) {
      const row = await this.db.refreshToken.findUnique({
        where: { tokenHash: hashToken(refreshToken) },
        select: { sessionId: true, session: { select: { userId: true } } },
      });
      // Another user's token is ignored rather than revealed.
      if (row && row.session.userId === actorUserId) sessionId = row.sessionId;
    }
    await this.revokeSession(sessionId, actorUserId, 'logout', requestId);
  }
}
