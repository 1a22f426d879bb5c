// Need-to-know, as data: the one rule of who sees which case, in the forms the
// code needs (a Prisma WHERE, a SQL boolean, a predicate over loaded facts).
//   ADMIN        sees and edits every case
//   CASEWORKER   sees and edits the cases of their teams
//   LAWYER       sees and edits the cases they are assigned to now
//   COORDINATOR  sees every case, never the person's legal data, edits none
// Pure: no database access here. src/plugins/access.ts applies the rule to
// requests; test/visibility.test.ts checks that the forms agree on every
// role × relation.
import type { Prisma } from '../../generated/prisma/client.ts';
import type { Role } from '../../generated/prisma/enums.ts';
import { rawSql, sql, type SqlFragment } from '../../lib/sql.ts';

/** The facts about a caller that visibility depends on. */
export type Viewer = { userId: string; role: Role; teamIds: readonly string[] };

/** The facts about one case that visibility depends on. */
export type CaseFacts = { teamId: string; lawyerAssigned: boolean };

/** The WHERE clause that limits a case query to what the viewer may see. */
export function visibleCasesWhere(viewer: Viewer): Prisma.CaseWhereInput {
  switch (viewer.role) {
    case 'ADMIN':
    case 'COORDINATOR':
      return {};
    case 'CASEWORKER':
      return { teamId: { in: [...viewer.teamIds] } };
    case 'LAWYER':
      return { assignments: { some: { lawyerId: viewer.userId, endedAt: null } } };
    default:
      return { id: { in: [] } };
  }
}

/** The same rule over facts already loaded. */
export function maySeeCase(viewer: Viewer, c: CaseFacts): boolean {
  switch (viewer.role) {
    case 'ADMIN':
    case 'COORDINATOR':
      return true;
    case 'CASEWORKER':
      return viewer.teamIds.includes(c.teamId);
    case 'LAWYER':
      return c.lawyerAssigned;
    default:
      return false;
  }
}

/** Legal name, birth date, contacts and event details: never for coordinators. */
export function mayReadLegalData(viewer: Viewer, c: CaseFacts): boolean {
  return viewer.role !== 'COORDINATOR' && maySeeCase(viewer, c);
}

/** Coordinators read; everyone else who may see a case may edit it. */
export function mayEditCase(viewer: Viewer, c: CaseFacts): boolean {
  return viewer.role !== 'COORDINATOR' && maySeeCase(viewer, c);
}

/**
 * People the viewer may see: through a visible case, or (caseworkers) ones they
 * registered that have no case yet. Once a case exists, only the case decides:
 * a caseworker who leaves the team, or whose person moves to another team's
 * case, loses access.
 */
export function visiblePeopleWhere(viewer: Viewer): Prisma.PersonWhereInput {
  if (viewer.role === 'ADMIN' || viewer.role === 'COORDINATOR') return {};
  const viaCase: Prisma.PersonWhereInput = { cases: { some: visibleCasesWhere(viewer) } };
  return viewer.role === 'CASEWORKER'
    ? { OR: [viaCase, { createdById: viewer.userId, cases: { none: {} } }] }
    : viaCase;
}

/** visiblePeopleWhere over facts already loaded: who registered the person, and each of their cases. */
export function maySeePerson(viewer: Viewer, p: { createdById: string | null; cases: readonly CaseFacts[] }): boolean {
  if (viewer.role === 'ADMIN' || viewer.role === 'COORDINATOR') return true;
  if (p.cases.some((c) => maySeeCase(viewer, c))) return true;
  return viewer.role === 'CASEWORKER' && p.createdById === viewer.userId && p.cases.length === 0;
}

/**
 * Deadlines on cases the user works on (assigned lawyer, team caseworker or
 * coordinator, or named assignee), never beyond what they may see: being named
 * assignee does not open a case (access can end after the assignment was made).
 */
export function myDeadlinesWhere(viewer: Viewer): Prisma.DeadlineWhereInput {
  const mine: Prisma.DeadlineWhereInput[] = [{ assigneeId: viewer.userId }];
  if (viewer.role === 'LAWYER') {
    mine.push({ case: { assignments: { some: { lawyerId: viewer.userId, endedAt: null } } } });
  }
  if (viewer.role === 'CASEWORKER' || viewer.role === 'COORDINATOR') {
    mine.push({ case: { teamId: { in: [...viewer.teamIds] } } });
  }
  return { AND: [{ OR: mine }, { case: visibleCasesWhere(viewer) }] };
}

/**
 * The rule as a SQL boolean over a user row and a case row (by their aliases),
 * for hot paths that check one user-case pair inside a larger statement
 * (reminder delivery checks the recipient's access as it claims). The user's
 * teams are read from team_members, as the API reads them into a Viewer.
 */
export function caseVisibleToUserSql(user = 'u', kase = 'k'): string {
  if (!/^[a-z_]+$/.test(user) || !/^[a-z_]+$/.test(kase)) throw new Error('aliases must be plain identifiers');
  return `CASE ${user}.role::text
    WHEN 'ADMIN' THEN true
    WHEN 'COORDINATOR' THEN true
    WHEN 'CASEWORKER' THEN EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_id = ${user}.id AND tm.team_id = ${kase}.team_id)
    WHEN 'LAWYER' THEN EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = ${kase}.id AND a.lawyer_id = ${user}.id AND a.ended_at IS NULL)
    ELSE false END`;
}

/**
 * The rule for one viewer as a SQL condition over a case row (alias `k`), for
 * hot paths that authorise and load in one statement (GET /v1/cases/:id).
 */
export function visibleCaseCondition(viewer: Viewer): SqlFragment {
  switch (viewer.role) {
    case 'ADMIN':
    case 'COORDINATOR':
      return rawSql('TRUE');
    case 'CASEWORKER':
      return sql`k.team_id = ANY(${[...viewer.teamIds]}::uuid[])`;
    case 'LAWYER':
      return sql`EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = k.id AND a.lawyer_id = ${viewer.userId}::uuid AND a.ended_at IS NULL)`;
    default:
      return rawSql('FALSE');
  }
}
