// Refresh-token reuse grace (REFRESH_REUSE_GRACE_SECONDS, default 10): two
// tabs refreshing at once keep the user signed in; a copied token presented
// later still revokes the session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, expectProblem, login, setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let offsetMs = 0;

beforeAll(async () => {
  env = await setupTestEnv({ clock: () => new Date(Date.now() + offsetMs), env: { LOGIN_IP_MAX_ATTEMPTS: '10000' } });
});
afterAll(async () => env?.close());

const refresh = (refreshToken: string) =>
  env.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
const me = (token: string) =>
  env.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });

describe('refresh reuse grace', () => {
  it('defaults to 10 seconds', () => {
    expect(env.config.auth.refreshReuseGraceSeconds).toBe(10);
  });

  it('three tabs refreshing at once: all 200 with the same new refresh token, the session lives', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const t = await login(env, u.email);
    const results = await Promise.all([refresh(t.refreshToken), refresh(t.refreshToken), refresh(t.refreshToken)]);
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const tokens = new Set(results.map((r) => r.json().refreshToken));
    expect(tokens.size).toBe(1);
    for (const r of results) expect((await me(r.json().accessToken)).statusCode).toBe(200);
    // One successor row only.
    const [{ n }] = await env.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE s.user_id = $1`,
      [u.id],
    );
    expect(n).toBe(2);
    // The successor is stored encrypted, never in clear.
    const rows = await env.sql<{ successor_enc: string | null }>(
      `SELECT successor_enc FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE s.user_id = $1`,
      [u.id],
    );
    expect(JSON.stringify(rows)).not.toContain([...tokens][0]);
  });

  it('a rotated token presented after the grace revokes the session (a copy was used)', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const t = await login(env, u.email);
    const next = (await refresh(t.refreshToken)).json();
    offsetMs += 11_000;
    try {
      expectProblem(await refresh(t.refreshToken), 401);
      expectProblem(await me(next.accessToken), 401);
      expectProblem(await refresh(next.refreshToken), 401);
    } finally {
      offsetMs -= 11_000;
    }
  });

  it('within the grace, a token whose successor was already rotated is reuse: the session is revoked', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const t = await login(env, u.email);
    const second = (await refresh(t.refreshToken)).json();
    const third = (await refresh(second.refreshToken)).json();
    expectProblem(await refresh(t.refreshToken), 401);
    expectProblem(await me(third.accessToken), 401);
  });
});
