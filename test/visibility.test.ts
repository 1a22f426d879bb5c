// The case-visibility rule exists in three forms (src/modules/access/visibility.ts):
// a Prisma WHERE (visibleCasesWhere: lists, authoriseCase), a SQL boolean over a
// users row and a cases row (caseVisibleToUserSql: reminder delivery) and a
// predicate over loaded facts (maySeeCase). Here, in a real database, every kind
// of user × every kind of case: the three forms and authoriseCase agree with
// each other and with the truth table written out below.
//   ADMIN, COORDINATOR  every case
//   CASEWORKER          the cases of their teams
//   LAWYER              the cases they are assigned to now (not ended; team membership gives nothing)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/generated/prisma/enums.ts';
import { AppError } from '../src/lib/app-error.ts';
import {
  caseVisibleToUserSql,
  maySeeCase,
  maySeePerson,
  visibleCaseCondition,
  visiblePeopleWhere,
  visibleCasesWhere,
  type Viewer,
} from '../src/modules/access/visibility.ts';
import { sql as sqlTag } from '../src/lib/sql.ts';
import { authoriseCase } from '../src/plugins/access.ts';
import {
  clientFor,
  createCase,
  createTeam,
  createUser,
  DEFAULT_PASSWORD,
  expectProblem,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';

type CaseKey = 'kA' | 'kA2' | 'kB';
const CASES: { key: CaseKey; label: string }[] = [
  { key: 'kA', label: 'case of team A with lawyers (now, ended, re-assigned)' },
  { key: 'kA2', label: 'case of team A without lawyers' },
  { key: 'kB', label: 'case of team B with lawyer B' },
];

type UserKey =
  | 'admin'
  | 'coordinator'
  | 'coordinatorInB'
  | 'cwA'
  | 'cwB'
  | 'cwAB'
  | 'cwNone'
  | 'cwAInactive'
  | 'lawyerNow'
  | 'lawyerEnded'
  | 'lawyerReassigned'
  | 'lawyerNever'
  | 'lawyerInTeamA'
  | 'lawyerB';

/** The truth table: which of the cases each user may see. */
const USERS: { key: UserKey; label: string; role: Role; sees: CaseKey[] }[] = [
  { key: 'admin', label: 'ADMIN', role: 'ADMIN', sees: ['kA', 'kA2', 'kB'] },
  { key: 'coordinator', label: 'COORDINATOR in no team', role: 'COORDINATOR', sees: ['kA', 'kA2', 'kB'] },
  { key: 'coordinatorInB', label: 'COORDINATOR in team B', role: 'COORDINATOR', sees: ['kA', 'kA2', 'kB'] },
  { key: 'cwA', label: "CASEWORKER in the case's team (A)", role: 'CASEWORKER', sees: ['kA', 'kA2'] },
  { key: 'cwB', label: 'CASEWORKER in another team (B)', role: 'CASEWORKER', sees: ['kB'] },
  { key: 'cwAB', label: 'CASEWORKER in teams A and B', role: 'CASEWORKER', sees: ['kA', 'kA2', 'kB'] },
  { key: 'cwNone', label: 'CASEWORKER in no team', role: 'CASEWORKER', sees: [] },
  // The rule has no notion of "active": an inactive user never gets a token (checked below).
  { key: 'cwAInactive', label: 'CASEWORKER in team A, deactivated', role: 'CASEWORKER', sees: ['kA', 'kA2'] },
  { key: 'lawyerNow', label: 'LAWYER assigned to kA now', role: 'LAWYER', sees: ['kA'] },
  { key: 'lawyerEnded', label: 'LAWYER whose assignment to kA ended', role: 'LAWYER', sees: [] },
  { key: 'lawyerReassigned', label: 'LAWYER assigned to kA, ended, assigned again', role: 'LAWYER', sees: ['kA'] },
  { key: 'lawyerNever', label: 'LAWYER never assigned', role: 'LAWYER', sees: [] },
  { key: 'lawyerInTeamA', label: 'LAWYER member of team A, never assigned', role: 'LAWYER', sees: [] },
  { key: 'lawyerB', label: 'LAWYER assigned to kB only', role: 'LAWYER', sees: ['kB'] },
];

const PAIRS = USERS.flatMap((u) =>
  CASES.map((k) => ({ user: u.key, kase: k.key, label: `${u.label} × ${k.label}`, expected: u.sees.includes(k.key) })),
);

let env: TestEnv;
const userIds = {} as Record<UserKey, string>;
const caseIds = {} as Record<CaseKey, string>;

beforeAll(async () => {
  env = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '1000' } });
  const teamA = await createTeam(env, ['AM', 'GE']);
  const teamB = await createTeam(env, ['AM', 'GE']);
  const cwA = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
  const cwB = await clientFor(env, 'CASEWORKER', { teamIds: [teamB] });
  userIds.cwA = cwA.userId;
  userIds.cwB = cwB.userId;
  const made: [UserKey, Role, string[]][] = [
    ['admin', 'ADMIN', []],
    ['coordinator', 'COORDINATOR', []],
    ['coordinatorInB', 'COORDINATOR', [teamB]],
    ['cwAB', 'CASEWORKER', [teamA, teamB]],
    ['cwNone', 'CASEWORKER', []],
    ['cwAInactive', 'CASEWORKER', [teamA]],
    ['lawyerNow', 'LAWYER', []],
    ['lawyerEnded', 'LAWYER', []],
    ['lawyerReassigned', 'LAWYER', []],
    ['lawyerNever', 'LAWYER', []],
    ['lawyerInTeamA', 'LAWYER', [teamA]],
    ['lawyerB', 'LAWYER', []],
  ];
  for (const [key, role, teamIds] of made) userIds[key] = (await createUser(env, role, { teamIds })).id;
  await env.db.user.update({ where: { id: userIds.cwAInactive }, data: { active: false } });

  caseIds.kA = (await createCase(cwA, teamA)).caseId;
  caseIds.kA2 = (await createCase(cwA, teamA)).caseId;
  caseIds.kB = (await createCase(cwB, teamB)).caseId;

  const assign = async (cw: Client, kase: CaseKey, lawyer: UserKey) => {
    const res = await cw.post(`/v1/cases/${caseIds[kase]}/assignments`, { lawyerId: userIds[lawyer], role: 'LEAD' });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const end = async (cw: Client, kase: CaseKey, assignmentId: string) => {
    const res = await cw.del(`/v1/cases/${caseIds[kase]}/assignments/${assignmentId}`);
    expect(res.statusCode, res.body).toBe(204);
  };
  await assign(cwA, 'kA', 'lawyerNow');
  await end(cwA, 'kA', await assign(cwA, 'kA', 'lawyerEnded'));
  await end(cwA, 'kA', await assign(cwA, 'kA', 'lawyerReassigned'));
  await assign(cwA, 'kA', 'lawyerReassigned');
  await assign(cwB, 'kB', 'lawyerB');
});
afterAll(async () => env?.close());

