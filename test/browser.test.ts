// Browsers: CORS for the configured origins only, and the queue board behind
// a short-lived HttpOnly cookie (issue 12).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, expectProblem, setupTestEnv, type TestEnv } from './helpers.ts';

const APP = 'https://app.example.org';
let env: TestEnv;
let plain: TestEnv;

beforeAll(async () => {
  [env, plain] = await Promise.all([
    setupTestEnv({ env: { CORS_ORIGINS: `${APP},https://other.example.org` }, queues: true }),
    setupTestEnv(),
  ]);
});
afterAll(async () => Promise.all([env?.close(), plain?.close()]));

const preflight = (e: TestEnv, origin: string, url = '/v1/auth/login') =>
  e.app.inject({
    method: 'OPTIONS',
    url,
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });

describe('CORS (CORS_ORIGINS)', () => {
  it('answers a preflight from a listed origin, without credentials', async () => {
    const res = await preflight(env, APP);
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    // Preflights to authenticated routes do not need a token either.
    expect((await preflight(env, APP, '/v1/cases')).statusCode).toBe(204);
  });

  it('gives nothing to an origin that is not listed', async () => {
    const res = await preflight(env, 'https://evil.example.net');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const get = await env.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://evil.example.net' },
    });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('exposes the headers a client needs on real responses', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/health/live', headers: { origin: APP } });
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    const exposed = String(res.headers['access-control-expose-headers']).toLowerCase();
    for (const h of [
      'etag',
      'location',
      'retry-after',
      'idempotency-replayed',
      'idempotent-replayed',
      'x-request-id',
    ]) {
      expect(exposed).toContain(h);
    }
  });

  it('is off by default', async () => {
    expect(plain.config.http.corsOrigins).toEqual([]);
    const res = await preflight(plain, APP);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a malformed origin list at start-up', async () => {
    await expect(setupTestEnv({ env: { CORS_ORIGINS: 'https://app.example.org/path' } })).rejects.toThrow(
      /CORS_ORIGINS/,
    );
  });
});

describe('queue board', () => {
  it('answers 401 without credentials and 403 to other roles', async () => {
    expectProblem(await env.app.inject({ method: 'GET', url: '/admin/queues' }), 401);
    const cw = await clientFor(env, 'CASEWORKER');
    expectProblem(await cw.get('/admin/queues'), 403);
    expectProblem(await cw.post('/admin/queues/session', {}), 403);
  });

  it('opens in a browser with the session cookie, which is good for the board only and dies with the session', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const res = await admin.post('/admin/queues/session', {});
    expect(res.statusCode).toBe(204);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^queue_board=[^;]+; Path=\/admin\/queues; Max-Age=900; HttpOnly; SameSite=Strict/);
    const cookie = setCookie.split(';')[0];
    const page = await env.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    // Not a bearer token, and not accepted by the API.
    const value = cookie.split('=')[1];
    expectProblem(
      await env.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${value}` } }),
      401,
    );
    expectProblem(await env.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } }), 401);
    // An access token put in the cookie is refused too.
    expectProblem(
      await env.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: `queue_board=${admin.token}` } }),
      401,
    );
    // Signing out ends the board cookie.
    expect((await admin.post('/v1/auth/logout', {})).statusCode).toBe(204);
    expectProblem(await env.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie } }), 401);
  });
});
