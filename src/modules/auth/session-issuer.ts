// The end of every successful sign-in (password alone, or password then a
// second factor): one transaction that forgets the email's throttle streak,
// opens the session with its auth_time, stores the first refresh token (as a
// hash) and appends `auth.login` naming the method; then the access token.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Tx } from '../../db.ts';
import { hashToken } from '../../lib/token-hash.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { sessionUserAgent } from './sessions.service.ts';

export type TokenPair = { accessToken: string; refreshToken: string; expiresIn: number; tokenType: 'Bearer' };
export type SignInMethod = 'password' | 'totp' | 'recovery' | 'webauthn';

export const newRefreshToken = () => `rt_${randomBytes(32).toString('base64url')}`;

export async function issueSession(
  app: FastifyInstance,
  tx: Tx,
  p: {
    userId: string;
    throttleKey: string;
    ip: string;
    userAgent: string | undefined;
    method: SignInMethod;
    requestId: string;
    now: Date;
  },
): Promise<TokenPair> {
  const { now } = p;
  const sessionId = randomUUID();
  const refreshToken = newRefreshToken();
  await tx.$executeRaw`DELETE FROM login_throttle WHERE key = ${p.throttleKey}`;
  await tx.user.update({ where: { id: p.userId }, data: { failedLogins: 0, lockedUntil: null } });
  await tx.session.create({
    data: {
      id: sessionId,
      userId: p.userId,
      createdAt: now,
      lastUsedAt: now,
      authTime: now,
      ip: p.ip,
      userAgent: sessionUserAgent(p.userAgent),
      expiresAt: new Date(now.getTime() + app.config.auth.refreshTtlDays * 86_400_000),
    },
  });
  await tx.refreshToken.create({
    data: { id: randomUUID(), sessionId, tokenHash: hashToken(refreshToken), createdAt: now },
  });
  await appendAudit(
    tx,
    {
      actorId: p.userId,
      action: 'auth.login',
      entityType: 'session',
      entityId: sessionId,
      requestId: p.requestId,
      changes: { method: p.method },
    },
    now,
  );
  const access = app.signAccessToken(p.userId, sessionId, now);
  return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn, tokenType: 'Bearer' };
}
