// Two API instances on one database: what an admin does on one instance
// applies to the very next request the other instance serves (the session and
// the user's role and teams are read on every request, in one statement).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import {
  clientFor,
  createCase,
  createTeam,
  createUser,
  expectProblem,
  login,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
let other: FastifyInstance;
let admin: Client;
let teamId: string;
let caseId: string;

beforeAll(async () => {
  env = await setupTestEnv();
  // A second instance: its own Fastify, its own pools, the same database.
  other = await buildApp(env.config);
  await other.ready();
  admin = await clientFor(env, 'ADMIN');
  teamId = await createTeam(env);
  const owner = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  ({ caseId } = await createCase(owner, teamId));
});
afterAll(async () => {
  await other?.close();
  await env?.close();
});

/** A caseworker of the team, signed in; requests go to the second instance. */
async function caseworkerOnOther() {
  const u = await createUser(env, 'CASEWORKER', { teamIds: [teamId] });
  const { accessToken } = await login(env, u.email);
  const get = (url: string) =>
    other.inject({ method: 'GET', url, headers: { authorization: `Bearer ${accessToken}` } });
  expect((await get(`/v1/cases/${caseId}`)).statusCode).toBe(200);
  return { id: u.id, get };
}

describe('changes made on one instance apply on the other at the next request', () => {
  it('revoke-sessions', async () => {
    const cw = await caseworkerOnOther();
    expect((await admin.post(`/v1/users/${cw.id}/revoke-sessions`)).statusCode).toBe(204);
    expectProblem(await cw.get(`/v1/cases/${caseId}`), 401);
    expectProblem(await cw.get('/v1/me'), 401);
  });

  it('deactivation', async () => {
    const cw = await caseworkerOnOther();
    expect((await admin.patch(`/v1/users/${cw.id}`, { active: false })).statusCode).toBe(200);
    expectProblem(await cw.get(`/v1/cases/${caseId}`), 401);
  });

  it('a role change', async () => {
    const cw = await caseworkerOnOther();
    expect((await cw.get(`/v1/cases/${caseId}`)).json().person.legalDataVisible).toBe(true);
    expect((await admin.patch(`/v1/users/${cw.id}`, { role: 'COORDINATOR' })).statusCode).toBe(200);
    const res = await cw.get(`/v1/cases/${caseId}`);
    // A coordinator still sees the case, never the person's legal data.
    expect(res.statusCode).toBe(200);
    expect(res.json().person.legalDataVisible).toBe(false);
    expect(res.json().person.legalName).toBeUndefined();
  });

  it('removal from the team', async () => {
    const cw = await caseworkerOnOther();
    expect((await admin.del(`/v1/teams/${teamId}/members/${cw.id}`)).statusCode).toBe(204);
    expectProblem(await cw.get(`/v1/cases/${caseId}`), 404);
  });
});
