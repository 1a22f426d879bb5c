import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Role } from '../../generated/prisma/enums.ts';
import { AppError, fieldError } from '../../lib/app-error.ts';
import { appendAudit, diffChanges } from '../audit/audit.log.ts';
import { iso } from '../../lib/http-schemas.ts';
import { afterCursor, decodeCursor, page } from '../../lib/pagination.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { assertPasswordAcceptable } from '../auth/password-policy.ts';
import { SessionsService } from '../auth/sessions.service.ts';
import type { UserDto } from './users.schemas.ts';

const userSelect = {
  id: true,
  email: true,
  displayName: true,
  role: true,
  active: true,
  lockedUntil: true,
  createdAt: true,
  memberships: { select: { teamId: true } },
} as const;

type UserRow = {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  active: boolean;
  lockedUntil: Date | null;
  createdAt: Date;
  memberships: { teamId: string }[];
};

export function toUserDto(u: UserRow): UserDto {
  return {
    id: u.id,
    email: u.email,
    displayName: u.displayName,
    role: u.role,
    active: u.active,
    teamIds: u.memberships.map((m) => m.teamId),
    lockedUntil: iso(u.lockedUntil),
    createdAt: iso(u.createdAt),
  };
}

export class UsersService {
  constructor(private readonly app: Pick<FastifyInstance, 'db' | 'config' | 'clock' | 'crypto'>) {}

  async get(id: string): Promise<UserDto> {
    const u = await this.app.db.user.findUnique({ where: { id }, select: userSelect });
    if (!u) throw new AppError('NOT_FOUND', 'User not found.');
    return toUserDto(u);
  }

  async create(
    input: { email: string; displayName: string; role: Role; password: string },
    actorId: string | null,
    requestId: string | null,
  ): Promise<UserDto> {
    const email = input.email.trim().toLowerCase();
    assertPasswordAcceptable('body.password', input.password, { email, displayName: input.displayName });
    const passwordHash = await hashPassword(input.password, this.app.config.auth.argon2);
    const id = randomUUID();
    const now = this.app.clock();
    try {
      const u = await this.app.db.$transaction(async (tx) => {
        const created = await tx.user.create({
          data: { id, email, displayName: input.displayName, role: input.role, passwordHash, createdAt: now },
          select: userSelect,
        });
        await appendAudit(
          tx,
          {
            actorId,
            action: 'user.create',
            entityType: 'user',
            entityId: id,
            requestId,
            changes: diffChanges(null, { email, displayName: input.displayName, role: input.role }),
          },
          now,
        );
        return created;
      });
      return toUserDto(u);
    } catch (e) {
      if ((e as { code?: string }).code === 'P2002') {
        throw new AppError('CONFLICT', 'A user with this email already exists.', {
          errors: [{ path: 'body.email', message: 'already in use' }],
        });
      }
      throw e;
    }
  }

  async list(q: { cursor?: string; limit: number; role?: Role; active?: boolean }) {
    const rows = await this.app.db.user.findMany({
      where: {
        AND: [
          afterCursor(decodeCursor(q.cursor)),
          q.role ? { role: q.role } : {},
          q.active === undefined ? {} : { active: q.active },
        ],
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
      select: userSelect,
    });
    const p = page(rows, q.limit);
    return { items: p.rows.map(toUserDto), nextCursor: p.nextCursor };
  }

  async update(
    id: string,
    patch: { displayName?: string; role?: Role; active?: boolean },
    actorId: string,
    requestId: string,
  ): Promise<UserDto> {
    const now = this.app.clock();
    const u = await this.app.db.$transaction(async (tx) => {
      const before = await tx.user.findUnique({
        where: { id },
        select: { displayName: true, role: true, active: true },
      });
      if (!before) throw new AppError('NOT_FOUND', 'User not found.');
      if (id === actorId && (patch.active === false || (patch.role && patch.role !== 'ADMIN'))) {
        throw fieldError(
          patch.active === false ? 'body.active' : 'body.role',
          'admins cannot deactivate or demote themselves (ask another admin)',
        );
      }
      const updated = await tx.user.update({ where: { id }, data: patch, select: userSelect });
      // A deactivated user is signed out everywhere at once, and what could
      // still carry data out without a session ends with it: the webhook
      // channel (pending webhook reminders cancelled) and calendar feeds.
      if (patch.active === false && before.active) {
        await new SessionsService(this.app).endAllWithin(tx, id, actorId, 'deactivated', requestId, now);
      }
      await appendAudit(
        tx,
        {
          actorId,
          action: 'user.update',
          entityType: 'user',
          entityId: id,
          requestId,
          changes: diffChanges(before, patch),
        },
        now,
      );
      return updated;
    });
    return toUserDto(u);
  }

  private phoneRef(userId: string) {
    return { table: 'lawyer_profiles', column: 'phone_enc', rowId: userId };
  }

  async putLawyerProfile(
    userId: string,
    body: { jurisdictions: string[]; languages: string[]; organisation?: string | null; phone?: string | null },
    actorId: string,
    requestId: string,
  ) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const user = await tx.user.findUnique({
        where: { id: userId },
        select: {
          role: true,
          lawyerProfile: { select: { jurisdictions: true, languages: true, organisation: true, phoneEnc: true } },
        },
      });
      if (!user) throw new AppError('NOT_FOUND', 'User not found.');
      if (user.role !== 'LAWYER') {
        throw new AppError('UNPROCESSABLE', 'Only users with the LAWYER role have a lawyer profile.');
      }
      const data = {
        jurisdictions: [...new Set(body.jurisdictions)],
        languages: [...new Set(body.languages)],
        organisation: body.organisation ?? null,
        phoneEnc: this.app.crypto.encryptNullable(body.phone ?? null, this.phoneRef(userId)),
      };
      const saved = await tx.lawyerProfile.upsert({ where: { userId }, create: { userId, ...data }, update: data });
      const prev = user.lawyerProfile;
      const prevPhone = prev?.phoneEnc ? this.app.crypto.decrypt(prev.phoneEnc, this.phoneRef(userId)) : null;
      await appendAudit(
        tx,
        {
          actorId,
          action: 'lawyer_profile.put',
          entityType: 'lawyer_profile',
          entityId: userId,
          requestId,
          changes: diffChanges(
            prev ? { ...prev, phone: prevPhone } : null,
            {
              jurisdictions: data.jurisdictions,
              languages: data.languages,
              organisation: data.organisation,
              phone: body.phone ?? null,
            },
            ['phone'],
          ),
        },
        now,
      );
      return {
        userId,
        jurisdictions: saved.jurisdictions,
        languages: saved.languages,
        organisation: saved.organisation,
        phone: body.phone ?? null,
        updatedAt: iso(saved.updatedAt),
      };
    });
  }

  async getLawyerProfile(userId: string, actorId: string, requestId: string) {
    const p = await this.app.db.lawyerProfile.findUnique({ where: { userId } });
    if (!p) throw new AppError('NOT_FOUND', 'No lawyer profile for this user.');
    const phone = this.app.crypto.decryptNullable(p.phoneEnc, this.phoneRef(userId));
    if (phone !== null) {
      await appendAudit(
        this.app.db,
        {
          actorId,
          action: 'lawyer_profile.read_personal',
          entityType: 'lawyer_profile',
          entityId: userId,
          requestId,
          changes: { fields: ['phone'] },
        },
        this.app.clock(),
      );
    }
    return {
      userId,
      jurisdictions: p.jurisdictions,
      languages: p.languages,
      organisation: p.organisation,
      phone,
      updatedAt: iso(p.updatedAt),
    };
  }
}
