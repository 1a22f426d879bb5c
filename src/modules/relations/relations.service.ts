// Relations between people (spouse, parent, co-defendant, …): stored once,
// read from both sides, need-to-know. A caller sees a relation only when they
// may see both people; creating or removing one needs that too, and is not for
// coordinators (who never see personal data; the note is personal). Audited.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { AppError, fieldError } from '../../lib/app-error.ts';
import { iso, isoDay } from '../../lib/http-schemas.ts';
import { query, sql } from '../../lib/sql.ts';
import { appendAudit, appendAuditSql } from '../audit/audit.log.ts';
import type { Actor } from '../../plugins/auth.ts';
import { visiblePeople } from './person-facts.ts';
import type { CreateRelationBody, RelationKind } from './relations.schemas.ts';
import { Keyset, type ListPage } from '../../lib/keyset.ts';

// Oldest first, as recorded.
const relationOrder = new Keyset<{ createdAt: Date; id: string }>('relations', [
  { name: 'createdAt', kind: 'date', dir: 'asc', get: (r) => r.createdAt },
  { name: 'id', kind: 'string', dir: 'asc', get: (r) => r.id },
]);

type Kind = z.infer<typeof RelationKind>;
type RelationRow = {
  id: string;
  personId: string;
  otherPersonId: string;
  kind: Kind;
  since: Date | null;
  until: Date | null;
  noteEnc: string | null;
  createdAt: Date;
};

/** The kind read from the other side: the parent's child is a child's parent. */
const INVERSE: Partial<Record<Kind, Kind>> = { PARENT: 'CHILD', CHILD: 'PARENT' };
const noteRef = (id: string) => ({ table: 'person_relations', column: 'note_enc', rowId: id });

export class RelationsService {
  constructor(private readonly app: FastifyInstance) {}

  private toDto(r: RelationRow, from: string, pseudonyms: Map<string, { pseudonym: string }>, personal: boolean) {
    const forward = r.personId === from;
    const other = forward ? r.otherPersonId : r.personId;
    return {
      id: r.id,
      personId: from,
      otherPersonId: other,
      otherPseudonym: pseudonyms.get(other)?.pseudonym ?? '',
      kind: forward ? r.kind : (INVERSE[r.kind] ?? r.kind),
      since: isoDay(r.since),
      until: isoDay(r.until),
      note: personal ? this.app.crypto.decryptNullable(r.noteEnc, noteRef(r.id)) : null,
      createdAt: iso(r.createdAt),
    };
  }

  async create(actor: Actor, personId: string, input: z.infer<typeof CreateRelationBody>, requestId: string) {
    if (personId === input.otherPersonId) {
      throw fieldError('body.otherPersonId', 'a person cannot be related to themselves');
    }
    const seen = await visiblePeople(this.app.sqlPool, actor, [personId, input.otherPersonId]);
    if (!seen.has(personId)) throw new AppError('NOT_FOUND', 'Person not found.');
    if (!seen.has(input.otherPersonId)) throw fieldError('body.otherPersonId', 'no such person visible to you');
    const id = randomUUID();
    const now = this.app.clock();
    const row = await this.app.db.$transaction(async (tx) => {
      const [created] = await tx.$queryRaw<RelationRow[]>`
        INSERT INTO person_relations (id, person_id, other_person_id, kind, since, until, note_enc, created_by_id, created_at)
        VALUES (${id}::uuid, ${personId}::uuid, ${input.otherPersonId}::uuid, ${input.kind}, ${input.since ?? null}::date,
                ${input.until ?? null}::date, ${this.app.crypto.encryptNullable(input.note, noteRef(id))},
                ${actor.userId}::uuid, ${now}::timestamptz)
        RETURNING id, person_id AS "personId", other_person_id AS "otherPersonId", kind, since, until,
                  note_enc AS "noteEnc", created_at AS "createdAt"`;
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'relation.create',
          entityType: 'person_relation',
          entityId: id,
          requestId,
          changes: { personId, otherPersonId: input.otherPersonId, kind: input.kind, note: { personal: true } },
        },
        now,
      );
      return created;
    });
    return this.toDto(row, personId, seen, true);
  }

  async list(actor: Actor, personId: string, requestId: string, q: ListPage) {
    const self = await visiblePeople(this.app.sqlPool, actor, [personId]);
    if (!self.has(personId)) throw new AppError('NOT_FOUND', 'Person not found.');
    const rows = await query<RelationRow>(
      this.app.sqlPool,
      sql`SELECT id, person_id AS "personId", other_person_id AS "otherPersonId", kind, since, until,
                 note_enc AS "noteEnc", created_at AS "createdAt"
          FROM person_relations WHERE person_id = ${personId}::uuid OR other_person_id = ${personId}::uuid
          ORDER BY created_at, id`,
    );
    const others = rows.map((r) => (r.personId === personId ? r.otherPersonId : r.personId));
    const seen = await visiblePeople(this.app.sqlPool, actor, others);
    // A relation to someone the caller may not see is left out (admins see everyone).
    const visible = rows.filter((r) => seen.has(r.personId === personId ? r.otherPersonId : r.personId));
    // One page of them; only the notes on it are shown (and audited as read).
    const p = relationOrder.pageInMemory(visible, q.cursor, q.limit);
    const kept = p.rows;
    const personal = actor.role !== 'COORDINATOR';
    if (personal && kept.some((r) => r.noteEnc)) {
      await appendAuditSql(
        this.app.sqlPool,
        {
          actorId: actor.userId,
          action: 'relation.read_notes',
          entityType: 'person',
          entityId: personId,
          requestId,
          changes: { relations: kept.filter((r) => r.noteEnc).map((r) => r.id) },
        },
        this.app.clock(),
      );
    }
    return { items: kept.map((r) => this.toDto(r, personId, seen, personal)), nextCursor: p.nextCursor };
  }

  async remove(actor: Actor, id: string, requestId: string): Promise<void> {
    const now = this.app.clock();
    await this.app.db.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<{ personId: string; otherPersonId: string; kind: string }[]>`
        SELECT person_id AS "personId", other_person_id AS "otherPersonId", kind
        FROM person_relations WHERE id = ${id}::uuid FOR UPDATE`;
      const seen = row ? await visiblePeople(this.app.sqlPool, actor, [row.personId, row.otherPersonId]) : null;
      if (!row || !seen?.has(row.personId) || !seen.has(row.otherPersonId)) {
        throw new AppError('NOT_FOUND', 'Relation not found.');
      }
      await tx.$executeRaw`DELETE FROM person_relations WHERE id = ${id}::uuid`;
      await appendAudit(
        tx,
        {
          actorId: actor.userId,
          action: 'relation.delete',
          entityType: 'person_relation',
          entityId: id,
          requestId,
          changes: { personId: row.personId, otherPersonId: row.otherPersonId, kind: row.kind },
        },
        now,
      );
    });
  }
}
