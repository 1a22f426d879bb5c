// GET /v1/cases/:id authorises, loads and writes its audit entry in one
// statement: exactly one entry per read that reveals legal data, none for a
// refused read or a coordinator's, also when many reads run at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createCase,
  createTeam,
  expectProblem,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
let cw: Client;
let caseId: string;
let personId: string;
let teamId: string;

const reveals = async () =>
  Number(
    (
      await env.sql<{ n: string }>(
        `SELECT count(*) AS n FROM audit_entries WHERE action = 'person.read_personal' AND case_id = $1`,
        [caseId],
      )
    )[0].n,
  );

beforeAll(async () => {
  env = await setupTestEnv();
  teamId = await createTeam(env);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  ({ caseId, personId } = await createCase(cw, teamId));
});
afterAll(async () => env?.close());

describe('the case read and its audit entry, one statement', () => {
  it('refused reads and coordinators write nothing; a caseworker of the team writes one entry per read', async () => {
    const otherTeam = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env)] });
    const lawyer = await clientFor(env, 'LAWYER');
    const coordinator = await clientFor(env, 'COORDINATOR');
    const n0 = await reveals();
    expectProblem(await otherTeam.get(`/v1/cases/${caseId}`), 404);
    expectProblem(await lawyer.get(`/v1/cases/${caseId}`), 404);
    expect((await coordinator.get(`/v1/cases/${caseId}`)).json().person.legalDataVisible).toBe(false);
    expect(await reveals()).toBe(n0);

    const read = await cw.get(`/v1/cases/${caseId}`);
    expect(read.statusCode).toBe(200);
    expect(read.json().person.legalDataVisible).toBe(true);
    const [entry] = await env.sql<{ entity_id: string; actor_id: string; chain: string; request_id: string }>(
      `SELECT entity_id, actor_id, chain, request_id FROM audit_entries
        WHERE action = 'person.read_personal' AND case_id = $1 ORDER BY id DESC LIMIT 1`,
      [caseId],
    );
    expect(entry).toEqual({
      entity_id: personId,
      actor_id: cw.userId,
      chain: caseId,
      request_id: read.headers['x-request-id'],
    });
    expect(await reveals()).toBe(n0 + 1);
  });

  it('an assigned lawyer reveals too; 25 parallel reads write 25 entries', async () => {
    const lawyer = await clientFor(env, 'LAWYER');
    const assign = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
    expect(assign.statusCode).toBe(201);
    const n0 = await reveals();
    const res = await Promise.all(
      Array.from({ length: 25 }, (_, i) => (i % 2 ? cw : lawyer).get(`/v1/cases/${caseId}`)),
    );
    expect(res.map((r) => r.statusCode)).toEqual(Array(25).fill(200));
    expect(await reveals()).toBe(n0 + 25);
  });
});
