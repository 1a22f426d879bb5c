import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, createCase, createTeam, setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('smoke', () => {
  it('serves health and a case round trip', async () => {
    expect((await env.app.inject({ url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await env.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    const got = await cw.get(`/v1/cases/${c.caseId}`);
    expect(got.statusCode).toBe(200);
    expect(got.json().person.legalName).toBe(c.legalName);
  });
});