/** The caller as the API sees them: role and teams re-read from the database (src/plugins/auth.ts). */
async function viewerOf(userId: string): Promise<Viewer> {
  const u = await env.db.user.findUniqueOrThrow({
    where: { id: userId },
    select: { id: true, role: true, memberships: { select: { teamId: true } } },
  });
  return { userId: u.id, role: u.role, teamIds: u.memberships.map((m) => m.teamId) };
}

/** The five answers to "may this user see this case?". */
async function answers(userId: string, caseId: string) {
  const viewer = await viewerOf(userId);
  const prisma =
    (await env.db.case.findFirst({
      where: { AND: [{ id: caseId }, visibleCasesWhere(viewer)] },
      select: { id: true },
    })) !== null;
  const [row] = await env.sql<{ v: boolean }>(
    `SELECT ${caseVisibleToUserSql('u', 'k')} AS v FROM users u, cases k WHERE u.id = $1 AND k.id = $2`,
    [userId, caseId],
  );
  expect(row, 'the user and case rows exist').toBeDefined();
  // The per-viewer condition the hot read path (GET /v1/cases/:id) authorises with.
  const cond = sqlTag`SELECT count(*)::int AS n FROM cases k WHERE k.id = ${caseId}::uuid AND ${visibleCaseCondition(viewer)}`;
  const [{ n }] = await env.sql<{ n: number }>(cond.text, cond.values);
  const kase = await env.db.case.findUniqueOrThrow({ where: { id: caseId }, select: { teamId: true, personId: true } });
  // The case's person (one case each here): the Prisma form and the predicate over loaded facts.
  const personPrisma =
    (await env.db.person.findFirst({
      where: { AND: [{ id: kase.personId }, visiblePeopleWhere(viewer)] },
      select: { id: true },
    })) !== null;
  const person = await env.db.person.findUniqueOrThrow({
    where: { id: kase.personId },
    select: { createdById: true, cases: { select: { teamId: true, id: true } } },
  });
  const personFacts = await Promise.all(
    person.cases.map(async (c) => ({
      teamId: c.teamId,
      lawyerAssigned: (await env.db.assignment.count({ where: { caseId: c.id, lawyerId: userId, endedAt: null } })) > 0,
    })),
  );
  const personPredicate = maySeePerson(viewer, { createdById: person.createdById, cases: personFacts });
  const current = await env.db.assignment.count({ where: { caseId, lawyerId: userId, endedAt: null } });
  const predicate = maySeeCase(viewer, { teamId: kase.teamId, lawyerAssigned: current > 0 });
  const authorised = await authoriseCase(env.db, viewer, caseId, 'see').then(
    () => true,
    (e: unknown) => {
      // Hidden means 404 (existence not disclosed), never another error.
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).status).toBe(404);
      return false;
    },
  );
  return { viewer, prisma, sql: row.v, condition: n === 1, predicate, authorised, personPrisma, personPredicate };
}

