// Relations between people and links between cases: two-way reads (PARENT seen
// from the other side is CHILD), need-to-know (a relation or link shows only
// where the caller may see both ends; writes need sight of both and are not for
// coordinators), audit entries, and a concurrent duplicate link (one 201, one 409).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  countRows,
  createCase,
  createTeam,
  expectProblem,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
let teamA: string;
let teamB: string;
let cwA: Client;
let cwB: Client;
let admin: Client;
let coordinator: Client;
let lawyer: Client;
beforeAll(async () => {
  env = await setupTestEnv();
  teamA = await createTeam(env, ['AM']);
  teamB = await createTeam(env, ['GE']);
  cwA = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
  cwB = await clientFor(env, 'CASEWORKER', { teamIds: [teamB] });
  admin = await clientFor(env, 'ADMIN');
  coordinator = await clientFor(env, 'COORDINATOR');
  lawyer = await clientFor(env, 'LAWYER');
});
afterAll(async () => env?.close());

describe('person relations', () => {
  it('two-way, with the kind read from each side; the note is encrypted, audited', async () => {
    const parent = await createCase(cwA, teamA);
    const child = await createCase(cwA, teamA);
    const res = await cwA.post(`/v1/people/${child.personId}/relations`, {
      otherPersonId: parent.personId,
      kind: 'PARENT',
      since: '1990-01-01',
      note: 'lives in Yerevan with the family',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ personId: child.personId, otherPersonId: parent.personId, kind: 'PARENT' });
    const fromParent = await cwA.get(`/v1/people/${parent.personId}/relations`);
    expect(fromParent.json().items).toEqual([
      expect.objectContaining({
        id: res.json().id,
        otherPersonId: child.personId,
        kind: 'CHILD',
        since: '1990-01-01',
        note: 'lives in Yerevan with the family',
      }),
    ]);
    const [row] = await env.sql<Record<string, unknown>>('SELECT * FROM person_relations WHERE id = $1', [
      res.json().id,
    ]);
    expect(JSON.stringify(row)).not.toContain('Yerevan');
    // Coordinators see the relation, not the note.
    const coord = await coordinator.get(`/v1/people/${parent.personId}/relations`);
    expect(coord.json().items[0].note).toBeNull();
    expect(
      await countRows(env, 'audit_entries', "action = 'relation.create' AND entity_id = $1", [res.json().id]),
    ).toBe(1);
    expectProblem(
      await cwA.post(`/v1/people/${child.personId}/relations`, { otherPersonId: child.personId, kind: 'OTHER' }),
      400,
      'body.otherPersonId',
    );
    expectProblem(
      await cwA.post(`/v1/people/${child.personId}/relations`, { otherPersonId: parent.personId, kind: 'FRIEND' }),
      400,
      'body.kind',
    );
  });

  it("another team's person: 404 on its path, 400 as the other end, hidden from lists; writes refused to coordinators and lawyers", async () => {
    const mine = await createCase(cwA, teamA);
    const theirs = await createCase(cwB, teamB, 'GE');
    expectProblem(
      await cwA.post(`/v1/people/${mine.personId}/relations`, { otherPersonId: theirs.personId, kind: 'SIBLING' }),
      400,
      'body.otherPersonId',
    );
    expectProblem(
      await cwA.post(`/v1/people/${theirs.personId}/relations`, { otherPersonId: mine.personId, kind: 'SIBLING' }),
      404,
    );
    expectProblem(await cwA.get(`/v1/people/${theirs.personId}/relations`), 404);
    expectProblem(
      await coordinator.post(`/v1/people/${mine.personId}/relations`, {
        otherPersonId: theirs.personId,
        kind: 'SIBLING',
      }),
      403,
    );
    expectProblem(
      await lawyer.post(`/v1/people/${mine.personId}/relations`, { otherPersonId: theirs.personId, kind: 'SIBLING' }),
      404,
    );
    // An admin relates them; each team sees nothing of the other's person.
    const rel = await admin.post(`/v1/people/${mine.personId}/relations`, {
      otherPersonId: theirs.personId,
      kind: 'CO_DEFENDANT',
    });
    expect(rel.statusCode, rel.body).toBe(201);
    const seenByA = await cwA.get(`/v1/people/${mine.personId}/relations`);
    expect(seenByA.json().items).toEqual([]);
    expect(seenByA.body).not.toContain(theirs.personId);
    expect((await admin.get(`/v1/people/${mine.personId}/relations`)).json().items).toHaveLength(1);
    // Removing needs sight of both: 404 for the team, 204 for an admin.
    expectProblem(await cwA.del(`/v1/relations/${rel.json().id}`), 404);
    expectProblem(await coordinator.del(`/v1/relations/${rel.json().id}`), 403);
    expect((await admin.del(`/v1/relations/${rel.json().id}`)).statusCode).toBe(204);
    expectProblem(await admin.del(`/v1/relations/${rel.json().id}`), 404);
    expect(
      await countRows(env, 'audit_entries', "action = 'relation.delete' AND entity_id = $1", [rel.json().id]),
    ).toBe(1);
  });
});

