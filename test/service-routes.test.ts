// Service routes that need no token: liveness, readiness (PostgreSQL and, when
// configured, Redis) and the OpenAPI 3.1 document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('service routes', () => {
  it('GET /health/live -> 200 {status: ok} without a token', async () => {
    const res = await env.app.inject({ url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /health/ready -> 200 with checks.postgres ok', async () => {
    const res = await env.app.inject({ url: '/health/ready' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ok');
    expect(body.checks.postgres).toBe('ok');
    expect(['ok', 'not-configured']).toContain(body.checks.redis);
  });

  it('GET /docs/json is an OpenAPI 3.1 document with the contract paths', async () => {
    const res = await env.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/cases/{id}',
        '/v1/people/duplicates',
        '/v1/auth/login',
        '/v1/cases',
        '/v1/people',
        '/v1/cases/{id}/timeline',
      ]),
    );
    expect(doc.paths['/v1/cases/{id}']).toHaveProperty('get');
    expect(doc.paths['/v1/cases/{id}']).toHaveProperty('patch');
    expect(doc.paths['/v1/auth/login']).toHaveProperty('post');
  });
});

describe('resource headers (issue 12)', () => {
  it('a 201 names the created record (Location) and its version (ETag); a PATCH answer carries the new ETag', async () => {
    const { clientFor, createTeam, personBody } = await import('./helpers.ts');
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const person = await cw.post('/v1/people', personBody());
    expect(person.statusCode).toBe(201);
    expect(person.headers.location).toBe(`/v1/people/${person.json().id}`);
    const created = await cw.post('/v1/cases', { personId: person.json().id, teamId: team, hostCountry: 'AM' });
    expect(created.headers.location).toBe(`/v1/cases/${created.json().id}`);
    expect(created.headers.etag).toBe('"1"');
    expect((await cw.get(created.headers.location as string)).statusCode).toBe(200);
    const patched = await cw.patch(`/v1/cases/${created.json().id}`, { riskLevel: 'HIGH' }, { 'if-match': '"1"' });
    expect(patched.headers.etag).toBe('"2"');
    // Errors carry neither.
    const bad = await cw.post('/v1/cases', { personId: person.json().id, teamId: team, hostCountry: 'XX' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers.location).toBeUndefined();
  });

  it('every 201 of a record with its own URL names it: charges, events, assignments, deadlines, relations, links', async () => {
    const { clientFor, createCase, createTeam, createUser, chargeBody, eventBody } = await import('./helpers.ts');
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const lawyer = await createUser(env, 'LAWYER', { teamIds: [team] });
    const a = await createCase(cw, team);
    const b = await createCase(cw, team);
    const posts: [string, Record<string, unknown>, (body: { id: string; caseId?: string }) => string][] = [
      [`/v1/cases/${a.caseId}/charges`, chargeBody(), (r) => `/v1/charges/${r.id}`],
      [`/v1/cases/${a.caseId}/events`, eventBody(), (r) => `/v1/events/${r.id}`],
      [
        `/v1/cases/${a.caseId}/assignments`,
        { lawyerId: lawyer.id, role: 'LEAD' },
        (r) => `/v1/cases/${a.caseId}/assignments/${r.id}`,
      ],
      [
        `/v1/cases/${a.caseId}/deadlines`,
        { kind: 'COURT_FILING', title: 'File the brief', dueAt: '2027-01-15T09:00:00+04:00' },
        (r) => `/v1/deadlines/${r.id}`,
      ],
      [
        `/v1/people/${a.personId}/relations`,
        { otherPersonId: b.personId, kind: 'SIBLING' },
        (r) => `/v1/relations/${r.id}`,
      ],
      [`/v1/cases/${a.caseId}/links`, { otherCaseId: b.caseId, kind: 'RELATED' }, (r) => `/v1/case-links/${r.id}`],
    ];
    const locations: string[] = [];
    for (const [url, body, expected] of posts) {
      const res = await cw.post(url, body);
      expect(res.statusCode, `${url} ${res.body}`).toBe(201);
      expect(res.headers.location, url).toBe(expected(res.json()));
      locations.push(res.headers.location as string);
    }
    // The assignment's Location is the URL its DELETE answers on.
    expect((await cw.del(locations[2])).statusCode).toBe(204);
    // A charge's, an event's and a deadline's Location answers GET with the record and its ETag.
    for (const i of [0, 1, 3]) {
      const got = await cw.get(locations[i]);
      expect(got.statusCode, `${locations[i]} ${got.body}`).toBe(200);
      expect(locations[i]).toContain(got.json().id);
      expect(got.headers.etag).toBe(`"${got.json().version}"`);
    }

    // And the contract says so.
    const doc = (await env.app.inject({ url: '/docs/json' })).json();
    const header = doc.paths['/v1/cases/{id}/events'].post.responses['201'].headers?.Location;
    expect(header?.description).toContain('/v1/events/{id}');
    expect(doc.paths['/v1/cases/{id}/assignments'].post.responses['201'].headers.Location.description).toContain(
      '/v1/cases/{caseId}/assignments/{id}',
    );
    expect(JSON.stringify(doc)).not.toContain('x-location');
  });

  it('GET /v1/events/:id under parallel reads: every read answers and every details read is audited once', async () => {
    const { clientFor, createCase, createTeam, eventBody } = await import('./helpers.ts');
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const { caseId } = await createCase(cw, team);
    const ev = await cw.post(`/v1/cases/${caseId}/events`, eventBody({ details: 'held at the airport' }));
    expect(ev.statusCode, ev.body).toBe(201);
    const reads = () => env.db.auditEntry.count({ where: { caseId, action: 'event.read_details' } });
    const before = await reads();
    const answers = await Promise.all(Array.from({ length: 30 }, () => cw.get(`/v1/events/${ev.json().id}`)));
    for (const r of answers) {
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().details).toBe('held at the airport');
    }
    expect(await reads()).toBe(before + 30);
    // An id that is no event, and one that is not an id at all.
    expect((await cw.get(`/v1/events/${caseId}`)).statusCode).toBe(404);
    expect((await cw.get('/v1/events/not-an-id')).statusCode).toBe(400);
  });
});
