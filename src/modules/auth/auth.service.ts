// Login, refresh-token rotation and logout.
//
// Refresh tokens are opaque random strings stored only as SHA-256 hashes. Each
// refresh rotates the token; presenting a token that was already rotated means
// it was copied, so the whole session (every token descended from the login)
// is revoked (OAuth 2.0 Security BCP, refresh token rotation).
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { hashPassword, verifyPassword } from '../../lib/passwords.ts';
import { hashToken } from '../../lib/token-hash.ts';

const newRefreshToken = () => `rt_${randomBytes(32).toString('base64url')}`;

let dummyHash: Promise<string> | null = null;

export type TokenPair = { accessToken: string; refreshToken: string; expiresIn: number; tokenType: 'Bearer' };

export class AuthService {
  constructor(private readonly app: FastifyInstance) {}

  private get db() {
    return this.app.db;
  }

  /**
   * Counts an attempt from this client IP in a fixed window shared by every
   * API instance (a row in PostgreSQL); refuses once the window is full.
   */
  private async throttleIp(ip: string): Promise<void> {
    const { ipMaxAttempts, ipWindowMinutes } = this.app.config.auth;
    const now = this.app.clock();
    const windowStart = new Date(now.getTime() - ipWindowMinutes * 60_000);
    const rows = await this.db.$queryRaw<{ count: number; window_start: Date }[]>`
      INSERT INTO login_throttle (key, window_start, count) VALUES (${`ip:${ip}`}, ${now}, 1)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN login_throttle.window_start < ${windowStart} THEN 1 ELSE login_throttle.count + 1 END,
        window_start = CASE WHEN login_throttle.window_start < ${windowStart} THEN ${now} ELSE login_throttle.window_start END
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

  async login(email: string, password: string, ip: string, requestId: string): Promise<TokenPair & { userId: string }> {
    await this.throttleIp(ip);
    const { auth } = this.app.config;
    const now = this.app.clock();
    const user = await this.db.user.findUnique({
      where: { email: email.trim().toLowerCase() },
      select: { id: true, passwordHash: true, active: true, failedLogins: true, lockedUntil: true },
    });
    if (!user) {
      // Spend the same time as a real verification so response timing does
      // not reveal which emails have accounts.
      dummyHash ??= hashPassword(randomBytes(16).toString('hex'), auth.argon2);
      await verifyPassword(await dummyHash, password);
      throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong.');
    }
    if (user.lockedUntil && user.lockedUntil > now) {
      const retry = Math.ceil((user.lockedUntil.getTime() - now.getTime()) / 1000);
      throw new AppError('RATE_LIMITED', 'This account is temporarily locked after repeated failed logins.', {
        retryAfterSeconds: retry,
      });
    }
    const ok = await verifyPassword(user.passwordHash, password);
    if (!ok || !user.active) {
      if (!ok) {
        // One atomic UPDATE: parallel wrong guesses each count (a read-then-
        // write here let concurrent requests overwrite each other's count).
        const lockUntil = new Date(now.getTime() + auth.lockoutMinutes * 60_000);
        await this.db.$transaction(async (tx) => {
          const [row] = await tx.$queryRaw<{ locked: boolean }[]>`
            UPDATE users SET
              failed_logins = CASE WHEN failed_logins + 1 >= ${auth.loginMaxFailures} THEN 0 ELSE failed_logins + 1 END,
              locked_until = CASE WHEN failed_logins + 1 >= ${auth.loginMaxFailures} THEN ${lockUntil} ELSE locked_until END
            WHERE id = ${user.id}::uuid
            RETURNING (locked_until = ${lockUntil}) AS locked`;
          await appendAudit(
            tx,
            {
              actorId: null,
              action: row?.locked ? 'auth.locked' : 'auth.login_failed',
              entityType: 'user',
              entityId: user.id,
              requestId,
            },
            now,
          );
        });
      }
      throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong.');
    }
    const sessionId = randomUUID();
    const refreshToken = newRefreshToken();
    await this.db.$transaction(async (tx) => {
      await tx.user.update({ where: { id: user.id }, data: { failedLogins: 0, lockedUntil: null } });
      await tx.session.create({
        data: {
          id: sessionId,
          userId: user.id,
          createdAt: now,
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

  async revokeAllSessions(userId: string, actorId: string, reason: string, requestId: string): Promise<number> {
    const now = this.app.clock();
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.session.updateMany({
        where: { userId, revokedAt: null },
        data: { revokedAt: now, revokeReason: reason },
      });
      // "Every token of that user": the calendar feed URL too (a seized phone).
      await tx.calendarToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } });
      await appendAudit(
        tx,
        {
          actorId,
          action: 'auth.sessions_revoked',
          entityType: 'user',
          entityId: userId,
          requestId,
          changes: { reason, sessions: count },
        },
        now,
      );
      return count;
    });
  }
}
