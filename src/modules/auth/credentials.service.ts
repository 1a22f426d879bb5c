// Proving it is you again, and the password's life cycle.
//
// - reauth: password (and, when a second factor is enrolled, a TOTP or
//   recovery code) → the session's auth_time becomes now and a fresh access
//   token carries it; step-up routes (config.recentAuth) accept it for
//   REAUTH_MAX_AGE_SECONDS.
// - change: the current password, then a new one that passes the policy
//   (./password-policy.ts); every other session ends; a security notice.
// - admin reset: a one-time temporary password (shown once); every session of
//   the user ends with its webhook and calendar feeds (a reset usually answers
//   a compromise); the holder must change it before anything else
//   (users.password_change_required, enforced in src/plugins/auth.ts).
// Password checks go through AuthService.checkPassword: the same atomic
// per-email throttle, argon2 slots and audited failures as sign-in.
import { randomInt } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError, fieldError } from '../../lib/app-error.ts';
import { hashPassword } from '../../lib/passwords.ts';
import type { Actor } from '../../plugins/auth.ts';
import { appendAudit } from '../audit/audit.log.ts';
import type { AuthService } from './auth.service.ts';
import { assertPasswordAcceptable } from './password-policy.ts';
import { queueSecurityNotice } from './security-notices.ts';
import { SessionsService } from './sessions.service.ts';

const TEMP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** 20 characters from a 31-letter alphabet (~99 bits), grouped for reading aloud over a phone. */
export function temporaryPassword(): string {
  const chars = Array.from({ length: 20 }, () => TEMP_ALPHABET[randomInt(TEMP_ALPHABET.length)]).join('');
  return chars.match(/.{5}/g)!.join('-');
}

export class CredentialsService {
  private readonly sessions: SessionsService;

  constructor(
    private readonly app: FastifyInstance,
    private readonly auth: AuthService,
  ) {
    this.sessions = new SessionsService(app);
  }

  private async userOf(id: string) {
    const user = await this.app.db.user.findUnique({
      where: { id },
      select: { id: true, email: true, displayName: true },
    });
    if (!user) throw new AppError('UNAUTHENTICATED');
    return user;
  }

  async reauth(actor: Actor, password: string, code: string | undefined, requestId: string) {
    const now = this.app.clock();
    const user = await this.userOf(actor.userId);
    await this.auth.checkPassword(user.email, password, requestId, now);
    const methods = this.auth.factors.methodsOf(await this.auth.factors.enrolment(user.id));
    let method = 'password';
    if (methods.length) {
      if (!code) throw fieldError('body.code', 'required: your account has a second factor (TOTP or recovery code)');
      const key = this.auth.throttle.key('e', user.email);
      await this.auth.throttle.reserve(key, user.email, now);
      const ok = await this.auth.factors.checkCode(user.id, code, now);
      if (!ok) {
        await this.app.db.$transaction((tx) =>
          appendAudit(
            tx,
            { actorId: user.id, action: 'auth.mfa_failed', entityType: 'user', entityId: user.id, requestId },
            now,
          ),
        );
        throw new AppError('INVALID_CREDENTIALS', 'The code is wrong or was already used.');
      }
      method = ok;
    }
    await this.app.db.$transaction(async (tx) => {
      await tx.$executeRaw`DELETE FROM login_throttle WHERE key = ${this.auth.throttle.key('e', user.email)}`;
      const { count } = await tx.session.updateMany({
        where: { id: actor.sessionId, revokedAt: null },
        data: { authTime: now },
      });
      if (count !== 1) throw new AppError('INVALID_TOKEN');
      await appendAudit(
        tx,
        {
          actorId: user.id,
          action: 'auth.reauth',
          entityType: 'session',
          entityId: actor.sessionId,
          requestId,
          changes: { method },
        },
        now,
      );
    });
    const access = this.app.signAccessToken(user.id, actor.sessionId, now);
    return { accessToken: access.token, expiresIn: access.expiresIn, tokenType: 'Bearer' as const };
  }

  async changePassword(actor: Actor, currentPassword: string, newPassword: string, requestId: string) {
    const now = this.app.clock();
    const user = await this.userOf(actor.userId);
    // The policy first: a refused new password spends none of the account's sign-in tries.
    if (newPassword === currentPassword) throw fieldError('body.newPassword', 'must differ from the current password');
    assertPasswordAcceptable('body.newPassword', newPassword, user);
    await this.auth.checkPassword(user.email, currentPassword, requestId, now);
    const passwordHash = await hashPassword(newPassword, this.app.config.auth.argon2);
    await this.app.db.$transaction(async (tx) => {
      await tx.$executeRaw`DELETE FROM login_throttle WHERE key = ${this.auth.throttle.key('e', user.email)}`;
      await tx.user.update({
        where: { id: user.id },
        data: { passwordHash, passwordChangeRequired: false, passwordChangedAt: now },
      });
      const { count } = await tx.session.updateMany({
        where: { userId: user.id, revokedAt: null, id: { not: actor.sessionId } },
        data: { revokedAt: now, revokeReason: 'password_changed' },
      });
      // Knowing the password just now is a fresh authentication.
      await tx.session.update({ where: { id: actor.sessionId }, data: { authTime: now } });
      await appendAudit(
        tx,
        {
          actorId: user.id,
          action: 'user.password_changed',
          entityType: 'user',
          entityId: user.id,
          requestId,
          changes: { sessionsRevoked: count },
        },
        now,
      );
      await queueSecurityNotice(tx, user.id, 'password_changed', {}, now);
    });
  }

  async resetPassword(admin: Actor, userId: string, requestId: string): Promise<string> {
    if (userId === admin.userId) {
      throw new AppError('UNPROCESSABLE', 'Change your own password with POST /v1/me/password.');
    }
    const now = this.app.clock();
    const temporary = temporaryPassword();
    const passwordHash = await hashPassword(temporary, this.app.config.auth.argon2);
    await this.app.db.$transaction(async (tx) => {
      const { count } = await tx.user.updateMany({
        where: { id: userId },
        data: { passwordHash, passwordChangeRequired: true, passwordChangedAt: now },
      });
      if (count !== 1) throw new AppError('NOT_FOUND', 'User not found.');
      await appendAudit(
        tx,
        { actorId: admin.userId, action: 'user.password_reset', entityType: 'user', entityId: userId, requestId },
        now,
      );
      await this.sessions.endAllWithin(tx, userId, admin.userId, 'password_reset', requestId, now);
      await queueSecurityNotice(tx, userId, 'password_reset', {}, now);
    });
    return temporary;
  }
}
