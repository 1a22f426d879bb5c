// Step-up (auth_time, POST /v1/auth/reauth), password change with the NIST
// policy, and an admin's password reset (issue 11).
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  countRows,
  createUser,
  DEFAULT_PASSWORD,
  expectProblem,
  login,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
let now = Date.now();

beforeAll(async () => {
  env = await setupTestEnv({ clock: () => new Date(now), env: { LOGIN_IP_MAX_ATTEMPTS: '1000' } });
});
afterAll(async () => env?.close());

function expectType(res: Parameters<typeof expectProblem>[0], status: number, type: string) {
  expect(expectProblem(res, status).type).toMatch(new RegExp(`/${type}$`));
}

const as = (token: string) => ({ authorization: `Bearer ${token}` });

describe('step-up: recent authentication', () => {
  it('every step-up route answers 401 reauthentication-required past REAUTH_MAX_AGE_SECONDS, then works after reauth', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const coord = await clientFor(env, 'COORDINATOR');
    const target = await createUser(env, 'CASEWORKER');
    const stepUp: [Client, string, string, object?][] = [
      [
        admin,
        'POST',
        '/v1/users',
        {
          email: `n-${now}@example.org`,
          displayName: 'New Person',
          role: 'LAWYER',
          password: 'river stone lantern 42',
        },
      ],
      [admin, 'PATCH', `/v1/users/${target.id}`, { displayName: 'Renamed Person' }],
      [admin, 'POST', `/v1/users/${target.id}/revoke-sessions`, {}],
      [admin, 'POST', `/v1/users/${target.id}/reset-password`, {}],
      [admin, 'PUT', '/v1/me/notification-settings', { email: { enabled: true } }],
      [coord, 'POST', '/v1/exports', { kind: 'events-anonymised', format: 'csv' }],
    ];
    const send = (c: Client, method: string, url: string, body?: object, token = c.token) =>
      env.app.inject({ method: method as 'POST', url, payload: body, headers: as(token) });
    const saved = now;
    now += 601_000;
    try {
      for (const [c, method, url, body] of stepUp) {
        expectType(await send(c, method, url, body), 401, 'reauthentication-required');
      }
      // Ordinary routes are not concerned.
      expect((await admin.get('/v1/users')).statusCode).toBe(200);
      // Reauth: wrong password refused, right one gives a fresh token.
      expectProblem(await admin.post('/v1/auth/reauth', { password: 'wrong password here' }), 401);
      const fresh = await admin.post('/v1/auth/reauth', { password: DEFAULT_PASSWORD });
      expect(fresh.statusCode).toBe(200);
      const coordFresh = (await coord.post('/v1/auth/reauth', { password: DEFAULT_PASSWORD })).json().accessToken;
      for (const [c, method, url, body] of stepUp) {
        const res = await send(c, method, url, body, c === admin ? fresh.json().accessToken : coordFresh);
        // This env has no queues: an export past the step-up check answers 503, not 401.
        if (url === '/v1/exports') expect(res.statusCode, res.body).toBe(503);
        else expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
      }
    } finally {
      now = saved;
    }
  });

  it('refreshed access tokens keep the sign-in time: refreshing does not renew step-up', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const saved = now;
    now += 601_000;
    try {
      const refreshed = await env.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: admin.refreshToken },
      });
      expect(refreshed.statusCode).toBe(200);
      const res = await env.app.inject({
        method: 'PUT',
        url: '/v1/me/notification-settings',
        payload: { email: { enabled: true } },
        headers: as(refreshed.json().accessToken),
      });
      expectType(res, 401, 'reauthentication-required');
    } finally {
      now = saved;
    }
  });

  it('with a second factor, reauth needs a code too', async () => {
    const c = await clientFor(env, 'CASEWORKER');
    const { secret } = (await c.post('/v1/me/mfa/totp', { password: DEFAULT_PASSWORD })).json();
    const epoch = Math.floor(now / 1000);
    expect((await c.post('/v1/me/mfa/totp/confirm', { code: await generate({ secret, epoch }) })).statusCode).toBe(200);
    expectProblem(await c.post('/v1/auth/reauth', { password: DEFAULT_PASSWORD }), 400, 'body.code');
    expectProblem(await c.post('/v1/auth/reauth', { password: DEFAULT_PASSWORD, code: '123456' }), 401);
    const ok = await c.post('/v1/auth/reauth', {
      password: DEFAULT_PASSWORD,
      code: await generate({ secret, epoch: epoch + 30 }),
    });
    expect(ok.statusCode, ok.body).toBe(200);
  });
});

