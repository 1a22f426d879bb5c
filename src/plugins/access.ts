// Need-to-know applied to requests. The rule itself (who sees which case) is
// data in src/modules/access/visibility.ts; this file loads a case's facts for
// a caller in one statement and answers 404 when the caller may not see it,
// so a case's existence is not disclosed.
import type pg from 'pg';
import type { Tx } from '../db.ts';
import { AppError } from '../lib/app-error.ts';
import { query, sql } from '../lib/sql.ts';
import {
  mayEditCase,
  mayReadLegalData,
  maySeeCase,
  visibleCaseCondition,
  type Viewer,
} from '../modules/access/visibility.ts';

export { mayReadLegalData, visibleCasesWhere, visiblePeopleWhere } from '../modules/access/visibility.ts';

export type CaseAccess = {
  id: string;
  teamId: string;
  personId: string;
  hostCountry: string;
  version: number;
  /** May read the person's legal data and event details. */
  legal: boolean;
  canEdit: boolean;
};

type AccessRow = {
  id: string;
  teamId: string;
  personId: string;
  hostCountry: string;
  version: number;
  lawyerAssigned: boolean;
};

/** The case's access facts for one viewer, filtered by the visibility rule's SQL form: one statement. */
const accessStatement = (viewer: Viewer, caseId: string) =>
  sql`SELECT k.id, k.team_id AS "teamId", k.person_id AS "personId", k.host_country AS "hostCountry", k.version,
             EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = k.id AND a.lawyer_id = ${viewer.userId}::uuid
                       AND a.ended_at IS NULL) AS "lawyerAssigned"
        FROM cases k WHERE k.id = ${caseId}::uuid AND ${visibleCaseCondition(viewer)}`;

function decide(viewer: Viewer, row: AccessRow | undefined, mode: 'see' | 'edit'): CaseAccess {
  const facts = row ? { teamId: row.teamId, lawyerAssigned: row.lawyerAssigned } : null;
  if (!row || !facts || !maySeeCase(viewer, facts)) throw new AppError('NOT_FOUND', 'Case not found.');
  const canEdit = mayEditCase(viewer, facts);
  if (mode === 'edit' && !canEdit) throw new AppError('FORBIDDEN', 'Coordinators may read cases but not change them.');
  return {
    id: row.id,
    teamId: row.teamId,
    personId: row.personId,
    hostCountry: row.hostCountry,
    version: row.version,
    legal: mayReadLegalData(viewer, facts),
    canEdit,
  };
}

/**
 * Loads the case's access facts for the caller inside a transaction, or throws
 * 404 when the caller may not see it (403 when they may see but not edit, as
 * coordinators). The lookup is filtered by the visibility rule itself
 * (visibleCaseCondition, checked against visibleCasesWhere and the predicate in
 * visibility.test.ts), so this can never disagree with what lists show. One raw
 * statement: it was a Prisma findFirst with a nested relation (issue 10's
 * profile of POST /v1/cases/:id/events).
 */
export async function authoriseCase(db: Tx, viewer: Viewer, caseId: string, mode: 'see' | 'edit'): Promise<CaseAccess> {
  const q = accessStatement(viewer, caseId);
  const [row] = await db.$queryRawUnsafe<AccessRow[]>(q.text, ...q.values);
  return decide(viewer, row, mode);
}

/**
 * The same decision in one plain-pg statement, for reads outside a transaction
 * on the request path (lists and the timeline of a case): no ORM round trip.
 */
export async function authoriseCaseRead(pool: pg.Pool, viewer: Viewer, caseId: string): Promise<CaseAccess> {
  const [row] = await query<AccessRow>(pool, accessStatement(viewer, caseId));
  return decide(viewer, row, 'see');
}

/** Caseworkers manage assignments and open cases only for their own teams. */
export function requireTeamMember(viewer: Viewer, teamId: string): void {
  if (viewer.role === 'ADMIN') return;
  if (viewer.role === 'CASEWORKER' && viewer.teamIds.includes(teamId)) return;
  throw new AppError('FORBIDDEN', "Only caseworkers of the case's team or admins may do this.");
}
