// Charges, host-country events and lawyer assignments of a case, and the
// timeline that merges them. Every write is one transaction with its audit
// entry; every read goes through authoriseCase first.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Prisma } from '../../generated/prisma/client.ts';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit, diffChanges } from '../audit/audit.log.ts';
import type { Tx } from '../../db.ts';
import { iso, isoDay } from '../../lib/http-schemas.ts';
import { authoriseCase, requireTeamMember, type CaseAccess } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { DeadlinesService } from '../deadlines/deadlines.service.ts';
import { toDeadlineDto } from '../deadlines/deadlines.dto.ts';

type ChargeRow = Prisma.ChargeGetPayload<object>;
type EventRow = Prisma.EventGetPayload<object>;

const toDate = (d: string | null | undefined) => (d === undefined ? undefined : d === null ? null : new Date(d.length === 10 ? `${d}T00:00:00.000Z` : d));

export type ChargeInput = {
  issuingCountry?: string;
  code?: string;
  article?: string;
  category?: string;
  mechanism?: string;
  status?: string;
  filedOn?: string | null;
  politicalMotivation?: string | null;
};

export type EventInput = {
  type?: string;
  country?: string;
  occurredAt?: string;
  occurredAtPrecision?: 'DAY' | 'MONTH' | 'YEAR';
  city?: string | null;
  authority?: string | null;
  legalBasis?: string | null;
  outcome?: string | null;
  sourceUrls?: string[];
  details?: string | null;
  termDays?: number | null;
  verification?: string;
};

export class CaseRecordsService {
  private readonly deadlines: DeadlinesService;
  constructor(private readonly app: FastifyInstance) {
    this.deadlines = new DeadlinesService({ db: app.db, config: app.config, clock: app.clock, log: app.log });
  }

  toChargeDto(c: ChargeRow) {
    return {
      id: c.id,
      caseId: c.caseId,
      issuingCountry: c.issuingCountry,
      code: c.code,
      article: c.article,
      category: c.category,
      mechanism: c.mechanism,
      status: c.status,
      filedOn: isoDay(c.filedOn),
      politicalMotivation: c.politicalMotivation,
      version: c.version,
      createdAt: iso(c.createdAt),
      updatedAt: iso(c.updatedAt),
    };
  }

  private detailsRef(id: string) {
    return { table: 'events', column: 'details_enc', rowId: id };
  }

  toEventDto(e: EventRow, legal: boolean) {
    return {
      id: e.id,
      caseId: e.caseId,
      type: e.type,
      country: e.country,
      city: e.city,
      occurredAt: iso(e.occurredAt),
      occurredAtPrecision: e.occurredAtPrecision,
      authority: e.authority,
      legalBasis: e.legalBasis,
      outcome: e.outcome,
      sourceUrls: e.sourceUrls,
      detailsVisible: legal,
      ...(legal ? { details: this.app.crypto.decryptNullable(e.detailsEnc, this.detailsRef(e.id)) } : {}),
      termDays: e.termDays,
      verification: e.verification,
      version: e.version,
      createdAt: iso(e.createdAt),
      updatedAt: iso(e.updatedAt),
    };
  }