describe('POST /v1/me/password', () => {
  it('refuses a wrong current password and weak new ones, naming the field', async () => {
    const c = await clientFor(env, 'LAWYER');
    expectProblem(
      await c.post('/v1/me/password', { currentPassword: 'not it at all', newPassword: 'river stone lantern 42' }),
      401,
    );
    for (const weak of [
      'short one',
      'password2024!',
      'qwertyuiopasdf',
      'aaaaaaaaaaaaaaa',
      c.email.split('@')[0] + '-2026-x',
    ]) {
      expectProblem(
        await c.post('/v1/me/password', { currentPassword: DEFAULT_PASSWORD, newPassword: weak }),
        400,
        'body.newPassword',
      );
    }
    // Nothing changed: the old password still signs in.
    expect((await login(env, c.email)).accessToken).toBeTruthy();
  });

  it('changes it, ends every other session, keeps this one, and queues a security notice', async () => {
    const c = await clientFor(env, 'LAWYER');
    const other = await login(env, c.email);
    const res = await c.post('/v1/me/password', {
      currentPassword: DEFAULT_PASSWORD,
      newPassword: 'river stone lantern 42',
    });
    expect(res.statusCode, res.body).toBe(204);
    expect((await c.get('/v1/me')).statusCode).toBe(200);
    expectProblem(await env.app.inject({ method: 'GET', url: '/v1/me', headers: as(other.accessToken) }), 401);
    await expect(login(env, c.email)).rejects.toThrow(/401/);
    expect((await login(env, c.email, 'river stone lantern 42')).accessToken).toBeTruthy();
    expect(await countRows(env, 'security_notices', "user_id = $1 AND kind = 'password_changed'", [c.userId])).toBe(1);
  });
});

describe('POST /v1/users/:id/reset-password', () => {
  it('ADMIN only: a temporary password that must be changed before anything else', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const coord = await clientFor(env, 'COORDINATOR');
    const user = await clientFor(env, 'CASEWORKER');
    expectProblem(await coord.post(`/v1/users/${user.userId}/reset-password`, {}), 403);
    expectProblem(await admin.post(`/v1/users/${admin.userId}/reset-password`, {}), 422);
    expectProblem(await admin.post('/v1/users/00000000-0000-4000-8000-000000000000/reset-password', {}), 404);
    const reset = await admin.post(`/v1/users/${user.userId}/reset-password`, {});
    expect(reset.statusCode).toBe(200);
    const temporary = reset.json().temporaryPassword as string;
    expect(temporary).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    // Every session of the user ended; the old password no longer works.
    expectProblem(await user.get('/v1/me'), 401);
    await expect(login(env, user.email)).rejects.toThrow(/401/);
    const signIn = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: temporary },
    });
    expect(signIn.json()).toMatchObject({ passwordChangeRequired: true });
    const token = signIn.json().accessToken as string;
    const get = (url: string) => env.app.inject({ method: 'GET', url, headers: as(token) });
    expectType(await get('/v1/cases'), 403, 'password-change-required');
    expect((await get('/v1/me')).statusCode).toBe(200);
    const changed = await env.app.inject({
      method: 'POST',
      url: '/v1/me/password',
      payload: { currentPassword: temporary, newPassword: 'river stone lantern 42' },
      headers: as(token),
    });
    expect(changed.statusCode, changed.body).toBe(204);
    expect((await get('/v1/cases')).statusCode).toBe(200);
    expect(await countRows(env, 'security_notices', "user_id = $1 AND kind = 'password_reset'", [user.userId])).toBe(1);
  });
});
