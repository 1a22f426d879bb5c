// The second step of sign-in. A correct password of an account with a second
// factor yields an mfaToken (random, stored as a hash, valid 5 minutes, used
// once) instead of tokens. POST /v1/auth/mfa completes it with a TOTP code, a
// recovery code or a passkey assertion (its challenge from
// POST /v1/auth/mfa/webauthn-options). Every attempt reserves a try on the
// account's email throttle first, exactly like a password guess: wrong codes
// count toward the same atomic lockout, and a correct code while blocked
// answers 429.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { AppError } from '../../lib/app-error.ts';
import { hashToken } from '../../lib/token-hash.ts';
import { appendAudit } from '../audit/audit.log.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import { issueSession, type TokenPair } from '../auth/session-issuer.ts';
import { sessionUserAgent } from '../auth/sessions.service.ts';
import type { FactorMethod, SecondFactors } from './second-factors.ts';
import { authenticationOptions } from './webauthn.ts';

export const MFA_TOKEN_TTL_MS = 5 * 60_000;

export type MfaProof = { code: string } | { webauthn: AuthenticationResponseJSON };

const expired = () =>
  new AppError('INVALID_TOKEN', 'This sign-in step expired or was already completed: sign in again.');

export class MfaLogin {
  constructor(
    private readonly app: FastifyInstance,
    private readonly throttle: LoginThrottle,
    private readonly factors: SecondFactors,
  ) {}

  async begin(userId: string, ip: string, userAgent: string | undefined, now: Date): Promise<string> {
    const token = `mfa_${randomBytes(32).toString('base64url')}`;
    await this.app.db.authChallenge.create({
      data: {
        id: randomUUID(),
        userId,
        purpose: 'mfa_login',
        tokenHash: hashToken(token),
        ip,
        userAgent: sessionUserAgent(userAgent),
        createdAt: now,
        expiresAt: new Date(now.getTime() + MFA_TOKEN_TTL_MS),
      },
    });
    return token;
  }

  private async pending(mfaToken: string, now: Date) {
    const row = await this.app.db.authChallenge.findUnique({ where: { tokenHash: hashToken(mfaToken) } });
    if (!row || row.purpose !== 'mfa_login' || row.usedAt || row.expiresAt <= now) throw expired();
    return row;
  }

  /** WebAuthn request options for the account behind this mfaToken; the challenge is kept with it. */
  async webauthnOptions(mfaToken: string) {
    const now = this.app.clock();
    const row = await this.pending(mfaToken, now);
    const passkeys = await this.factors.passkeys(row.userId);
    if (!passkeys.length) throw new AppError('CONFLICT', 'No passkey is enrolled for this account: use a code.');
    const options = await authenticationOptions(this.app.config, passkeys);
    await this.app.db.authChallenge.update({ where: { id: row.id }, data: { challenge: options.challenge } });
    return options;
  }

  async complete(
    mfaToken: string,
    proof: MfaProof,
    ip: string,
    userAgent: string | undefined,
    requestId: string,
  ): Promise<{ userId: string; pair: TokenPair; passwordChangeRequired: boolean }> {
    const now = this.app.clock();
    const row = await this.pending(mfaToken, now);
    const user = await this.app.db.user.findUnique({
      where: { id: row.userId },
      select: { email: true, active: true, passwordChangeRequired: true },
    });
    if (!user?.active) throw expired();
    const key = this.throttle.key('e', user.email);
    await this.throttle.reserve(key, user.email, now);
    let method: FactorMethod | null = null;
    if ('code' in proof) method = await this.factors.checkCode(row.userId, proof.code, now);
    else if (row.challenge && (await this.factors.checkAssertion(row.userId, proof.webauthn, row.challenge, now))) {
      method = 'webauthn';
    }
    if (!method) {
      await this.app.db.$transaction((tx) =>
        appendAudit(
          tx,
          { actorId: null, action: 'auth.mfa_failed', entityType: 'user', entityId: row.userId, requestId },
          now,
        ),
      );
      throw new AppError('INVALID_CREDENTIALS', 'The code is wrong or was already used.');
    }
    const signedInWith = method;
    const pair = await this.app.db.$transaction(async (tx) => {
      // Used once: of two completions racing with one mfaToken, one signs in.
      const { count } = await tx.authChallenge.updateMany({
        where: { id: row.id, usedAt: null },
        data: { usedAt: now },
      });
      if (count !== 1) throw expired();
      return issueSession(this.app, tx, {
        userId: row.userId,
        throttleKey: key,
        ip,
        userAgent,
        method: signedInWith,
        requestId,
        now,
      });
    });
    return { userId: row.userId, pair, passwordChangeRequired: user.passwordChangeRequired };
  }
}
