// What a user has enrolled, and the checks of a second factor. Each check
// CONSUMES what it accepts in one guarded statement (the TOTP step, the
// recovery code, the passkey's counter), so two requests racing with one code
// cannot both pass. Used by the second step of sign-in (./mfa-login.ts) and by
// reauthentication (../auth/credentials.service.ts).
import type { FastifyInstance } from 'fastify';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Tx } from '../../db.ts';
import { looksLikeRecoveryCode, recoveryCodeHash, recoveryHmacKey } from './recovery-codes.ts';
import { matchTotp } from './totp.ts';
import { verifyAssertion, type StoredCredential } from './webauthn.ts';

export type Enrolment = { totp: boolean; passkeys: number; recoveryCodesLeft: number };
export type FactorMethod = 'totp' | 'recovery' | 'webauthn';

export const totpSecretRef = (userId: string) => ({ table: 'user_totp', column: 'secret_enc', rowId: userId });

export class SecondFactors {
  private readonly recoveryKey: Buffer;

  constructor(private readonly app: FastifyInstance) {
    this.recoveryKey = recoveryHmacKey(app.config.crypto.blindIndexKey);
  }

  recoveryHash(code: string): string {
    return recoveryCodeHash(this.recoveryKey, code);
  }

  async enrolment(userId: string, tx: Tx = this.app.db): Promise<Enrolment> {
    const [row] = await tx.$queryRaw<{ totp: boolean; passkeys: number; recovery: number }[]>`
      SELECT EXISTS (SELECT 1 FROM user_totp WHERE user_id = ${userId}::uuid AND confirmed_at IS NOT NULL) AS totp,
             (SELECT count(*)::int FROM webauthn_credentials WHERE user_id = ${userId}::uuid) AS passkeys,
             (SELECT count(*)::int FROM recovery_codes WHERE user_id = ${userId}::uuid AND used_at IS NULL) AS recovery`;
    return { totp: row.totp, passkeys: row.passkeys, recoveryCodesLeft: row.recovery };
  }

  /** The methods a sign-in may complete with (empty when no second factor is enrolled). */
  methodsOf(e: Enrolment): FactorMethod[] {
    if (!e.totp && e.passkeys === 0) return [];
    return [...(e.totp ? ['totp' as const] : []), ...(e.passkeys ? ['webauthn' as const] : []), 'recovery'];
  }

  async passkeys(userId: string, tx: Tx = this.app.db): Promise<(StoredCredential & { id: string })[]> {
    const rows = await tx.webauthnCredential.findMany({
      where: { userId },
      select: { id: true, credentialId: true, publicKey: true, counter: true, transports: true },
    });
    return rows.map((r) => ({ ...r, counter: Number(r.counter) }));
  }

  /** A TOTP code or a recovery code; consumed when accepted. */
  async checkCode(userId: string, code: string, now: Date): Promise<FactorMethod | null> {
    const trimmed = code.trim();
    if (/^\d{6}$/.test(trimmed)) {
      const totp = await this.app.db.userTotp.findUnique({ where: { userId } });
      if (!totp?.confirmedAt) return null;
      const secret = this.app.crypto.decrypt(totp.secretEnc, totpSecretRef(userId));
      const step = await matchTotp(secret, trimmed, now, Number(totp.lastStep));
      if (step === null) return null;
      const { count } = await this.app.db.userTotp.updateMany({
        where: { userId, lastStep: { lt: BigInt(step) } },
        data: { lastStep: BigInt(step) },
      });
      return count === 1 ? 'totp' : null;
    }
    if (looksLikeRecoveryCode(trimmed)) {
      const enrolment = await this.enrolment(userId);
      if (!enrolment.totp && enrolment.passkeys === 0) return null;
      const { count } = await this.app.db.recoveryCode.updateMany({
        where: { userId, codeHash: this.recoveryHash(trimmed), usedAt: null },
        data: { usedAt: now },
      });
      return count === 1 ? 'recovery' : null;
    }
    return null;
  }

  /** A passkey assertion against the stored challenge; the signature counter is stored when it verifies. */
  async checkAssertion(
    userId: string,
    response: AuthenticationResponseJSON,
    challenge: string,
    now: Date,
  ): Promise<boolean> {
    const credential = (await this.passkeys(userId)).find((c) => c.credentialId === response.id);
    if (!credential) return false;
    const counter = await verifyAssertion(this.app.config, response, challenge, credential);
    if (counter === null) return false;
    // Guarded: of two racing assertions with one counter value, one is stored.
    const updated = await this.app.db.$executeRaw`
      UPDATE webauthn_credentials SET counter = ${counter}, last_used_at = ${now}
      WHERE id = ${credential.id}::uuid AND (counter < ${counter} OR (counter = 0 AND ${counter}::bigint = 0))`;
    return updated === 1;
  }
}
