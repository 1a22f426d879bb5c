// Case routes: POST /v1/cases (reference, version, ETag), GET /v1/cases/:id with
// its person, PATCH with If-Match (412 stale, 428 missing, 400 malformed), and
// that a rejected create writes nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  countRows,
  createCase,
  createTeam,
  expectProblem,
  personBody,
  setupTestEnv,
  writeSnapshot,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('cases', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM', 'GE']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('POST /v1/cases returns 201 with reference ARK-YYYY-NNNNNN, version 1 and an ETag', async () => {
    const person = (await cw.post('/v1/people', personBody())).json();
    const res = await cw.post('/v1/cases', {
      personId: person.id,
      teamId: team,
      hostCountry: 'GE',
      summary: '  Wanted on an interstate search  ',
      riskLevel: 'HIGH',
    });
    expect(res.statusCode, res.body).toBe(201);
    const c = res.json();
    expect(c.reference).toMatch(/^ARK-\d{4}-\d{6}$/);
    expect(c.reference.slice(4, 8)).toBe(String(new Date().getUTCFullYear()));
    expect(c.version).toBe(1);
    expect(res.headers.etag).toBe('"1"');
    expect(c.personId).toBe(person.id);
    expect(c.teamId).toBe(team);
    expect(c.hostCountry).toBe('GE');
    expect(c.status).toBe('OPEN');
    expect(c.riskLevel).toBe('HIGH');
    expect(c.summary).toBe('Wanted on an interstate search');
    const [row] = await env.sql<{ reference: string; version: number }>(
      'SELECT reference, version FROM cases WHERE id = $1',
      [c.id],
    );
    expect(row).toEqual({ reference: c.reference, version: 1 });
  });

  it('references are unique across cases', async () => {
    const a = await createCase(cw, team);
    const b = await createCase(cw, team);
    expect(a.reference).not.toBe(b.reference);
  });

  it('GET /v1/cases/:id returns the case with its person (legal data for the team caseworker) and an ETag', async () => {
    const c = await createCase(cw, team, 'AM');
    const res = await cw.get(`/v1/cases/${c.caseId}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"1"');
    const body = res.json();
    expect(body.id).toBe(c.caseId);
    expect(body.reference).toBe(c.reference);
    expect(body.person.id).toBe(c.personId);
    expect(body.person.legalDataVisible).toBe(true);
    expect(body.person.legalName).toBe(c.legalName);
    expect(body.person.dateOfBirth).toBe('1990-01-02');

    expectProblem(await cw.get(`/v1/cases/${randomUUID()}`), 404);
    expectProblem(await cw.get('/v1/cases/xyz'), 400, 'params.id');
  });

  it('PATCH /v1/cases/:id with If-Match changes status, riskLevel and summary; stale -> 412, missing -> 428, bad -> 400', async () => {
    const c = await createCase(cw, team);
    const res = await cw.patch(
      `/v1/cases/${c.caseId}`,
      { status: 'MONITORING', riskLevel: 'CRITICAL', summary: 'Released, under travel ban' },
      { 'if-match': '"1"' },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    const body = res.json();
    expect(body).toMatchObject({
      id: c.caseId,
      status: 'MONITORING',
      riskLevel: 'CRITICAL',
      summary: 'Released, under travel ban',
      version: 2,
    });

    const stale = expectProblem(
      await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }, { 'if-match': '"1"' }),
      412,
    );
    expect(stale.errors).toBeUndefined();
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }), 428);
    expectProblem(
      await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }, { 'if-match': 'abc' }),
      400,
      'headers.if-match',
    );
    expectProblem(
      await cw.patch(`/v1/cases/${c.caseId}`, { status: 'SHUT' }, { 'if-match': '"2"' }),
      400,
      'body.status',
    );
    expectProblem(
      await cw.patch(`/v1/cases/${c.caseId}`, { hostCountry: 'ge' }, { 'if-match': '"2"' }),
      400,
      'body.hostCountry',
    );
    expectProblem(
      await cw.patch(`/v1/cases/${c.caseId}`, { hostCountry: 'FR' }, { 'if-match': '"2"' }),
      400,
      'body.hostCountry',
    );
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { version: 2 }), 400);
    expectProblem(
      await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED', owner: 'x' }, { 'if-match': '"2"' }),
      400,
    );

    // none of the rejected requests changed the case
    const got = await cw.get(`/v1/cases/${c.caseId}`);
    expect(got.json()).toMatchObject({
      status: 'MONITORING',
      riskLevel: 'CRITICAL',
      summary: 'Released, under travel ban',
      version: 2,
    });
    expect(got.headers.etag).toBe('"2"');

    // summary can be cleared; body.version works instead of If-Match
    const cleared = await cw.patch(`/v1/cases/${c.caseId}`, { summary: null, version: 2 });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ summary: null, version: 3 });
  });

  it('POST /v1/cases with a host country the team does not cover -> 400 body.hostCountry and no case row', async () => {
    const person = (await cw.post('/v1/people', personBody())).json();
    const before = await writeSnapshot(env);
    expectProblem(
      await cw.post('/v1/cases', { personId: person.id, teamId: team, hostCountry: 'FR' }),
      400,
      'body.hostCountry',
    );
    expectProblem(
      await cw.post('/v1/cases', { personId: randomUUID(), teamId: team, hostCountry: 'AM' }),
      400,
      'body.personId',
    );
    expect(await writeSnapshot(env)).toEqual(before);
    expect(await countRows(env, 'cases', 'person_id = $1', [person.id])).toBe(0);
  });
});
