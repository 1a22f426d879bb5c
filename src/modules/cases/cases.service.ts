import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Prisma } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit, diffChanges } from '../audit/audit.log.ts';
import { iso } from '../../lib/http-schemas.ts';
import { afterCursor, decodeCursor, literalContains, page } from '../../lib/pagination.ts';
import { unchanged } from '../../lib/no-op-patch.ts';
import { authoriseCase, requireTeamMember, visibleCasesWhere, visiblePeopleWhere } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { PeopleService, type PersonRow } from '../people/people.service.ts';
import { query } from '../../lib/sql.ts';
import { caseReadStatement, revealsLegalData } from './case-read.sql.ts';
import { mayReadLegalData, maySeeCase } from '../access/visibility.ts';
import { DeadlinesService } from '../deadlines/deadlines.service.ts';
import type { CaseDto } from './cases.schemas.ts';
import { readSummary, summaryColumns, summaryTerm, summaryWords } from './case-summary.ts';

const caseSelect = {
  id: true,
  reference: true,
  personId: true,
  teamId: true,
  hostCountry: true,
  status: true,
  riskLevel: true,
  summary: true,
  summaryEnc: true,
  version: true,
  createdAt: true,
  updatedAt: true,
} as const;

type CaseRow = Prisma.CaseGetPayload<{ select: typeof caseSelect }>;

/** The one-statement read of GET /v1/cases/:id: the person arrives as JSON (dates as strings). */
type CaseWithPersonRow = CaseRow & {
  lawyerAssigned: boolean;
  person: Omit<PersonRow, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };
};

