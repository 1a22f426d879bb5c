// GET /v1/cases/:id in one statement: authorise (the visibility rule as a
// condition, plus the lawyer-assignment fact), load the case with its person,
// and — for roles that read the legal data of every case they may see (all but
// coordinators: mayReadLegalData) — write the reveal's audit entry in a
// data-modifying CTE. One round trip instead of three (session, read, audit
// INSERT); the session comes from the cache. Figures: README (Benchmarks).
import type { Actor } from '../../plugins/auth.ts';
import { rawSql, sql, type SqlFragment } from '../../lib/sql.ts';
import { auditInsertFrom } from '../audit/audit.log.ts';
import { visibleCaseCondition } from '../access/visibility.ts';
import { PERSONAL_FIELDS } from '../people/people.service.ts';

/** True when reading a case this viewer may see reveals its person's legal data (mayReadLegalData's rule). */
export const revealsLegalData = (actor: Pick<Actor, 'role'>) => actor.role !== 'COORDINATOR';

export function caseReadStatement(actor: Actor, id: string, requestId: string, now: Date): SqlFragment {
  const audit = revealsLegalData(actor)
    ? sql`, a AS (${auditInsertFrom(
        'k',
        { entityId: 'k."personId"', caseId: 'k.id' },
        {
          actorId: actor.userId,
          action: 'person.read_personal',
          entityType: 'person',
          requestId,
          changes: { fields: [...PERSONAL_FIELDS] },
        },
        now,
      )})`
    : rawSql('');
  return sql`WITH k AS (
      SELECT k.id, k.reference, k.person_id AS "personId", k.team_id AS "teamId", k.host_country AS "hostCountry",
             k.status::text AS status, k.risk_level::text AS "riskLevel", k.summary,
             k.summary_enc AS "summaryEnc", k.version,
             k.created_at AS "createdAt", k.updated_at AS "updatedAt",
             EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = k.id AND a.lawyer_id = ${actor.userId}::uuid
                       AND a.ended_at IS NULL) AS "lawyerAssigned",
             json_build_object('id', p.id, 'pseudonym', p.pseudonym, 'legalNameEnc', p.legal_name_enc,
               'dateOfBirthEnc', p.date_of_birth_enc, 'contactsEnc', p.contacts_enc, 'notesEnc', p.notes_enc,
               'citizenship', p.citizenship, 'travelDocumentStatus', p.travel_document_status, 'tags', p.tags,
               'version', p.version, 'createdAt', p.created_at, 'updatedAt', p.updated_at) AS person
        FROM cases k JOIN people p ON p.id = k.person_id
       WHERE k.id = ${id}::uuid AND ${visibleCaseCondition(actor)})${audit}
    SELECT * FROM k`;
}
