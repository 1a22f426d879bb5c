// Errors in general: an unknown route and a missing token are RFC 9457
// problems, and no error body carries a stack trace, a source location or ORM
// internals.
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createCase,
  createTeam,
  eventBody,
  expectNoLeak,
  expectProblem,
  personBody,
  rawPost,
  setupTestEnv,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('generic errors', () => {
  it('an unknown route -> 404 problem (with and without a token)', async () => {
    const anon = await env.app.inject({ url: '/v1/nowhere' });
    const p = expectProblem(anon, 404);
    expect(p.instance).toBe('/v1/nowhere');
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    expectProblem(await cw.get('/v1/cases/x/y/z'), 404);
    expectProblem(await cw.post('/v1/charges', {}), 404);
  });

  it('requests without a token -> 401 problem', async () => {
    expectProblem(await env.app.inject({ url: '/v1/cases' }), 401);
    expectProblem(await env.app.inject({ method: 'POST', url: '/v1/people', payload: personBody() }), 401);
  });

  it('no error body carries a stack trace or ORM internals', async () => {
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    const responses: [number, LightMyRequestResponse][] = [
      [400, await rawPost(env, cw, '/v1/people', '{bad json')],
      [404, await cw.get(`/v1/cases/${randomUUID()}`)],
      [400, await cw.get('/v1/cases/not-a-uuid')],
      [400, await cw.get('/v1/cases?cursor=%7B%7D')],
      [412, await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }, { 'if-match': '"99"' })],
      [400, await cw.post(`/v1/cases/${c.caseId}/events`, eventBody({ occurredAt: 'yesterday' }))],
      [401, await env.app.inject({ url: '/v1/people', headers: { authorization: 'Bearer not.a.jwt' } })],
    ];
    for (const [status, res] of responses) {
      // a problem document (application/problem+json) that passes expectNoLeak
      expectProblem(res, status);
      expectNoLeak(res.body);
      expect(res.json()).not.toHaveProperty('stack');
    }
  });
});

describe('errors that say what to do (issue 12)', () => {
  const message = (p: { errors?: { path: string; message: string }[] }, path: string) =>
    p.errors?.find((e) => e.path === path)?.message;

  it('names a missing field "required", lists allowed values, and gives the expected format with an example', async () => {
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env)] });
    const missing = expectProblem(await cw.post('/v1/people', { pseudonym: 'P-x' }), 400, 'body.legalName');
    expect(message(missing, 'body.legalName')).toBe('required');
    const badEnum = expectProblem(await cw.get('/v1/cases?status=open'), 400, 'querystring.status');
    expect(message(badEnum, 'querystring.status')).toBe('must be one of: OPEN, MONITORING, RELOCATED, CLOSED');
    const badDate = expectProblem(
      await cw.post('/v1/people', personBody({ dateOfBirth: '28.11.1990' })),
      400,
      'body.dateOfBirth',
    );
    expect(message(badDate, 'body.dateOfBirth')).toMatch(/^expected a date YYYY-MM-DD, e\.g\. /);
    const unknown = expectProblem(await cw.post('/v1/people', personBody({ nickname: 'x' })), 400);
    expect(unknown.detail).toMatch(/unknown field: nickname/);
  });

  it("maps Fastify's own client errors to our problem types", async () => {
    const cw = await clientFor(env, 'CASEWORKER');
    const form = await rawPost(env, cw, '/v1/people', 'a=b', 'application/x-www-form-urlencoded');
    expect(expectProblem(form, 415).type).toMatch(/\/unsupported-media-type$/);
    const badJson = await rawPost(env, cw, '/v1/people', '{"pseudonym": ');
    expect(expectProblem(badJson, 400, 'body').type).toMatch(/\/validation$/);
    const empty = await rawPost(env, cw, '/v1/people', '');
    expect(expectProblem(empty, 400, 'body').type).toMatch(/\/validation$/);
    const big = await rawPost(env, cw, '/v1/people', JSON.stringify({ pseudonym: 'x'.repeat(1_100_000) }));
    expect(expectProblem(big, 413).type).toMatch(/\/payload-too-large$/);
  });
});