  /** Finds the case of a charge/event and authorises the actor on it (404 when not visible). */
  private async caseOf(tx: Tx, actor: Actor, table: 'charge' | 'event', id: string, mode: 'see' | 'edit'): Promise<CaseAccess> {
    const row = table === 'charge' ? await tx.charge.findUnique({ where: { id }, select: { caseId: true } }) : await tx.event.findUnique({ where: { id }, select: { caseId: true } });
    if (!row) throw new AppError('NOT_FOUND', `${table === 'charge' ? 'Charge' : 'Event'} not found.`);
    try {
      return await authoriseCase(tx, actor, row.caseId, mode);
    } catch (e) {
      if (e instanceof AppError && e.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', `${table === 'charge' ? 'Charge' : 'Event'} not found.`);
      throw e;
    }
  }

  // ---- charges ----

  async createCharge(actor: Actor, caseId: string, input: Required<Omit<ChargeInput, 'filedOn' | 'politicalMotivation'>> & ChargeInput, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      await authoriseCase(tx, actor, caseId, 'edit');
      const id = randomUUID();
      const row = await tx.charge.create({
        data: { id, caseId, ...input, filedOn: toDate(input.filedOn), createdAt: now } as Prisma.ChargeUncheckedCreateInput,
      });
      await appendAudit(tx, { actorId: actor.userId, action: 'charge.create', entityType: 'charge', entityId: id, caseId, requestId, changes: diffChanges(null, input) }, now);
      await this.deadlines.ensureCcfTask(tx, caseId, row.mechanism, actor.userId, requestId);
      return this.toChargeDto(row);
    });
  }

  async listCharges(actor: Actor, caseId: string) {
    await authoriseCase(this.app.db, actor, caseId, 'see');
    const rows = await this.app.db.charge.findMany({ where: { caseId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    return { items: rows.map((r) => this.toChargeDto(r)) };
  }

  async updateCharge(actor: Actor, id: string, patch: ChargeInput, expected: number, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await this.caseOf(tx, actor, 'charge', id, 'edit');
      const before = await tx.charge.findUniqueOrThrow({ where: { id } });
      const { count } = await tx.charge.updateMany({
        where: { id, version: expected },
        data: { ...patch, filedOn: toDate(patch.filedOn), version: { increment: 1 }, updatedAt: now } as Prisma.ChargeUncheckedUpdateManyInput,
      });
      if (count !== 1) throw new AppError('PRECONDITION_FAILED', `The charge has changed since version ${expected} (current version ${before.version}).`);
      await appendAudit(tx, { actorId: actor.userId, action: 'charge.update', entityType: 'charge', entityId: id, caseId: access.id, requestId, changes: diffChanges({ ...before, filedOn: isoDay(before.filedOn) }, patch) }, now);
      const after = await tx.charge.findUniqueOrThrow({ where: { id } });
      await this.deadlines.ensureCcfTask(tx, access.id, after.mechanism, actor.userId, requestId);
      return this.toChargeDto(after);
    });
  }

  // ---- events ----

  private eventData(id: string, input: EventInput) {
    const { details, occurredAt, ...rest } = input;
    return {
      ...rest,
      ...(occurredAt !== undefined ? { occurredAt: toDate(occurredAt) as Date } : {}),
      ...(details !== undefined ? { detailsEnc: this.app.crypto.encryptNullable(details, this.detailsRef(id)) } : {}),
    };
  }

  async createEvent(actor: Actor, caseId: string, input: EventInput & { type: string; country: string; occurredAt: string }, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await authoriseCase(tx, actor, caseId, 'edit');
      const id = randomUUID();
      const row = await tx.event.create({ data: { id, caseId, sourceUrls: [], ...this.eventData(id, input), createdAt: now } as Prisma.EventUncheckedCreateInput });
      await appendAudit(tx, { actorId: actor.userId, action: 'event.create', entityType: 'event', entityId: id, caseId, requestId, changes: diffChanges(null, input, ['details']) }, now);
      // Rule-made deadlines (and their reminders) commit with the event or not at all.
      await this.deadlines.recomputeForEvent(tx, id, actor.userId, requestId);
      return this.toEventDto(row, access.legal);
    });
  }

  async listEvents(actor: Actor, caseId: string, requestId: string) {
    const access = await authoriseCase(this.app.db, actor, caseId, 'see');
    const rows = await this.app.db.event.findMany({ where: { caseId }, orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }] });
    if (access.legal && rows.some((r) => r.detailsEnc)) {
      await appendAudit(this.app.db, { actorId: actor.userId, action: 'event.read_details', entityType: 'case', entityId: caseId, caseId, requestId, changes: { events: rows.filter((r) => r.detailsEnc).length } }, this.app.clock());
    }
    return { items: rows.map((r) => this.toEventDto(r, access.legal)) };
  }

  async updateEvent(actor: Actor, id: string, patch: EventInput, expected: number, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await this.caseOf(tx, actor, 'event', id, 'edit');
      const before = await tx.event.findUniqueOrThrow({ where: { id } });
      const { count } = await tx.event.updateMany({
        where: { id, version: expected },
        data: { ...this.eventData(id, patch), version: { increment: 1 }, updatedAt: now } as Prisma.EventUncheckedUpdateManyInput,
      });
      if (count !== 1) throw new AppError('PRECONDITION_FAILED', `The event has changed since version ${expected} (current version ${before.version}).`);
      const { detailsEnc: _omit, ...beforePlain } = before;
      await appendAudit(
        tx,
        { actorId: actor.userId, action: 'event.update', entityType: 'event', entityId: id, caseId: access.id, requestId, changes: diffChanges({ ...beforePlain, details: before.detailsEnc ? '(set)' : null }, patch, ['details']) },
        now,
      );
      await this.deadlines.recomputeForEvent(tx, id, actor.userId, requestId);
      return this.toEventDto(await tx.event.findUniqueOrThrow({ where: { id } }), access.legal);
    });
  }

  // ---- assignments ----

  toAssignmentDto(a: { id: string; caseId: string; lawyerId: string; role: 'LEAD' | 'SUPPORTING'; startedAt: Date; endedAt: Date | null; lawyer: { displayName: string } }) {
    return { id: a.id, caseId: a.caseId, lawyerId: a.lawyerId, lawyerName: a.lawyer.displayName, role: a.role, startedAt: iso(a.startedAt), endedAt: iso(a.endedAt) };
  }

  async assign(actor: Actor, caseId: string, input: { lawyerId: string; role: 'LEAD' | 'SUPPORTING' }, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await authoriseCase(tx, actor, caseId, 'edit');
      requireTeamMember(actor, access.teamId);
      const lawyer = await tx.user.findUnique({ where: { id: input.lawyerId }, select: { role: true, active: true } });
      if (!lawyer || lawyer.role !== 'LAWYER' || !lawyer.active) {
        throw new AppError('VALIDATION', 'lawyerId: not an active lawyer', { errors: [{ path: 'body.lawyerId', message: 'not an active user with the LAWYER role' }] });
      }
      const current = await tx.assignment.findFirst({ where: { caseId, lawyerId: input.lawyerId, endedAt: null }, select: { id: true } });
      if (current) throw new AppError('CONFLICT', 'This lawyer is already assigned to the case.');
      const id = randomUUID();
      const row = await tx.assignment.create({
        data: { id, caseId, lawyerId: input.lawyerId, role: input.role, startedAt: now, createdById: actor.userId },
        select: { id: true, caseId: true, lawyerId: true, role: true, startedAt: true, endedAt: true, lawyer: { select: { displayName: true } } },
      });
      await appendAudit(tx, { actorId: actor.userId, action: 'assignment.create', entityType: 'assignment', entityId: id, caseId, requestId, changes: diffChanges(null, input) }, now);
      await this.deadlines.onLawyerAssigned(tx, caseId, input.lawyerId);
      return this.toAssignmentDto(row);
    });
  }

  async endAssignment(actor: Actor, caseId: string, assignmentId: string, requestId: string) {
    const now = this.app.clock();
    await this.app.db.$transaction(async (tx) => {
      const access = await authoriseCase(tx, actor, caseId, 'edit');
      requireTeamMember(actor, access.teamId);
      const current = await tx.assignment.findFirst({ where: { id: assignmentId, caseId, endedAt: null }, select: { lawyerId: true } });
      const { count } = await tx.assignment.updateMany({ where: { id: assignmentId, caseId, endedAt: null }, data: { endedAt: now, endedById: actor.userId } });
      if (!count || !current) throw new AppError('NOT_FOUND', 'No current assignment with this id on the case.');
      await this.deadlines.onLawyerUnassigned(tx, caseId, current.lawyerId);
      await appendAudit(tx, { actorId: actor.userId, action: 'assignment.end', entityType: 'assignment', entityId: assignmentId, caseId, requestId }, now);
    });
  }

  async listAssignments(actor: Actor, caseId: string) {
    await authoriseCase(this.app.db, actor, caseId, 'see');
    const rows = await this.app.db.assignment.findMany({
      where: { caseId },
      orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
      select: { id: true, caseId: true, lawyerId: true, role: true, startedAt: true, endedAt: true, lawyer: { select: { displayName: true } } },
    });
    return { items: rows.map((r) => this.toAssignmentDto(r)) };
  }

  // ---- timeline ----

  async timeline(actor: Actor, caseId: string, requestId: string) {
    const access = await authoriseCase(this.app.db, actor, caseId, 'see');
    const [charges, events, assignments, deadlines] = await Promise.all([
      this.app.db.charge.findMany({ where: { caseId } }),
      this.app.db.event.findMany({ where: { caseId } }),
      this.app.db.assignment.findMany({ where: { caseId }, select: { id: true, caseId: true, lawyerId: true, role: true, startedAt: true, endedAt: true, lawyer: { select: { displayName: true } } } }),
      this.app.db.deadline.findMany({ where: { caseId } }),
    ]);
    if (access.legal && events.some((e) => e.detailsEnc)) {
      await appendAudit(this.app.db, { actorId: actor.userId, action: 'event.read_details', entityType: 'case', entityId: caseId, caseId, requestId, changes: { events: events.filter((e) => e.detailsEnc).length } }, this.app.clock());
    }
    const items = [
      ...charges.map((c) => ({ kind: 'charge' as const, at: c.filedOn ?? c.createdAt, id: c.id, summary: `${c.code} ${c.article} (${c.category}, ${c.mechanism})`, data: this.toChargeDto(c) })),
      ...events.map((e) => ({ kind: 'event' as const, at: e.occurredAt, id: e.id, summary: `${e.type} in ${e.city ? `${e.city}, ` : ''}${e.country}`, data: this.toEventDto(e, access.legal) })),
      ...assignments.flatMap((a) => {
        const dto = this.toAssignmentDto(a);
        const started = { kind: 'assignment_started' as const, at: a.startedAt, id: a.id, summary: `${a.lawyer.displayName} assigned (${a.role})`, data: dto };
        return a.endedAt ? [started, { kind: 'assignment_ended' as const, at: a.endedAt, id: a.id, summary: `${a.lawyer.displayName} assignment ended`, data: dto }] : [started];
      }),
      ...deadlines.map((d) => ({ kind: 'deadline' as const, at: d.dueAt, id: d.id, summary: `${d.status} ${d.kind}: ${d.title}`, data: toDeadlineDto(d) })),
    ].sort((x, y) => x.at.getTime() - y.at.getTime() || x.id.localeCompare(y.id));
    return { items: items.map((i) => ({ ...i, at: iso(i.at) })) };
  }
}