describe('case links', () => {
  it('two-way, audited in both cases; the same link twice at once: one 201, one 409', async () => {
    const a = await createCase(cwA, teamA);
    const b = await createCase(cwA, teamA);
    const [r1, r2] = await Promise.all([
      cwA.post(`/v1/cases/${a.caseId}/links`, { otherCaseId: b.caseId, kind: 'SAME_PROCEEDINGS' }),
      cwA.post(`/v1/cases/${b.caseId}/links`, { otherCaseId: a.caseId, kind: 'SAME_PROCEEDINGS' }),
    ]);
    expect([r1.statusCode, r2.statusCode].sort()).toEqual([201, 409]);
    const created = (r1.statusCode === 201 ? r1 : r2).json();
    const fromB = await cwA.get(`/v1/cases/${b.caseId}/links`);
    expect(fromB.json().items).toEqual([
      expect.objectContaining({ id: created.id, caseId: b.caseId, otherCaseId: a.caseId, otherReference: a.reference }),
    ]);
    expect((await coordinator.get(`/v1/cases/${a.caseId}/links`)).json().items).toHaveLength(1);
    expect(await countRows(env, 'audit_entries', "action = 'case_link.create' AND entity_id = $1", [created.id])).toBe(
      2,
    );
    expect((await cwA.post(`/v1/cases/${a.caseId}/links`, { otherCaseId: b.caseId, kind: 'RELATED' })).statusCode).toBe(
      201,
    );
    expect((await cwA.del(`/v1/case-links/${created.id}`)).statusCode).toBe(204);
    expect((await cwA.get(`/v1/cases/${a.caseId}/links`)).json().items.map((l: { kind: string }) => l.kind)).toEqual([
      'RELATED',
    ]);
  });

  it("another team's case: 404 on its path, 400 as the other end, hidden from lists; coordinators may not write", async () => {
    const mine = await createCase(cwA, teamA);
    const theirs = await createCase(cwB, teamB, 'GE');
    expectProblem(
      await cwA.post(`/v1/cases/${mine.caseId}/links`, { otherCaseId: theirs.caseId, kind: 'RELATED' }),
      400,
      'body.otherCaseId',
    );
    expectProblem(
      await cwA.post(`/v1/cases/${theirs.caseId}/links`, { otherCaseId: mine.caseId, kind: 'RELATED' }),
      404,
    );
    expectProblem(await cwA.get(`/v1/cases/${theirs.caseId}/links`), 404);
    expectProblem(await lawyer.get(`/v1/cases/${mine.caseId}/links`), 404);
    expectProblem(
      await coordinator.post(`/v1/cases/${mine.caseId}/links`, { otherCaseId: theirs.caseId, kind: 'RELATED' }),
      403,
    );
    const link = await admin.post(`/v1/cases/${mine.caseId}/links`, {
      otherCaseId: theirs.caseId,
      kind: 'SAME_REQUEST',
    });
    expect(link.statusCode, link.body).toBe(201);
    const listed = await cwA.get(`/v1/cases/${mine.caseId}/links`);
    expect(listed.json().items).toEqual([]);
    expect(listed.body).not.toContain(theirs.reference);
    expectProblem(await cwA.del(`/v1/case-links/${link.json().id}`), 404);
    expectProblem(await coordinator.del(`/v1/case-links/${link.json().id}`), 403);
    expect((await admin.del(`/v1/case-links/${link.json().id}`)).statusCode).toBe(204);
  });
});
