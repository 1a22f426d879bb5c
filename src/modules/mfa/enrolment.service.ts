// Enrolling and removing second factors (/v1/me/mfa/*).
//
// TOTP: POST /v1/me/mfa/totp with the password creates a pending secret
// (encrypted with the field-encryption keyring, bound to the user row);
// confirming it with a first code activates it and returns ten new recovery
// codes (shown once). Passkeys: registration options keep their challenge in
// auth_challenges (single use, 5 minutes); the verified credential is stored
// with its public key and counter. The first factor also creates recovery
// codes. Removing the last factor deletes the recovery codes. Every change is
// audited and sends the user a security notice.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Tx } from '../../db.ts';
import { AppError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import type { Actor } from '../../plugins/auth.ts';
import { appendAudit } from '../audit/audit.log.ts';
import type { AuthService } from '../auth/auth.service.ts';
import { queueSecurityNotice } from '../auth/security-notices.ts';
import { newRecoveryCodes } from './recovery-codes.ts';
import { totpSecretRef } from './second-factors.ts';
import { matchTotp, newTotpSecret, totpUri } from './totp.ts';
import { registrationOptions, verifyRegistration } from './webauthn.ts';

const REGISTRATION_TTL_MS = 5 * 60_000;

export class MfaEnrolment {
  constructor(
    private readonly app: FastifyInstance,
    private readonly auth: AuthService,
  ) {}

  private get db() {
    return this.app.db;
  }

  private async user(userId: string) {
    const u = await this.db.user.findUnique({ where: { id: userId }, select: { email: true, displayName: true } });
    if (!u) throw new AppError('UNAUTHENTICATED');
    return u;
  }

  private async audit(tx: Tx, actor: Actor, action: string, changes: Record<string, unknown>, requestId: string) {
    await appendAudit(
      tx,
      { actorId: actor.userId, action, entityType: 'user', entityId: actor.userId, requestId, changes },
      this.app.clock(),
    );
  }

  async status(userId: string) {
    const enrolment = await this.auth.factors.enrolment(userId);
    const [totp, passkeys] = await Promise.all([
      this.db.userTotp.findUnique({ where: { userId }, select: { confirmedAt: true, createdAt: true } }),
      this.db.webauthnCredential.findMany({
        where: { userId },
        orderBy: { createdAt: 'asc' },
        select: { id: true, name: true, createdAt: true, lastUsedAt: true },
      }),
    ]);
    return {
      totp: {
        enrolled: enrolment.totp,
        pending: !!totp && !totp.confirmedAt,
        enrolledAt: totp?.confirmedAt ? iso(totp.confirmedAt) : null,
      },
      passkeys: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        createdAt: iso(p.createdAt),
        lastUsedAt: p.lastUsedAt ? iso(p.lastUsedAt) : null,
      })),
      recoveryCodesLeft: enrolment.recoveryCodesLeft,
      required: this.app.config.auth.mfaRequiredRoles.length > 0,
    };
  }

  async startTotp(actor: Actor, password: string, requestId: string) {
    const now = this.app.clock();
    const user = await this.user(actor.userId);
    await this.auth.checkPassword(user.email, password, requestId, now);
    await this.auth.forgetFailures(user.email);
    const secret = newTotpSecret();
    const secretEnc = this.app.crypto.encrypt(secret, totpSecretRef(actor.userId));
    await this.db.$transaction(async (tx) => {
      const existing = await tx.userTotp.findUnique({ where: { userId: actor.userId }, select: { confirmedAt: true } });
      if (existing?.confirmedAt) {
        throw new AppError(
          'CONFLICT',
          'An authenticator app is already enrolled: remove it first (DELETE /v1/me/mfa/totp).',
        );
      }
      await tx.userTotp.upsert({
        where: { userId: actor.userId },
        create: { userId: actor.userId, secretEnc, createdAt: now },
        update: { secretEnc, createdAt: now, lastStep: 0 },
      });
      await this.audit(tx, actor, 'mfa.totp_started', {}, requestId);
    });
    return { secret, otpauthUrl: totpUri(this.app.config.auth.webauthn.rpName, user.email, secret) };
  }

  async confirmTotp(actor: Actor, code: string, requestId: string) {
    const now = this.app.clock();
    const pending = await this.db.userTotp.findUnique({ where: { userId: actor.userId } });
    if (!pending || pending.confirmedAt) {
      throw new AppError(
        'CONFLICT',
        'No authenticator app is waiting for confirmation: start with POST /v1/me/mfa/totp.',
      );
    }
    const secret = this.app.crypto.decrypt(pending.secretEnc, totpSecretRef(actor.userId));
    const step = await matchTotp(secret, code, now, Number(pending.lastStep));
    if (step === null) throw new AppError('INVALID_CREDENTIALS', 'The code is wrong: check the clock of the device.');
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.userTotp.updateMany({
        where: { userId: actor.userId, confirmedAt: null },
        data: { confirmedAt: now, lastStep: BigInt(step) },
      });
      if (count !== 1) throw new AppError('CONFLICT', 'This authenticator app was already confirmed.');
      const recoveryCodes = await this.replaceRecoveryCodes(tx, actor.userId, now);
      await this.audit(tx, actor, 'mfa.totp_enrolled', { recoveryCodes: recoveryCodes.length }, requestId);
      await queueSecurityNotice(tx, actor.userId, 'factor_added', { factor: 'totp' }, now);
      return { recoveryCodes };
    });
  }

  async removeTotp(actor: Actor, requestId: string) {
    const now = this.app.clock();
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.userTotp.deleteMany({ where: { userId: actor.userId } });
      if (!count) throw new AppError('NOT_FOUND', 'No authenticator app is enrolled.');
      const codesDeleted = await this.dropRecoveryCodesIfLast(tx, actor.userId);
      await this.audit(tx, actor, 'mfa.totp_removed', { recoveryCodesDeleted: codesDeleted }, requestId);
      await queueSecurityNotice(tx, actor.userId, 'factor_removed', { factor: 'totp' }, now);
    });
  }

  async passkeyOptions(actor: Actor) {
    const now = this.app.clock();
    const user = await this.user(actor.userId);
    const existing = await this.auth.factors.passkeys(actor.userId);
    const options = await registrationOptions(this.app.config, { id: actor.userId, ...user }, existing);
    await this.db.$transaction(async (tx) => {
      await tx.authChallenge.deleteMany({ where: { userId: actor.userId, purpose: 'webauthn_register' } });
      await tx.authChallenge.create({
        data: {
          id: randomUUID(),
          userId: actor.userId,
          purpose: 'webauthn_register',
          challenge: options.challenge,
          createdAt: now,
          expiresAt: new Date(now.getTime() + REGISTRATION_TTL_MS),
        },
      });
    });
    return options;
  }

  async registerPasskey(actor: Actor, response: RegistrationResponseJSON, name: string, requestId: string) {
    const now = this.app.clock();
    const pending = await this.db.authChallenge.findFirst({
      where: { userId: actor.userId, purpose: 'webauthn_register', usedAt: null, expiresAt: { gt: now } },
      orderBy: { createdAt: 'desc' },
    });
    if (!pending?.challenge) {
      throw new AppError('CONFLICT', 'No passkey registration is pending: POST /v1/me/mfa/webauthn/options first.');
    }
    const verified = await verifyRegistration(this.app.config, response, pending.challenge);
    if (!verified) {
      throw new AppError('UNPROCESSABLE', 'The passkey response did not verify (challenge, origin or signature).');
    }
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.authChallenge.updateMany({
        where: { id: pending.id, usedAt: null },
        data: { usedAt: now },
      });
      if (count !== 1) throw new AppError('CONFLICT', 'This registration was already completed.');
      const taken = await tx.webauthnCredential.findUnique({ where: { credentialId: verified.credentialId } });
      if (taken) throw new AppError('CONFLICT', 'This passkey is already registered.');
      const id = randomUUID();
      await tx.webauthnCredential.create({
        data: {
          id,
          userId: actor.userId,
          credentialId: verified.credentialId,
          publicKey: Buffer.from(verified.publicKey),
          counter: BigInt(verified.counter),
          transports: verified.transports,
          name,
          createdAt: now,
        },
      });
      const codesLeft = await tx.recoveryCode.count({ where: { userId: actor.userId, usedAt: null } });
      const recoveryCodes = codesLeft ? undefined : await this.replaceRecoveryCodes(tx, actor.userId, now);
      await this.audit(tx, actor, 'mfa.passkey_added', { passkeyId: id, name }, requestId);
      await queueSecurityNotice(tx, actor.userId, 'factor_added', { factor: 'webauthn', name }, now);
      return { id, name, createdAt: iso(now), ...(recoveryCodes ? { recoveryCodes } : {}) };
    });
  }

  async removePasskey(actor: Actor, id: string, requestId: string) {
    const now = this.app.clock();
    await this.db.$transaction(async (tx) => {
      const row = await tx.webauthnCredential.findFirst({
        where: { id, userId: actor.userId },
        select: { name: true },
      });
      if (!row) throw new AppError('NOT_FOUND', 'Passkey not found.');
      await tx.webauthnCredential.delete({ where: { id } });
      const codesDeleted = await this.dropRecoveryCodesIfLast(tx, actor.userId);
      await this.audit(
        tx,
        actor,
        'mfa.passkey_removed',
        { passkeyId: id, recoveryCodesDeleted: codesDeleted },
        requestId,
      );
      await queueSecurityNotice(tx, actor.userId, 'factor_removed', { factor: 'webauthn', name: row.name }, now);
    });
  }

  private async replaceRecoveryCodes(tx: Tx, userId: string, now: Date): Promise<string[]> {
    const codes = newRecoveryCodes();
    await tx.recoveryCode.deleteMany({ where: { userId } });
    await tx.recoveryCode.createMany({
      data: codes.map((c) => ({
        id: randomUUID(),
        userId,
        codeHash: this.auth.factors.recoveryHash(c),
        createdAt: now,
      })),
    });
    return codes;
  }

  private async dropRecoveryCodesIfLast(tx: Tx, userId: string): Promise<number> {
    const e = await this.auth.factors.enrolment(userId, tx);
    if (e.totp || e.passkeys) return 0;
    return (await tx.recoveryCode.deleteMany({ where: { userId } })).count;
  }
}
