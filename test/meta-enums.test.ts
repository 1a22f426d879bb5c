// GET /v1/meta/enums (issue 12): every enum a client needs, from the same
// source the API validates against.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, expectProblem, setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('GET /v1/meta/enums', () => {
  it('lists the enums by name, and the values are the ones the API accepts', async () => {
    const c = await clientFor(env, 'LAWYER');
    const res = await c.get('/v1/meta/enums');
    expect(res.statusCode).toBe(200);
    const enums = res.json() as Record<string, string[]>;
    for (const name of [
      'Role',
      'EventType',
      'CaseStatus',
      'DeadlineKind',
      'DocumentKind',
      'SecondFactorMethod',
      'ExportFormat',
      'RelationKind',
      'CaseLinkKind',
    ]) {
      expect(enums[name], name).toBeInstanceOf(Array);
      expect(enums[name].length, name).toBeGreaterThan(0);
    }
    expect(enums.Role).toEqual(['ADMIN', 'COORDINATOR', 'CASEWORKER', 'LAWYER']);
    expect(enums.EventType).toContain('DETENTION');
    // Every listed case status is accepted by the case list filter, and a made-up one is not.
    for (const status of enums.CaseStatus) expect((await c.get(`/v1/cases?status=${status}`)).statusCode).toBe(200);
    expectProblem(await c.get('/v1/cases?status=NOT_A_STATUS'), 400);
  });

  it('needs a signed-in caller', async () => {
    expectProblem(await env.app.inject({ method: 'GET', url: '/v1/meta/enums' }), 401);
  });
});
