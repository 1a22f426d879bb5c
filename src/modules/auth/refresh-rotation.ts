// Refresh-token rotation. Each refresh replaces the token; presenting a token
// that was already rotated means it was copied, so the whole session is
// revoked (OAuth 2.0 Security BCP §4.14) — except within
// REFRESH_REUSE_GRACE_SECONDS of its rotation, when the same client most
// likely refreshed twice at once (two tabs, a retried request): then the
// answer is the SAME new refresh token (kept encrypted with the rotated row,
// bound to it as associated data) and a fresh access token, and nothing is
// revoked. A successor that was itself rotated already is not handed out
// again: that is reuse.
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../lib/app-error.ts';
import { hashToken } from '../../lib/token-hash.ts';
import { newRefreshToken, type TokenPair } from './session-issuer.ts';

const successorRef = (rowId: string) => ({ table: 'refresh_tokens', column: 'successor_enc', rowId });
const REUSED = 'This refresh token was already used; the session has been revoked.';

export async function rotateRefreshToken(
  app: FastifyInstance,
  refreshToken: string,
  revoke: (sessionId: string, userId: string) => Promise<void>,
): Promise<TokenPair & { userId: string }> {
  const now = app.clock();
  const graceMs = app.config.auth.refreshReuseGraceSeconds * 1000;
  const find = () =>
    app.db.refreshToken.findUnique({
      where: { tokenHash: hashToken(refreshToken) },
      select: {
        id: true,
        rotatedAt: true,
        successorEnc: true,
        sessionId: true,
        session: {
          select: {
            userId: true,
            revokedAt: true,
            expiresAt: true,
            authTime: true,
            user: { select: { active: true } },
          },
        },
      },
    });
  const row = await find();
  if (!row) throw new AppError('INVALID_TOKEN');
  const { session } = row;
  if (session.revokedAt || session.expiresAt <= now || !session.user.active) throw new AppError('INVALID_TOKEN');
  const pair = (token: string): TokenPair & { userId: string } => {
    const access = app.signAccessToken(session.userId, row.sessionId, session.authTime);
    return {
      userId: session.userId,
      accessToken: access.token,
      refreshToken: token,
      expiresIn: access.expiresIn,
      tokenType: 'Bearer',
    };
  };
  /** The successor handed out again within the grace, or null (then it is reuse). */
  const withinGrace = async (): Promise<string | null> => {
    const again = await find();
    if (graceMs === 0 || !again?.rotatedAt || !again.successorEnc) return null;
    if (now.getTime() - again.rotatedAt.getTime() > graceMs) return null;
    const successor = app.crypto.decrypt(again.successorEnc, successorRef(again.id));
    const next = await app.db.refreshToken.findUnique({
      where: { tokenHash: hashToken(successor) },
      select: { rotatedAt: true },
    });
    return next && !next.rotatedAt ? successor : null;
  };
  if (row.rotatedAt) {
    const successor = await withinGrace();
    if (successor) return pair(successor);
    await revoke(row.sessionId, session.userId);
    throw new AppError('INVALID_TOKEN', REUSED);
  }
  const next = newRefreshToken();
  const rotated = await app.db.$transaction(async (tx) => {
    // Guarded transition: of two concurrent refreshes with the same token,
    // exactly one rotates it; the other takes the grace path.
    const { count } = await tx.refreshToken.updateMany({
      where: { id: row.id, rotatedAt: null },
      data: { rotatedAt: now, successorEnc: app.crypto.encrypt(next, successorRef(row.id)) },
    });
    if (count !== 1) return false;
    // lastUsedAt means "last login or token refresh": the request path never writes it.
    await tx.session.update({ where: { id: row.sessionId }, data: { lastUsedAt: now } });
    await tx.refreshToken.create({
      data: { id: randomUUID(), sessionId: row.sessionId, tokenHash: hashToken(next), createdAt: now },
    });
    return true;
  });
  if (rotated) return pair(next);
  const successor = await withinGrace();
  if (successor) return pair(successor);
  await revoke(row.sessionId, session.userId);
  throw new AppError('INVALID_TOKEN', REUSED);
}
