// Need-to-know access to cases, decided here and nowhere else.
//   ADMIN        sees and edits every case
//   CASEWORKER   sees and edits the cases of their teams
//   LAWYER       sees and edits the cases they are assigned to now
//   COORDINATOR  sees every case, never the person's legal data, edits none
// A case the caller may not see answers 404, so its existence is not disclosed.
import type { Prisma } from '../generated/prisma/client.ts';
import type { Tx } from '../db.ts';
import { AppError } from '../lib/app-error.ts';
import type { Actor } from './auth.ts';

export type CaseAccess = {
  id: string;
  teamId: string;
  personId: string;
  version: number;
  /** May read the person's legal data and event details. */
  legal: boolean;
  canEdit: boolean;
};

/** The WHERE clause that limits a case query to what the actor may see. */
export function visibleCasesWhere(actor: Actor): Prisma.CaseWhereInput {
  switch (actor.role) {
    case 'ADMIN':
    case 'COORDINATOR':
      return {};
    case 'CASEWORKER':
      return { teamId: { in: actor.teamIds } };
    case 'LAWYER':
      return { assignments: { some: { lawyerId: actor.userId, endedAt: null } } };
    default:
      return { id: { in: [] } };
  }
}

/**
 * People the actor may see: through a visible case, or (caseworkers) ones they
 * registered that have no case yet. Once a case exists, only the case decides:
 * a caseworker who leaves the team, or whose person moves to another team's
 * case, loses access.
 */
export function visiblePeopleWhere(actor: Actor): Prisma.PersonWhereInput {
  if (actor.role === 'ADMIN' || actor.role === 'COORDINATOR') return {};
  const viaCase: Prisma.PersonWhereInput = { cases: { some: visibleCasesWhere(actor) } };
  return actor.role === 'CASEWORKER' ? { OR: [viaCase, { createdById: actor.userId, cases: { none: {} } }] } : viaCase;
}

/**
 * The same visibility rule as visibleCasesWhere, as a SQL boolean over a user
 * row `u` and a case row `k`, for hot paths that check one user-case pair
 * inside a larger statement (reminder delivery). Keep the two in step:
 * test/security-fixes.test.ts checks the delivery path.
 */
export const CASE_VISIBLE_TO_USER_SQL = `CASE u.role::text
    WHEN 'ADMIN' THEN true
    WHEN 'COORDINATOR' THEN true
    WHEN 'CASEWORKER' THEN EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_id = u.id AND tm.team_id = k.team_id)
    WHEN 'LAWYER' THEN EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = k.id AND a.lawyer_id = u.id AND a.ended_at IS NULL)
    ELSE false END`;

export function mayReadLegalData(actor: Actor, c: { teamId: string; lawyerAssigned: boolean }): boolean {
  if (actor.role === 'ADMIN') return true;
  if (actor.role === 'CASEWORKER') return actor.teamIds.includes(c.teamId);
  if (actor.role === 'LAWYER') return c.lawyerAssigned;
  return false;
}

/**
 * Loads the case's access facts for the actor, or throws 404 when the actor
 * may not see it (403 when they may see but not edit, as coordinators).
 */
export async function authoriseCase(db: Tx, actor: Actor, caseId: string, mode: 'see' | 'edit'): Promise<CaseAccess> {
  const row = await db.case.findUnique({
    where: { id: caseId },
    select: {
      id: true,
      teamId: true,
      personId: true,
      version: true,
      assignments: { where: { lawyerId: actor.userId, endedAt: null }, select: { id: true }, take: 1 },
    },
  });
  if (!row) throw new AppError('NOT_FOUND', 'Case not found.');
  const assigned = row.assignments.length > 0;
  const sees =
    actor.role === 'ADMIN' ||
    actor.role === 'COORDINATOR' ||
    (actor.role === 'CASEWORKER' && actor.teamIds.includes(row.teamId)) ||
    (actor.role === 'LAWYER' && assigned);
  if (!sees) throw new AppError('NOT_FOUND', 'Case not found.');
  const canEdit = actor.role !== 'COORDINATOR';
  if (mode === 'edit' && !canEdit) throw new AppError('FORBIDDEN', 'Coordinators may read cases but not change them.');
  return {
    id: row.id,
    teamId: row.teamId,
    personId: row.personId,
    version: row.version,
    legal: mayReadLegalData(actor, { teamId: row.teamId, lawyerAssigned: assigned }),
    canEdit,
  };
}

/** Caseworkers manage assignments and open cases only for their own teams. */
export function requireTeamMember(actor: Actor, teamId: string): void {
  if (actor.role === 'ADMIN') return;
  if (actor.role === 'CASEWORKER' && actor.teamIds.includes(teamId)) return;
  throw new AppError('FORBIDDEN', 'Only caseworkers of the case\'s team or admins may do this.');
}
