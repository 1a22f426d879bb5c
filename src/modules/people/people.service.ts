import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit, appendAuditSql, diffChanges } from '../audit/audit.log.ts';
import { normaliseName } from '../../lib/field-crypto.ts';
import { iso } from '../../lib/http-schemas.ts';
import { afterCursor, decodeCursor, literalContains, page } from '../../lib/pagination.ts';
import { unchanged } from '../../lib/no-op-patch.ts';
import { mayReadLegalData, visiblePeopleWhere } from '../../plugins/access.ts';
import { DuplicatesService, duplicateCheckEntry, writeNameTokens } from './duplicates.service.ts';
import { maySeePerson } from '../access/visibility.ts';
import { query, sql } from '../../lib/sql.ts';
import type { Actor } from '../../plugins/auth.ts';
import type { Prisma } from '../../db.ts';
import type { z } from 'zod';
import type { CreatePersonBody, CreatedPersonDto, PersonDto } from './people.schemas.ts';

/** What a caller may write: the validated create body (updates take a part of it, with nulls to clear). */
export type PersonInput = z.infer<typeof CreatePersonBody>;
const DUPLICATES_ON_CREATE = 50; // as many as GET /v1/people/duplicates' default page
type PersonPatch = Partial<Omit<PersonInput, 'dateOfBirth' | 'contacts' | 'notes'>> & {
  dateOfBirth?: string | null;
  contacts?: PersonInput['contacts'] | null;
  notes?: string | null;
};

export const PERSONAL_FIELDS = ['legalName', 'dateOfBirth', 'contacts', 'notes'] as const;

const personSelect = {
  id: true,
  pseudonym: true,
  legalNameEnc: true,
  dateOfBirthEnc: true,
  contactsEnc: true,
  notesEnc: true,
  citizenship: true,
  travelDocumentStatus: true,
  tags: true,
  createdAt: true,
  updatedAt: true,
} as const;

/** The person with the access facts of each of their cases for one user (lawyer assignments of that user). */
const withCasesFor = (userId: string) =>
  ({
    ...personSelect,
    createdById: true,
    cases: {
      select: {
        id: true,
        teamId: true,
        assignments: { where: { lawyerId: userId, endedAt: null }, select: { id: true } },
      },
    },
  }) as const;

/** GET /v1/people/:id in one statement: the person with its cases' access facts for the caller. */
type PersonWithCasesRow = PersonRow & {
  createdById: string | null;
  cases: { id: string; teamId: string; lawyerAssigned: boolean }[];
};

/** `version` is shown when the row was read with it (writes and lists do). */
export type PersonRow = Prisma.PersonGetPayload<{ select: typeof personSelect }> & { version?: number };
const withVersion = { ...personSelect, version: true } as const;

export class PeopleService {
  constructor(private readonly app: FastifyInstance) {}

  private ref(id: string, column: string) {
    return { table: 'people', column, rowId: id };
  }

  encryptedColumns(id: string, p: PersonPatch) {
    const c = this.app.crypto;
    const out: Record<string, string | null> = {};
    if (p.legalName !== undefined) {
      out.legalNameEnc = c.encrypt(p.legalName, this.ref(id, 'legal_name_enc'));
      out.legalNameBidx = c.blindIndex('person.legal_name', normaliseName(p.legalName));
    }
    if (p.dateOfBirth !== undefined) {
      out.dateOfBirthEnc = c.encryptNullable(p.dateOfBirth, this.ref(id, 'date_of_birth_enc'));
      out.dobBidx = p.dateOfBirth ? c.blindIndex('person.date_of_birth', p.dateOfBirth) : null;
    }
    if (p.contacts !== undefined) {
      out.contactsEnc = c.encryptNullable(p.contacts ? JSON.stringify(p.contacts) : null, this.ref(id, 'contacts_enc'));
    }
    if (p.notes !== undefined) out.notesEnc = c.encryptNullable(p.notes, this.ref(id, 'notes_enc'));
    return out;
  }

