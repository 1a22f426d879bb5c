// Host-country events of a case: create, list (details decrypted and the reveal audited), update
// (If-Match); deadlines are recomputed in the same transaction.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit, appendAuditSql, diffChanges } from '../audit/audit.log.ts';
import { iso, isoDay } from '../../lib/http-schemas.ts';
import { authoriseCase, authoriseCaseRead } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { DeadlinesService } from '../deadlines/deadlines.service.ts';
import { readSourceUrls, sourceUrlsColumns } from './event-sources.ts';
import { unchanged } from '../../lib/no-op-patch.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';

import { RULE_WARNINGS, toDeadlineDto } from '../deadlines/deadlines.dto.ts';
import {
  caseOfRecord,
  existing,
  hiddenAsRecord,
  toDate,
  type EventInput,
  type EventRow,
  type NewEvent,
} from './case-records.shared.ts';

// Oldest first, by when they happened.
const eventOrder = new Keyset<{ occurredAt: Date; id: string }>('events', [
  { name: 'occurredAt', kind: 'date', dir: 'asc', get: (r) => r.occurredAt },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

/** Fields that can name or locate the person: named in the audit log, never copied into it. */
const EVENT_FREE_TEXT = ['details', 'sourceUrls'] as const;

export class EventsService {
  private readonly deadlines: DeadlinesService;
  constructor(private readonly app: FastifyInstance) {
    this.deadlines = new DeadlinesService({ db: app.db, config: app.config, clock: app.clock, log: app.log });
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
      // Links can name the person: shown with the details only.
      sourceUrls: legal ? readSourceUrls(this.app.crypto, e) : [],
      detailsVisible: legal,
      ...(legal ? { details: this.app.crypto.decryptNullable(e.detailsEnc, this.detailsRef(e.id)) } : {}),
      termDays: e.termDays,
      isFinal: e.isFinal,
      servedOn: isoDay(e.servedOn),
      verification: e.verification,
      version: e.version,
      createdAt: iso(e.createdAt),
      updatedAt: iso(e.updatedAt),
    };
  }

  /** Decrypted event details were revealed: one audit entry for the read (none when no event has details). */
  async auditDetailsRead(actor: Actor, caseId: string, rows: readonly EventRow[], requestId: string) {
    const withDetails = rows.filter((r) => r.detailsEnc || r.sourceUrlsEnc || r.sourceUrls.length).length;
    if (!withDetails) return;
    await appendAuditSql(
      this.app.sqlPool,
      {
        actorId: actor.userId,
        action: 'event.read_details',
        entityType: 'case',
        entityId: caseId,
        caseId,
        requestId,
        changes: { events: withDetails },
      },
      this.app.clock(),
    );
  }

  private eventData(id: string, input: EventInput) {
    const { details, occurredAt, servedOn, sourceUrls, ...rest } = input;
    return {
      ...rest,
      ...(sourceUrls !== undefined ? sourceUrlsColumns(this.app.crypto, id, sourceUrls) : {}),
      ...(occurredAt !== undefined ? { occurredAt: toDate(occurredAt) } : {}),
      ...(servedOn !== undefined ? { servedOn: toDate(servedOn) } : {}),
      ...(details !== undefined ? { detailsEnc: this.app.crypto.encryptNullable(details, this.detailsRef(id)) } : {}),
    };
  }

  /** True when every field of the patch equals the stored event (dates and encrypted fields compared as sent). */
  private unchangedBy(before: EventRow, patch: EventInput): boolean {
    const { detailsEnc, sourceUrlsEnc: _enc, ...plain } = before;
    const stored = {
      ...plain,
      occurredAt: before.occurredAt.toISOString(),
      servedOn: isoDay(before.servedOn),
      details: this.app.crypto.decryptNullable(detailsEnc, this.detailsRef(before.id)),
      sourceUrls: readSourceUrls(this.app.crypto, before),
    };
    const sent = { ...patch, ...(patch.occurredAt ? { occurredAt: toDate(patch.occurredAt).toISOString() } : {}) };
    return unchanged(stored, sent);
  }

  async createEvent(actor: Actor, caseId: string, input: NewEvent, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await authoriseCase(tx, actor, caseId, 'edit');
      const id = randomUUID();
      const row = await tx.event.create({
        data: {
          id,
          caseId,
          sourceUrls: [],
          ...this.eventData(id, input),
          // Repeated from input so the create's required fields are typed as present.
          type: input.type,
          country: input.country,
          occurredAt: toDate(input.occurredAt),
          createdAt: now,
        },
      });
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'event.create',
          entityType: 'event',
          entityId: id,
          caseId,
          requestId,
          changes: diffChanges(null, input, EVENT_FREE_TEXT),
        },
        now,
      );
      // Rule-made deadlines (and their reminders) commit with the event or not at all.
      const made = await this.deadlines.recomputeForEvent(tx, id, actor.userId, requestId, undefined, {
        event: row,
        hostCountry: access.hostCountry,
      });
      // The 201 lists the deadlines the event made (most events make none: no extra read then).
      const deadlines = made.length
        ? await tx.deadline.findMany({ where: { id: { in: made } }, include: RULE_WARNINGS, orderBy: { dueAt: 'asc' } })
        : [];
      return { ...this.toEventDto(row, access.legal), deadlines: deadlines.map(toDeadlineDto) };
    });
  }

  async listEvents(actor: Actor, caseId: string, q: ListPage, requestId: string) {
    const access = await authoriseCaseRead(this.app.sqlPool, actor, caseId);
    const rows = await this.app.db.event.findMany({
      where: { AND: [{ caseId }, eventOrder.where(q.cursor)] },
      orderBy: eventOrder.orderBy(),
      take: q.limit + 1,
    });
    const p = eventOrder.page(rows, q.limit);
    // Only the page's details were revealed: the audit entry names those.
    if (access.legal) await this.auditDetailsRead(actor, caseId, p.rows, requestId);
    return { items: p.rows.map((r) => this.toEventDto(r, access.legal)), nextCursor: p.nextCursor };
  }

  /** One event (its details for those who may read them, the read audited like a list's). */
  async getEvent(actor: Actor, id: string, requestId: string) {
    // One read of the row; its case decides (the read path's plain-pg check, as lists use).
    const row = existing('event', await this.app.db.event.findUnique({ where: { id } }));
    const access = await authoriseCaseRead(this.app.sqlPool, actor, row.caseId).catch(hiddenAsRecord('event'));
    if (access.legal) await this.auditDetailsRead(actor, access.id, [row], requestId);
    return this.toEventDto(row, access.legal);
  }

  async updateEvent(actor: Actor, id: string, patch: EventInput, expected: number, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await caseOfRecord(tx, actor, 'event', id, 'edit');
      const before = await tx.event.findUniqueOrThrow({ where: { id } });
      // Nothing changes: the same version, no write, no audit entry, no recomputation (stale is still 412).
      if (this.unchangedBy(before, patch)) {
        if (before.version !== expected) throw staleEvent(expected, before.version);
        return this.toEventDto(before, access.legal);
      }
      const { count } = await tx.event.updateMany({
        where: { id, version: expected },
        data: {
          ...this.eventData(id, patch),
          version: { increment: 1 },
          updatedAt: now,
        },
      });
      if (count !== 1) throw staleEvent(expected, before.version);
      const { detailsEnc: _omit, sourceUrlsEnc: _omit2, ...beforePlain } = before;
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'event.update',
          entityType: 'event',
          entityId: id,
          caseId: access.id,
          requestId,
          changes: diffChanges(
            {
              ...beforePlain,
              details: before.detailsEnc ? '(set)' : null,
              sourceUrls: readSourceUrls(this.app.crypto, before),
            },
            patch,
            EVENT_FREE_TEXT,
          ),
        },
        now,
      );
      await this.deadlines.recomputeForEvent(tx, id, actor.userId, requestId);
      return this.toEventDto(await tx.event.findUniqueOrThrow({ where: { id } }), access.legal);
    });
  }
}

const staleEvent = (expected: number, current: number) =>
  new AppError('PRECONDITION_FAILED', `The event has changed since version ${expected} (current version ${current}).`);
