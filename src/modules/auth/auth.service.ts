// Login, refresh-token rotation and logout.
//
// Refresh tokens are opaque random strings stored only as SHA-256 hashes. Each
// refresh rotates the token; presenting a token that was already rotated means
// it was copied, so the whole session (every token descended from the login)
// is revoked (OAuth 2.0 Security BCP, refresh token rotation). A session keeps
// the client's IP and User-Agent from its login and `last_used_at` (its last
// login or refresh); listing and ending sessions: ./sessions.service.ts.
//
// Sign-in throttling (per IP, per submitted email, exponential backoff): ./login-throttle.ts.
// Argon2 work: at most LOGIN_CONCURRENCY verifications run at once per
//    process and LOGIN_QUEUE_MAX wait; past that a login answers 503 with
//    Retry-After before it touches any counter (see VerifyLimiter).
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { hashPassword, verifyPassword, VerifyLimiter } from '../../lib/passwords.ts';
import { hashToken } from '../../lib/token-hash.ts';
import { sessionUserAgent } from './sessions.service.ts';
import { LoginThrottle } from './login-throttle.ts';

export { loginThrottleHmacKey, loginThrottleKey, THROTTLE_PRUNE_INTERVAL_MS } from './login-throttle.ts';

const newRefreshToken = () => `rt_${randomBytes(32).toString('base64url')}`;

export type TokenPair = { accessToken: string; refreshToken: string; expiresIn: number; tokenType: 'Bearer' };

export class AuthService {
  readonly throttle: LoginThrottle;
  private readonly limiter: VerifyLimiter;
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly app: FastifyInstance) {
    const { auth } = app.config;
    this.throttle = new LoginThrottle(app);
    this.limiter = new VerifyLimiter(auth.verifyConcurrency, auth.verifyQueueMax);
  }

  private get db() {
    return this.app.db;
  }

  startPruning(): void {
    this.throttle.startPruning();
  }

  stopPruning(): void {
    this.throttle.stopPruning();
  }

  pruneThrottle(): Promise<number> {
    return this.throttle.pruneThrottle();
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
    await this.throttle.throttleIp(ip, now);
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
      const key = this.throttle.key('e', normalised);
      const reservation = await this.throttle.reserve(key, normalised, now);
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