  /** The DTO; legal fields decrypted only when `legal` is true. */
  toDto(row: PersonRow, legal: boolean): PersonDto {
    const base = {
      id: row.id,
      pseudonym: row.pseudonym,
      citizenship: row.citizenship,
      travelDocumentStatus: row.travelDocumentStatus,
      tags: row.tags,
      legalDataVisible: legal,
      ...(row.version !== undefined ? { version: row.version } : {}),
      createdAt: iso(row.createdAt),
      updatedAt: iso(row.updatedAt),
    };
    if (!legal) return base;
    const c = this.app.crypto;
    const contacts = c.decryptNullable(row.contactsEnc, this.ref(row.id, 'contacts_enc'));
    return {
      ...base,
      legalName: c.decrypt(row.legalNameEnc, this.ref(row.id, 'legal_name_enc')),
      dateOfBirth: c.decryptNullable(row.dateOfBirthEnc, this.ref(row.id, 'date_of_birth_enc')),
      // Written by encryptedColumns from a validated body.
      contacts: contacts ? (JSON.parse(contacts) as PersonDto['contacts']) : null,
      notes: c.decryptNullable(row.notesEnc, this.ref(row.id, 'notes_enc')),
    };
  }

  /** Records that decrypted personal data was shown, in the log of the case it was shown through. */
  async auditReveal(actor: Actor, personId: string, caseId: string | null, requestId: string): Promise<void> {
    await appendAuditSql(
      this.app.sqlPool,
      {
        actorId: actor.userId,
        action: 'person.read_personal',
        entityType: 'person',
        entityId: personId,
        caseId,
        requestId,
        changes: { fields: [...PERSONAL_FIELDS] },
      },
      this.app.clock(),
    );
  }

