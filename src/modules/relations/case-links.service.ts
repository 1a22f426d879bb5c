// Links between cases (same proceedings, same extradition request, related):
// two-way, one row per pair and kind. Linking needs edit access to the case in
// the path and sight of the other; a link shows only where the caller may see
// both cases; removing one needs edit access to either and sight of both.
// Each write is audited in both cases' logs.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError, fieldError } from '../../lib/app-error.ts';
import { iso } from '../../lib/http-schemas.ts';
import { query, sql } from '../../lib/sql.ts';
import type { Tx } from '../../db.ts';
import { appendAudit } from '../audit/audit.log.ts';
import { visibleCaseCondition } from '../access/visibility.ts';
import { authoriseCase, authoriseCaseRead, type CaseAccess } from '../../plugins/access.ts';
import type { Actor } from '../../plugins/auth.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';

// Oldest first, as linked.
const linkOrder = new Keyset<{ createdAt: Date; id: string }>('case-links', [
  { name: 'createdAt', kind: 'date', dir: 'asc', get: (r) => r.createdAt },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

type LinkRow = { id: string; caseId: string; otherCaseId: string; kind: string; createdAt: Date };

export class CaseLinksService {
  constructor(private readonly app: FastifyInstance) {}

  private async orNull(p: Promise<CaseAccess>): Promise<CaseAccess | null> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  private async audit(tx: Tx, actor: Actor, action: string, link: LinkRow, requestId: string, now: Date) {
    for (const caseId of [link.caseId, link.otherCaseId]) {
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action,
          entityType: 'case_link',
          entityId: link.id,
          caseId,
          requestId,
          changes: { caseId: link.caseId, otherCaseId: link.otherCaseId, kind: link.kind },
        },
        now,
      );
    }
  }

  async create(actor: Actor, caseId: string, input: { otherCaseId: string; kind: string }, requestId: string) {
    if (caseId === input.otherCaseId) throw fieldError('body.otherCaseId', 'a case cannot be linked to itself');
    const now = this.app.clock();
    const id = randomUUID();
    const { row, reference } = await this.app.db.$transaction(async (tx) => {
      await authoriseCase(tx, actor, caseId, 'edit');
      const other = await this.orNull(authoriseCase(tx, actor, input.otherCaseId, 'see'));
      if (!other) throw fieldError('body.otherCaseId', 'no such case visible to you');
      const [created] = await tx.$queryRaw<LinkRow[]>`
        INSERT INTO case_links (id, case_id, other_case_id, kind, created_by_id, created_at)
        VALUES (${id}::uuid, ${caseId}::uuid, ${input.otherCaseId}::uuid, ${input.kind}, ${actor.userId}::uuid, ${now}::timestamptz)
        ON CONFLICT DO NOTHING
        RETURNING id, case_id AS "caseId", other_case_id AS "otherCaseId", kind, created_at AS "createdAt"`;
      if (!created) throw new AppError('CONFLICT', 'These cases are already linked this way.');
      await this.audit(tx, actor, 'case_link.create', created, requestId, now);
      const k = await tx.case.findUniqueOrThrow({ where: { id: input.otherCaseId }, select: { reference: true } });
      return { row: created, reference: k.reference };
    });
    return this.toDto(row, caseId, reference);
  }

  private toDto(r: LinkRow, from: string, otherReference: string) {
    return {
      id: r.id,
      caseId: from,
      otherCaseId: r.caseId === from ? r.otherCaseId : r.caseId,
      otherReference,
      kind: r.kind as 'SAME_PROCEEDINGS' | 'SAME_REQUEST' | 'RELATED',
      createdAt: iso(r.createdAt),
    };
  }

  async list(actor: Actor, caseId: string, q: ListPage) {
    await authoriseCaseRead(this.app.sqlPool, actor, caseId);
    const rows = await query<LinkRow & { otherReference: string }>(
      this.app.sqlPool,
      sql`SELECT l.id, l.case_id AS "caseId", l.other_case_id AS "otherCaseId", l.kind, l.created_at AS "createdAt",
                 k.reference AS "otherReference"
          FROM case_links l
          JOIN cases k ON k.id = CASE WHEN l.case_id = ${caseId}::uuid THEN l.other_case_id ELSE l.case_id END
          WHERE (l.case_id = ${caseId}::uuid OR l.other_case_id = ${caseId}::uuid) AND ${visibleCaseCondition(actor)}
          ORDER BY l.created_at, l.id`,
    );
    const p = linkOrder.pageInMemory(rows, q.cursor, q.limit);
    return { items: p.rows.map((r) => this.toDto(r, caseId, r.otherReference)), nextCursor: p.nextCursor };
  }

  async remove(actor: Actor, id: string, requestId: string): Promise<void> {
    const now = this.app.clock();
    await this.app.db.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<LinkRow[]>`
        SELECT id, case_id AS "caseId", other_case_id AS "otherCaseId", kind, created_at AS "createdAt"
        FROM case_links WHERE id = ${id}::uuid FOR UPDATE`;
      const a = row ? await this.orNull(authoriseCase(tx, actor, row.caseId, 'see')) : null;
      const b = row ? await this.orNull(authoriseCase(tx, actor, row.otherCaseId, 'see')) : null;
      if (!row || !a || !b) throw new AppError('NOT_FOUND', 'Case link not found.');
      if (!a.canEdit && !b.canEdit) throw new AppError('FORBIDDEN', 'You may not change these cases.');
      await tx.$executeRaw`DELETE FROM case_links WHERE id = ${id}::uuid`;
      await this.audit(tx, actor, 'case_link.delete', row, requestId, now);
    });
  }
}
