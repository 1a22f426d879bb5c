// The session cache (src/plugins/session-cache.ts): used only while its
// listener is connected, emptied for a user by the database's own triggers on
// any change to their sessions, role, activity, teams or second factors — from
// this instance, another one, or plain SQL — and never reused past its age,
// the session's expiry, or an invalidation that raced a read.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { SessionCache } from '../src/plugins/session-cache.ts';
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

describe('SessionCache', () => {
  const entry = (userId: string, now: number, expiresInMs = 60_000) => ({
    row: { userId },
    userId,
    expiresAtMs: now + expiresInMs,
    cachedAtMs: now,
  });

  it('serves nothing while not listening, and drops everything when listening starts again', () => {
    const c = new SessionCache<{ userId: string }>(30_000);
    c.set('s1', entry('u1', 0), c.stamp('u1'));
    expect(c.size).toBe(0);
    c.listening = true;
    c.set('s1', entry('u1', 0), c.stamp('u1'));
    expect(c.get('s1', 'u1', 1)).toEqual({ userId: 'u1' });
    c.listening = false;
    expect(c.get('s1', 'u1', 1)).toBeNull();
  });

  it('refuses a read that started before an invalidation of its user, or of everyone; another user’s does not matter', () => {
    const c = new SessionCache<{ userId: string }>(30_000);
    c.listening = true;
    let seen = c.stamp('u1');
    c.invalidateUser('u1');
    c.set('s1', entry('u1', 0), seen);
    expect(c.get('s1', 'u1', 1)).toBeNull();
    seen = c.stamp('u1');
    c.clear();
    c.set('s1', entry('u1', 0), seen);
    expect(c.get('s1', 'u1', 1)).toBeNull();
    // Token refreshes of someone else (each invalidates that user) leave this read cacheable.
    seen = c.stamp('u1');
    c.invalidateUser('u2');
    c.invalidateUser('u3');
    c.set('s1', entry('u1', 0), seen);
    expect(c.get('s1', 'u1', 1)).toEqual({ userId: 'u1' });
    // A stamp of another user is not this user's.
    const other = c.stamp('u2');
    c.invalidateUser('u1');
    c.set('s2', entry('u1', 0), other);
    expect(c.get('s2', 'u1', 1)).toEqual({ userId: 'u1' });
  });

  it('ages out, stops at the session expiry, checks the user, and invalidates per user', () => {
    const c = new SessionCache<{ userId: string }>(1_000);
    c.listening = true;
    c.set('a', entry('u1', 0), c.stamp('u1'));
    expect(c.get('a', 'u1', 999)).not.toBeNull();
    expect(c.get('a', 'u1', 1_000)).toBeNull();
    c.set('b', entry('u1', 0, 500), c.stamp('u1'));
    expect(c.get('b', 'u1', 500)).toBeNull();
    c.set('c', entry('u1', 0), c.stamp('u1'));
    expect(c.get('c', 'someone-else', 1)).toBeNull();
    c.set('d', entry('u1', 0), c.stamp('u1'));
    c.set('e', entry('u2', 0), c.stamp('u2'));
    c.invalidateUser('u1');
    expect(c.get('d', 'u1', 1)).toBeNull();
    expect(c.get('e', 'u2', 1)).not.toBeNull();
  });

  it('is bounded', () => {
    const c = new SessionCache<{ userId: string }>(30_000, 3);
    c.listening = true;
    for (const s of ['a', 'b', 'c', 'd']) c.set(s, entry('u1', 0), c.stamp('u1'));
    expect(c.size).toBe(3);
    expect(c.get('a', 'u1', 1)).toBeNull();
  });
});

let env: TestEnv;
let other: FastifyInstance;
let admin: Client;
let teamId: string;
let caseId: string;

async function until(check: () => Promise<boolean>, ms = 2_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (await check()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`not within ${ms} ms`);
}

async function listening(app: FastifyInstance) {
  await until(async () => app.sessionCache.listening, 5_000);
}