  /**
   * Registers a person and answers with the likely duplicates the caller may
   * see (by name, as GET /v1/people/duplicates) and a count of the hidden ones.
   * The check runs before the insert (so never finds the new person, and a
   * failed check creates nothing); its audit entry is written with the person.
   */
  async create(actor: Actor, input: PersonInput, requestId: string): Promise<CreatedPersonDto> {
    const id = randomUUID();
    const dup = await new DuplicatesService(this.app).check(actor, input.legalName, DUPLICATES_ON_CREATE);
    const now = this.app.clock();
    const row = await this.app.db.$transaction(async (tx) => {
      const created = await tx.person.create({
        data: {
          id,
          pseudonym: input.pseudonym,
          citizenship: input.citizenship,
          travelDocumentStatus: input.travelDocumentStatus,
          tags: [...new Set(input.tags ?? [])],
          createdById: actor.userId,
          createdAt: now,
          ...(this.encryptedColumns(id, input) as { legalNameEnc: string; legalNameBidx: string }),
        },
        select: withVersion,
      });
      await writeNameTokens(tx, this.app.crypto, id, input.legalName);
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'person.create',
          entityType: 'person',
          entityId: id,
          requestId,
          changes: diffChanges(null, { ...input, tags: input.tags ?? [] }, PERSONAL_FIELDS),
        },
        now,
      );
      const counts = { matches: dup.matches, hiddenMatches: dup.hiddenMatches, withDateOfBirth: false };
      await appendAudit(tx, duplicateCheckEntry(actor, requestId, counts, id), now);
      return created;
    });
    const [duplicates, hiddenMatches] = [dup.items, dup.hiddenMatches];
    return { ...this.toDto(row, true), duplicates, hiddenMatches, askTeam: hiddenMatches > 0 };
  }

  /** Loads a person the actor may see; legal data only through a case that allows it. */
  async get(actor: Actor, id: string, requestId: string): Promise<PersonDto> {
    // One statement: the person and the access facts of each of their cases
    // (was five: Prisma loads each relation separately). Visibility is then
    // decided by maySeePerson, the same rule as visiblePeopleWhere.
    const [row] = await query<PersonWithCasesRow>(
      this.app.sqlPool,
      sql`SELECT p.id, p.pseudonym, p.legal_name_enc AS "legalNameEnc", p.date_of_birth_enc AS "dateOfBirthEnc",
                 p.contacts_enc AS "contactsEnc", p.notes_enc AS "notesEnc", p.citizenship,
                 p.travel_document_status::text AS "travelDocumentStatus", p.tags, p.created_at AS "createdAt",
                 p.updated_at AS "updatedAt", p.created_by_id AS "createdById", p.version,
                 COALESCE((SELECT json_agg(json_build_object('id', k.id, 'teamId', k.team_id, 'lawyerAssigned',
                            EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = k.id
                                      AND a.lawyer_id = ${actor.userId}::uuid AND a.ended_at IS NULL)))
                           FROM cases k WHERE k.person_id = p.id), '[]'::json) AS cases
          FROM people p WHERE p.id = ${id}::uuid`,
    );
    if (!row || !maySeePerson(actor, row)) throw new AppError('NOT_FOUND', 'Person not found.');
    const viaCase = row.cases.find((c) => mayReadLegalData(actor, c));
    const legal =
      Boolean(viaCase) ||
      actor.role === 'ADMIN' ||
      (actor.role === 'CASEWORKER' && row.createdById === actor.userId && row.cases.length === 0);
    // Decrypt first: the audit records a reveal only when one really happens.
    const dto = this.toDto(row, legal);
    if (legal) await this.auditReveal(actor, id, viaCase?.id ?? null, requestId);
    return dto;
  }

  async list(actor: Actor, q: { cursor?: string; limit: number; q?: string }) {
    const rows = await this.app.db.person.findMany({
      where: {
        AND: [
          visiblePeopleWhere(actor),
          afterCursor(decodeCursor(q.cursor)),
          q.q ? { pseudonym: { contains: literalContains(q.q), mode: 'insensitive' } } : {},
        ],
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
      select: withVersion,
    });
    const p = page(rows, q.limit);
    return { items: p.rows.map((r) => this.toDto(r, false)), nextCursor: p.nextCursor };
  }

  async update(actor: Actor, id: string, patch: PersonPatch, expected: number, requestId: string): Promise<PersonDto> {
    const now = this.app.clock();
    const row = await this.app.db.$transaction(async (tx) => {
      const before = await tx.person.findFirst({
        where: { AND: [{ id }, visiblePeopleWhere(actor)] },
        select: { ...withCasesFor(actor.userId), version: true },
      });
      if (!before) throw new AppError('NOT_FOUND', 'Person not found.');
      const editable =
        actor.role === 'ADMIN' ||
        before.cases.some((c) =>
          mayReadLegalData(actor, { teamId: c.teamId, lawyerAssigned: c.assignments.length > 0 }),
        ) ||
        (before.createdById === actor.userId && before.cases.length === 0);
      if (!editable || actor.role === 'COORDINATOR') throw new AppError('FORBIDDEN', 'You may not change this person.');
      const plain = this.toDto(before, true);
      const stale = () =>
        new AppError(
          'PRECONDITION_FAILED',
          `The person has changed since version ${expected}; reload it (current version ${before.version}).`,
        );
      // Nothing changes: the same version, no write, no audit entry (a stale version is still 412).
      if (unchanged(plain, { ...patch, tags: patch.tags ? [...new Set(patch.tags)] : undefined })) {
        if (before.version !== expected) throw stale();
        return before;
      }
      // Optimistic concurrency, as for cases: written only if nobody changed the person since `expected`.
      const { count } = await tx.person.updateMany({
        where: { id, version: expected },
        data: {
          pseudonym: patch.pseudonym,
          citizenship: patch.citizenship,
          travelDocumentStatus: patch.travelDocumentStatus,
          tags: patch.tags ? [...new Set(patch.tags)] : undefined,
          ...this.encryptedColumns(id, patch),
          version: { increment: 1 },
        },
      });
      if (count !== 1) throw stale();
      const updated = await tx.person.findUniqueOrThrow({ where: { id }, select: withVersion });
      if (patch.legalName !== undefined) await writeNameTokens(tx, this.app.crypto, id, patch.legalName);
      const changes = diffChanges(plain, patch, PERSONAL_FIELDS);
      for (const c of before.cases.length ? before.cases : [{ id: null }]) {
        await appendAudit(
          tx,
          {
            actorId: actor.userId,
            action: 'person.update',
            entityType: 'person',
            entityId: id,
            caseId: c.id,
            requestId,
            changes,
          },
          now,
        );
      }
      return updated;
    });
    return this.toDto(row, true);
  }

  /** Cross-script duplicate check: see ./duplicates.service.ts. */
  async duplicates(
    actor: Actor,
    q: { legalName: string; dateOfBirth?: string; cursor?: string; limit: number },
    requestId: string,
  ) {
    return new DuplicatesService(this.app).find(actor, q.legalName, q.dateOfBirth, requestId, q);
  }
}
