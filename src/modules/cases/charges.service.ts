// Charges of a case: create, list, update (If-Match), each write one transaction with its audit entry.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { appendAudit, diffChanges } from '../audit/audit.log.ts';
import { iso, isoDay } from '../../lib/http-schemas.ts';
import { authoriseCase, authoriseCaseRead } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { DeadlinesService } from '../deadlines/deadlines.service.ts';
import {
  caseOfRecord,
  existing,
  hiddenAsRecord,
  toDate,
  type ChargeInput,
  type ChargeRow,
  type NewCharge,
} from './case-records.shared.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';
import { unchanged } from '../../lib/no-op-patch.ts';

// Oldest first, as recorded.
const chargeOrder = new Keyset<{ createdAt: Date; id: string }>('charges', [
  { name: 'createdAt', kind: 'date', dir: 'asc', get: (r) => r.createdAt },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

export class ChargesService {
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
      treaty: c.treaty,
      version: c.version,
      createdAt: iso(c.createdAt),
      updatedAt: iso(c.updatedAt),
    };
  }

  async createCharge(actor: Actor, caseId: string, input: NewCharge, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      await authoriseCase(tx, actor, caseId, 'edit');
      const id = randomUUID();
      const row = await tx.charge.create({
        data: {
          id,
          caseId,
          ...input,
          filedOn: toDate(input.filedOn),
          createdAt: now,
        },
      });
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'charge.create',
          entityType: 'charge',
          entityId: id,
          caseId,
          requestId,
          changes: diffChanges(null, input),
        },
        now,
      );
      await this.deadlines.ensureCcfTask(tx, caseId, row.mechanism, actor.userId, requestId);
      // The request's legal basis decides which custody terms apply.
      if (row.treaty) await this.deadlines.recomputeTreatyBound(tx, caseId, actor.userId, requestId);
      return this.toChargeDto(row);
    });
  }

  async listCharges(actor: Actor, caseId: string, q: ListPage) {
    await authoriseCaseRead(this.app.sqlPool, actor, caseId);
    const rows = await this.app.db.charge.findMany({
      where: { AND: [{ caseId }, chargeOrder.where(q.cursor)] },
      orderBy: chargeOrder.orderBy(),
      take: q.limit + 1,
    });
    const p = chargeOrder.page(rows, q.limit);
    return { items: p.rows.map((r) => this.toChargeDto(r)), nextCursor: p.nextCursor };
  }

  /** One charge, for whoever may see its case. */
  async getCharge(actor: Actor, id: string) {
    const row = existing('charge', await this.app.db.charge.findUnique({ where: { id } }));
    await authoriseCaseRead(this.app.sqlPool, actor, row.caseId).catch(hiddenAsRecord('charge'));
    return this.toChargeDto(row);
  }

  async updateCharge(actor: Actor, id: string, patch: ChargeInput, expected: number, requestId: string) {
    const now = this.app.clock();
    return this.app.db.$transaction(async (tx) => {
      const access = await caseOfRecord(tx, actor, 'charge', id, 'edit');
      const before = await tx.charge.findUniqueOrThrow({ where: { id } });
      // Nothing changes: the same version, no write, no audit entry (a stale version is still 412).
      if (unchanged({ ...before, filedOn: isoDay(before.filedOn) }, patch)) {
        if (before.version !== expected) throw stale(expected, before.version);
        return this.toChargeDto(before);
      }
      const { count } = await tx.charge.updateMany({
        where: { id, version: expected },
        data: {
          ...patch,
          filedOn: toDate(patch.filedOn),
          version: { increment: 1 },
          updatedAt: now,
        },
      });
      if (count !== 1) throw stale(expected, before.version);
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'charge.update',
          entityType: 'charge',
          entityId: id,
          caseId: access.id,
          requestId,
          changes: diffChanges({ ...before, filedOn: isoDay(before.filedOn) }, patch),
        },
        now,
      );
      const after = await tx.charge.findUniqueOrThrow({ where: { id } });
      await this.deadlines.ensureCcfTask(tx, access.id, after.mechanism, actor.userId, requestId);
      if (after.treaty !== before.treaty) {
        await this.deadlines.recomputeTreatyBound(tx, access.id, actor.userId, requestId);
      }
      return this.toChargeDto(after);
    });
  }
}

const stale = (expected: number, current: number) =>
  new AppError('PRECONDITION_FAILED', `The charge has changed since version ${expected} (current version ${current}).`);