describe('case visibility: the four forms and authoriseCase agree with the truth table', () => {
  it('the table covers every role, and every user × case pair', () => {
    expect(new Set(USERS.map((u) => u.role))).toEqual(new Set(Object.values(Role)));
    expect(PAIRS).toHaveLength(USERS.length * CASES.length);
    // Both outcomes occur for caseworkers and lawyers, so neither form can pass by always answering the same.
    for (const role of ['CASEWORKER', 'LAWYER'] as const) {
      const outcomes = new Set(
        PAIRS.filter((p) => USERS.find((u) => u.key === p.user)!.role === role).map((p) => p.expected),
      );
      expect(outcomes, role).toEqual(new Set([true, false]));
    }
  });

  for (const { user, kase, label, expected } of PAIRS) {
    it(`${label}: ${expected ? 'sees' : 'hidden'}`, async () => {
      const a = await answers(userIds[user], caseIds[kase]);
      expect({
        prisma: a.prisma,
        sql: a.sql,
        condition: a.condition,
        predicate: a.predicate,
        authoriseCase: a.authorised,
        personPrisma: a.personPrisma,
        personPredicate: a.personPredicate,
      }).toEqual({
        prisma: expected,
        sql: expected,
        condition: expected,
        predicate: expected,
        authoriseCase: expected,
        personPrisma: expected,
        personPredicate: expected,
      });
    });
  }

  for (const { user, kase, label } of PAIRS.filter((p) => p.expected)) {
    it(`${label}: authoriseCase 'edit' and legal data follow the role`, async () => {
      const viewer = await viewerOf(userIds[user]);
      const seen = await authoriseCase(env.db, viewer, caseIds[kase], 'see');
      expect(seen.id).toBe(caseIds[kase]);
      const coordinator = viewer.role === 'COORDINATOR';
      expect({ legal: seen.legal, canEdit: seen.canEdit }).toEqual({ legal: !coordinator, canEdit: !coordinator });
      const edit = authoriseCase(env.db, viewer, caseIds[kase], 'edit');
      if (coordinator) await expect(edit).rejects.toMatchObject({ status: 403 });
      else await expect(edit).resolves.toMatchObject({ id: caseIds[kase] });
    });
  }

  it("a hidden case is 404 for 'edit' too (never 403, which would disclose it)", async () => {
    const hidden = PAIRS.filter((p) => !p.expected);
    expect(hidden.length).toBeGreaterThan(0);
    for (const p of hidden) {
      await expect(
        authoriseCase(env.db, await viewerOf(userIds[p.user]), caseIds[p.kase], 'edit'),
        p.label,
      ).rejects.toMatchObject({ status: 404 });
    }
  });

  it('the deactivated caseworker cannot sign in, so no request of theirs reaches the rule', async () => {
    const [u] = await env.sql<{ email: string; active: boolean }>('SELECT email, active FROM users WHERE id = $1', [
      userIds.cwAInactive,
    ]);
    expect(u.active).toBe(false);
    expectProblem(
      await env.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: u.email, password: DEFAULT_PASSWORD },
      }),
      401,
    );
  });
});