/** `summary` is the plain text the caller may see (readSummary; null for coordinators). */
export function toCaseDto(c: Omit<CaseRow, 'summary' | 'summaryEnc'>, summary: string | null): CaseDto {
  return {
    id: c.id,
    reference: c.reference,
    personId: c.personId,
    teamId: c.teamId,
    hostCountry: c.hostCountry,
    status: c.status,
    riskLevel: c.riskLevel,
    summary,
    version: c.version,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

/** The summary is free text that can describe the person: named in the audit log, never copied into it. */
const CASE_FREE_TEXT = ['summary'] as const;

export type CaseInput = {
  personId: string;
  teamId: string;
  hostCountry: string;
  summary?: string;
  riskLevel?: CaseDto['riskLevel'];
  status?: CaseDto['status'];
};
export type CasePatch = {
  hostCountry?: string;
  status?: CaseDto['status'];
  riskLevel?: CaseDto['riskLevel'];
  summary?: string | null;
};

export class CasesService {
  private readonly people: PeopleService;
  constructor(private readonly app: FastifyInstance) {
    this.people = new PeopleService(app);
  }

  async create(actor: Actor, input: CaseInput, requestId: string): Promise<CaseDto> {
    requireTeamMember(actor, input.teamId);
    const now = this.app.clock();
    const id = randomUUID();
    const row = await this.app.db.$transaction(async (tx) => {
      const team = await tx.team.findUnique({ where: { id: input.teamId }, select: { countries: true } });
      if (!team) {
        throw new AppError('VALIDATION', 'teamId: no such team', {
          errors: [{ path: 'body.teamId', message: 'no such team' }],
        });
      }
      if (!team.countries.includes(input.hostCountry)) {
        throw new AppError('VALIDATION', `hostCountry: the team covers ${team.countries.join(', ')}`, {
          errors: [{ path: 'body.hostCountry', message: `not a country of this team (${team.countries.join(', ')})` }],
        });
      }
      const person = await tx.person.findFirst({
        where: { AND: [{ id: input.personId }, visiblePeopleWhere(actor)] },
        select: { id: true },
      });
      if (!person) {
        throw new AppError('VALIDATION', 'personId: no such person visible to you', {
          errors: [{ path: 'body.personId', message: 'no such person visible to you' }],
        });
      }
      const [{ n }] = await tx.$queryRaw<{ n: bigint }[]>`SELECT nextval('case_reference_seq') AS n`;
      const reference = `ARK-${now.getUTCFullYear()}-${String(n).padStart(6, '0')}`;
      const created = await tx.case.create({
        data: {
          id,
          reference,
          personId: input.personId,
          teamId: input.teamId,
          hostCountry: input.hostCountry,
          ...summaryColumns(this.app.crypto, id, input.summary ?? null),
          riskLevel: input.riskLevel,
          status: input.status,
          createdById: actor.userId,
          createdAt: now,
        },
        select: caseSelect,
      });
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'case.create',
          entityType: 'case',
          entityId: id,
          caseId: id,
          requestId,
          changes: diffChanges(null, { ...input, reference }, CASE_FREE_TEXT),
        },
        now,
      );
      return created;
    });
    return this.dto(row, actor);
  }

  /** The DTO as this caller may see it: coordinators never get the summary. */
  private dto(row: CaseRow, actor: Actor): CaseDto {
    return toCaseDto(row, actor.role === 'COORDINATOR' ? null : readSummary(this.app.crypto, row));
  }

  async get(actor: Actor, id: string, requestId: string): Promise<CaseDto> {
    const revealed = revealsLegalData(actor);
    const [row] = await query<CaseWithPersonRow>(
      this.app.sqlPool,
      caseReadStatement(actor, id, requestId, this.app.clock()),
    );
    const facts = row ? { teamId: row.teamId, lawyerAssigned: row.lawyerAssigned } : null;
    if (!row || !facts || !maySeeCase(actor, facts)) throw new AppError('NOT_FOUND', 'Case not found.');
    const legal = mayReadLegalData(actor, facts);
    const p = row.person;
    const person = this.people.toDto(
      { ...p, createdAt: new Date(p.createdAt), updatedAt: new Date(p.updatedAt) },
      legal,
    );
    // The statement audited exactly the reads that reveal (the predicate and the SQL agree: visibility.test.ts).
    if (legal !== revealed) throw new Error('case read: legal-data decision and audited reveal disagree');
    return { ...this.dto(row, actor), person };
  }

  async list(
    actor: Actor,
    q: {
      cursor?: string;
      limit: number;
      hostCountry?: string;
      status?: CaseDto['status'];
      riskLevel?: CaseDto['riskLevel'];
      assignedTo?: string;
      teamId?: string;
      q?: string;
    },
  ) {
    const where: Prisma.CaseWhereInput = {
      AND: [
        visibleCasesWhere(actor),
        afterCursor(decodeCursor(q.cursor)),
        q.hostCountry ? { hostCountry: q.hostCountry } : {},
        q.status ? { status: q.status } : {},
        q.riskLevel ? { riskLevel: q.riskLevel } : {},
        q.teamId ? { teamId: q.teamId } : {},
        q.assignedTo ? { assignments: { some: { lawyerId: q.assignedTo, endedAt: null } } } : {},
        q.q
          ? {
              OR: [
                { reference: { contains: literalContains(q.q), mode: 'insensitive' } },
                // Whole words of the encrypted summary, through its keyed word index.
                ...(summaryWords(q.q).length
                  ? [{ summaryTerms: { hasEvery: summaryWords(q.q).map((w) => summaryTerm(this.app.crypto, w)) } }]
                  : []),
                { person: { pseudonym: { contains: literalContains(q.q), mode: 'insensitive' } } },
              ],
            }
          : {},
      ],
    };
    const rows = await this.app.db.case.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
      select: { ...caseSelect, person: { select: { pseudonym: true } } },
    });
    const p = page(rows, q.limit);
    return {
      items: p.rows.map((r) => ({ ...this.dto(r, actor), pseudonym: r.person.pseudonym })),
      nextCursor: p.nextCursor,
    };
  }

  async update(actor: Actor, id: string, patch: CasePatch, expected: number, requestId: string): Promise<CaseDto> {
    const now = this.app.clock();
    const row = await this.app.db.$transaction(async (tx) => {
      const access = await authoriseCase(tx, actor, id, 'edit');
      const before = await tx.case.findUniqueOrThrow({ where: { id }, select: caseSelect });
      // Nothing changes: the same version, no write, no audit entry (a stale version is still 412).
      if (unchanged({ ...before, summary: readSummary(this.app.crypto, before) }, patch)) {
        if (before.version !== expected) throw staleCase(expected, before.version);
        return before;
      }
      if (patch.hostCountry && patch.hostCountry !== before.hostCountry) {
        const team = await tx.team.findUniqueOrThrow({ where: { id: access.teamId }, select: { countries: true } });
        if (!team.countries.includes(patch.hostCountry)) {
          throw new AppError('VALIDATION', "hostCountry: not a country of the case's team", {
            errors: [
              { path: 'body.hostCountry', message: `not a country of this team (${team.countries.join(', ')})` },
            ],
          });
        }
      }
      // Optimistic concurrency: the write happens only if nobody changed the
      // case since the caller read `expected`.
      const { summary, ...rest } = patch;
      const { count } = await tx.case.updateMany({
        where: { id, version: expected },
        data: {
          ...rest,
          ...(summary !== undefined ? summaryColumns(this.app.crypto, id, summary) : {}),
          version: { increment: 1 },
          updatedAt: now,
        },
      });
      if (count !== 1) throw staleCase(expected, before.version);
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'case.update',
          entityType: 'case',
          entityId: id,
          caseId: id,
          requestId,
          changes: diffChanges({ ...before, summary: readSummary(this.app.crypto, before) }, patch, CASE_FREE_TEXT),
        },
        now,
      );
      if (patch.hostCountry && patch.hostCountry !== before.hostCountry) {
        // Other country, other law and time zone: recompute every rule-made deadline.
        const deadlines = new DeadlinesService({ db: this.app.db, config: this.app.config, clock: this.app.clock });
        const events = await tx.event.findMany({ where: { caseId: id }, select: { id: true } });
        for (const e of events) await deadlines.recomputeForEvent(tx, e.id, actor.userId, requestId);
      }
      return tx.case.findUniqueOrThrow({ where: { id }, select: caseSelect });
    });
    return this.dto(row, actor);
  }
}

const staleCase = (expected: number, current: number) =>
  new AppError(
    'PRECONDITION_FAILED',
    `The case has changed since version ${expected}; reload it (current version ${current}).`,
  );