beforeAll(async () => {
  env = await setupTestEnv({ env: { AUTH_CACHE_SECONDS: '30' } });
  other = await buildApp(env.config);
  await other.ready();
  await listening(env.app);
  await listening(other);
  admin = await clientFor(env, 'ADMIN');
  teamId = await createTeam(env);
  const owner = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  ({ caseId } = await createCase(owner, teamId));
});
afterAll(async () => {
  await other?.close();
  await env?.close();
});

/** A caseworker of the team whose requests go to the second instance, with its session cached there. */
async function cachedCaseworker() {
  const u = await createUser(env, 'CASEWORKER', { teamIds: [teamId] });
  const { accessToken } = await login(env, u.email);
  const get = (url: string) =>
    other.inject({ method: 'GET', url, headers: { authorization: `Bearer ${accessToken}` } });
  expect((await get(`/v1/cases/${caseId}`)).statusCode).toBe(200);
  const hits = other.sessionCache.hits;
  expect((await get(`/v1/cases/${caseId}`)).statusCode).toBe(200);
  expect(other.sessionCache.hits).toBe(hits + 1);
  return { id: u.id, get };
}

const refusedSoon = (get: () => Promise<{ statusCode: number }>, status: number) =>
  until(async () => (await get()).statusCode === status);

describe('a cached session follows every change at once', () => {
  it('30 parallel reads on a cached session all answer, and hit the cache', async () => {
    const cw = await cachedCaseworker();
    const hits = other.sessionCache.hits;
    const res = await Promise.all(Array.from({ length: 30 }, () => cw.get(`/v1/cases/${caseId}`)));
    expect(res.map((r) => r.statusCode)).toEqual(Array(30).fill(200));
    expect(other.sessionCache.hits - hits).toBe(30);
  });

  it('revoke-sessions on the other instance', async () => {
    const cw = await cachedCaseworker();
    expect((await admin.post(`/v1/users/${cw.id}/revoke-sessions`)).statusCode).toBe(204);
    const ms = await refusedSoon(() => cw.get('/v1/me'), 401);
    expect(ms).toBeLessThan(1_000);
    expectProblem(await cw.get(`/v1/cases/${caseId}`), 401);
  });

  it('deactivation, role change and team removal', async () => {
    const a = await cachedCaseworker();
    expect((await admin.patch(`/v1/users/${a.id}`, { active: false })).statusCode).toBe(200);
    await refusedSoon(() => a.get('/v1/me'), 401);

    const b = await cachedCaseworker();
    expect((await admin.patch(`/v1/users/${b.id}`, { role: 'COORDINATOR' })).statusCode).toBe(200);
    await until(async () => (await b.get('/v1/me')).json().role === 'COORDINATOR');

    const c = await cachedCaseworker();
    await env.sql('DELETE FROM team_members WHERE user_id = $1', [c.id]);
    await refusedSoon(() => c.get(`/v1/cases/${caseId}`), 404);
  });

  it('a change made by hand in SQL, on no instance at all', async () => {
    const cw = await cachedCaseworker();
    await env.sql('UPDATE sessions SET revoked_at = now() WHERE user_id = $1', [cw.id]);
    await refusedSoon(() => cw.get('/v1/me'), 401);
  });

  it('a lost listener connection turns the cache off until it is back, then on again', async () => {
    const cw = await cachedCaseworker();
    await env.sql(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'api-auth-listener' AND datname = current_database()`,
    );
    await until(async () => !other.sessionCache.listening);
    expect(other.sessionCache.size).toBe(0);
    // While it is off every request reads the database: a revocation now applies at once.
    const hits = other.sessionCache.hits;
    expect((await cw.get('/v1/me')).statusCode).toBe(200);
    await listening(other);
    expect((await cw.get('/v1/me')).statusCode).toBe(200);
    expect((await cw.get('/v1/me')).statusCode).toBe(200);
    expect(other.sessionCache.hits).toBeGreaterThan(hits);
  });
});
