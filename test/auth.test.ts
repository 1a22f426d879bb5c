// Authentication, sessions, account/IP throttling, user and team administration,
// and configuration checks. Real PostgreSQL, no mocks.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ConfigError, defaultLoginConcurrency, loadConfig } from '../src/config.ts';
import {
  clientFor,
  createTeam,
  createUser,
  DEFAULT_PASSWORD,
  login,
  setupTestEnv,
  testEnvVars,
  uniq,
  type TestEnv,
  expectProblem,
} from './helpers.ts';

// ---------------------------------------------------------------------------
// Environments: the main one locks accounts after 3 failures and has a clock we
// can move; a second one has a tiny per-IP window (the IP counter is shared by
// every login from 127.0.0.1, so it cannot live in the main environment).
// ---------------------------------------------------------------------------
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
let ipOffsetMs = 0;
const ipClock = () => new Date(Date.now() + ipOffsetMs);

let env: TestEnv;
let ipEnv: TestEnv;

beforeAll(async () => {
  [env, ipEnv] = await Promise.all([
    setupTestEnv({
      // Reuse detection is tested without the refresh grace here; test/refresh-grace.test.ts covers the grace.
      env: {
        LOGIN_MAX_FAILURES: '3',
        LOGIN_LOCKOUT_MINUTES: '15',
        LOGIN_IP_MAX_ATTEMPTS: '100000',
        REFRESH_REUSE_GRACE_SECONDS: '0',
      },
      clock,
    }),
    setupTestEnv({
      env: { LOGIN_IP_MAX_ATTEMPTS: '3', LOGIN_IP_WINDOW_MINUTES: '1', LOGIN_MAX_FAILURES: '50' },
      clock: ipClock,
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([env?.close(), ipEnv?.close()]);
});

// ---------------------------------------------------------------------------
// Small tools
// ---------------------------------------------------------------------------
const b64u = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function hs256(
  payload: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
) {
  const input = `${b64u(header)}.${b64u(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

const nowSec = () => Math.floor(clock().getTime() / 1000);

/** Claims exactly as the server would issue them, for the given user and session. */
function claimsFor(sub: string, sid: string, extra: Record<string, unknown> = {}) {
  const iat = nowSec();
  return {
    sub,
    sid,
    typ: 'access',
    iat,
    exp: iat + 600,
    auth_time: iat,
    iss: env.config.auth.issuer,
    aud: env.config.auth.audience,
    ...extra,
  };
}

const me = (e: TestEnv, token: string) =>
  e.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
const rawLogin = (
  e: TestEnv,
  email: string,
  password: string,
  remoteAddress?: string,
  headers?: Record<string, string>,
) =>
  e.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password },
    ...(remoteAddress ? { remoteAddress } : {}),
    ...(headers ? { headers } : {}),
  });
const refresh = (e: TestEnv, refreshToken: string) =>
  e.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });

function expect401(res: LightMyRequestResponse) {
  return expectProblem(res, 401);
}

// ---------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------
describe('login', () => {
  it('returns a token pair and a user object without secrets', async () => {
    const team = await createTeam(env);
    const u = await createUser(env, 'CASEWORKER', { teamIds: [team] });
    const res = await rawLogin(env, u.email, DEFAULT_PASSWORD);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user']);
    expect(body.tokenType).toBe('Bearer');
    expect(body.expiresIn).toBe(env.config.auth.accessTtlSeconds);
    expect(Object.keys(body.user).sort()).toEqual([
      'active',
      'createdAt',
      'displayName',
      'email',
      'id',
      'lockedUntil',
      'role',
      'teamIds',
    ]);
    expect(body.user).toMatchObject({
      id: u.id,
      email: u.email,
      role: 'CASEWORKER',
      active: true,
      teamIds: [team],
      lockedUntil: null,
    });
    // No hash, counter or other secret anywhere in the response.
    expect(res.body).not.toMatch(/argon2|passwordHash|password_hash|failedLogins|failed_logins/i);
    expect(res.body).not.toContain(DEFAULT_PASSWORD);

    // The access token is an HS256 JWT with the documented claims.
    const [h] = body.accessToken.split('.');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
    const claims = decodePayload(body.accessToken);
    expect(claims).toMatchObject({
      sub: u.id,
      typ: 'access',
      iss: env.config.auth.issuer,
      aud: env.config.auth.audience,
    });
    expect(typeof claims.sid).toBe('string');
    expect((claims.exp as number) - (claims.iat as number)).toBe(env.config.auth.accessTtlSeconds);
    expect(claims).not.toHaveProperty('role');

    // The refresh token is opaque and stored only as a hash.
    expect(body.refreshToken.split('.').length).not.toBe(3);
    const plain = await env.sql('SELECT 1 FROM refresh_tokens WHERE token_hash = $1', [body.refreshToken]);
    expect(plain).toHaveLength(0);
    const rows = await env.sql<{ token_hash: string }>('SELECT token_hash FROM refresh_tokens WHERE session_id = $1', [
      claims.sid,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).not.toContain(body.refreshToken);

    // And the token works.
    expect((await me(env, body.accessToken)).statusCode).toBe(200);
  });

  it('answers a wrong password and an unknown email alike (401, same type/title/detail)', async () => {
    const u = await createUser(env, 'LAWYER');
    const wrong = expect401(await rawLogin(env, u.email, 'not the right password'));
    const unknown = expect401(await rawLogin(env, `nobody-${uniq()}@example.org`, 'not the right password'));
    expect(wrong.type).toBe(unknown.type);
    expect(wrong.title).toBe(unknown.title);
    expect(wrong.detail).toBe(unknown.detail);
    expect(wrong.type).toMatch(/invalid-credentials$/);
  });

  it('accepts the email in any case and with surrounding spaces', async () => {
    const u = await createUser(env, 'LAWYER');
    const res = await rawLogin(env, `  ${u.email.toUpperCase()} `, DEFAULT_PASSWORD);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user.id).toBe(u.id);
  });

  it('refuses an inactive user with 401 even with the right password', async () => {
    const u = await createUser(env, 'CASEWORKER');
    await env.db.user.update({ where: { id: u.id }, data: { active: false } });
    const inactive = expect401(await rawLogin(env, u.email, DEFAULT_PASSWORD));
    const unknown = expect401(await rawLogin(env, `nobody-${uniq()}@example.org`, DEFAULT_PASSWORD));
    expect(inactive.type).toBe(unknown.type);
    expect(inactive.title).toBe(unknown.title);
    expect(await env.sql('SELECT 1 FROM sessions WHERE user_id = $1', [u.id])).toHaveLength(0);
  });

  it('rejects extra or missing body fields with 400', async () => {
    const u = await createUser(env, 'LAWYER');
    expectProblem(
      await env.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: u.email, password: DEFAULT_PASSWORD, role: 'ADMIN' },
      }),
      400,
    );
    expectProblem(await env.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: u.email } }), 400);
  });
});

// ---------------------------------------------------------------------------
// Account lockout and per-IP rate limit
// ---------------------------------------------------------------------------
describe('account lockout (LOGIN_MAX_FAILURES=3, 15 minutes)', () => {
  it('locks after 3 consecutive failures: 429 with Retry-After, even for the right password', async () => {
    const u = await createUser(env, 'CASEWORKER');
    for (let i = 0; i < 3; i++) expect401(await rawLogin(env, u.email, `wrong password ${i}`));
    const locked = await rawLogin(env, u.email, DEFAULT_PASSWORD);
    const p = expectProblem(locked, 429);
    expect(p.type).toMatch(/rate-limited$/);
    const retry = Number(locked.headers['retry-after']);
    expect(Number.isInteger(retry)).toBe(true);
    expect(retry).toBeGreaterThan(15 * 60 - 30);
    expect(retry).toBeLessThanOrEqual(15 * 60);
    // No session was created while locked.
    expect(await env.sql('SELECT 1 FROM sessions WHERE user_id = $1', [u.id])).toHaveLength(0);
    // A wrong password is also 429 (the lock is checked first).
    expectProblem(await rawLogin(env, u.email, 'yet another guess'), 429);
  });

  it('a success resets the failure counter (2 failures, success, 2 failures: not locked)', async () => {
    const u = await createUser(env, 'CASEWORKER');
    for (let i = 0; i < 2; i++) expect401(await rawLogin(env, u.email, `wrong ${i}`));
    expect((await rawLogin(env, u.email, DEFAULT_PASSWORD)).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) expect401(await rawLogin(env, u.email, `wrong again ${i}`));
    expect((await rawLogin(env, u.email, DEFAULT_PASSWORD)).statusCode).toBe(200);
  });

  it('the lock expires with the clock', async () => {
    const u = await createUser(env, 'LAWYER');
    const start = offsetMs;
    try {
      for (let i = 0; i < 3; i++) expect401(await rawLogin(env, u.email, `wrong ${i}`));
      expectProblem(await rawLogin(env, u.email, DEFAULT_PASSWORD), 429);

      offsetMs = start + 10 * 60_000; // 10 of 15 minutes later: still locked, about 5 minutes to go
      const still = await rawLogin(env, u.email, DEFAULT_PASSWORD);
      expectProblem(still, 429);
      const retry = Number(still.headers['retry-after']);
      expect(retry).toBeGreaterThan(5 * 60 - 30);
      expect(retry).toBeLessThanOrEqual(5 * 60);

      offsetMs = start + 16 * 60_000; // past the lock
      const ok = await rawLogin(env, u.email, DEFAULT_PASSWORD);
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json().user.lockedUntil).toBeNull();
    } finally {
      offsetMs = start;
    }
  });

  it('parallel wrong guesses still lock the account (no lost updates of the failure counter)', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => rawLogin(env, u.email, `parallel guess ${i}`)),
    );
    for (const r of results) {
      expect([401, 429]).toContain(r.statusCode);
      expectProblem(r, r.statusCode);
    }
    const state = await env.sql<{ failed_logins: number; locked_until: Date | null }>(
      'SELECT failed_logins, locked_until FROM users WHERE id = $1',
      [u.id],
    );
    // 6 failures >= 3: the account must be locked and the right password refused.
    const after = await rawLogin(env, u.email, DEFAULT_PASSWORD);
    expect(after.statusCode, `after 6 parallel failures the user row was ${JSON.stringify(state)}`).toBe(429);
    expectProblem(after, 429);
  });
});

describe('per-IP rate limit (LOGIN_IP_MAX_ATTEMPTS=3 per 1 minute)', () => {
  it('refuses the 4th attempt from one address with 429 and Retry-After; other addresses are unaffected; the window passes', async () => {
    const u = await createUser(ipEnv, 'CASEWORKER');
    const ip = '203.0.113.7';
    const start = ipOffsetMs;
    try {
      for (let i = 0; i < 3; i++) {
        expect401(await rawLogin(ipEnv, `nobody-${uniq()}@example.org`, 'whatever password', ip));
      }
      const limited = await rawLogin(ipEnv, u.email, DEFAULT_PASSWORD, ip);
      const p = expectProblem(limited, 429);
      expect(p.type).toMatch(/rate-limited$/);
      const retry = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retry)).toBe(true);
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      // X-Forwarded-For is not trusted (TRUST_PROXY=false), so it cannot reset the counter.
      expectProblem(await rawLogin(ipEnv, u.email, DEFAULT_PASSWORD, ip, { 'x-forwarded-for': '198.51.100.99' }), 429);
      // Another address is not limited.
      expect((await rawLogin(ipEnv, u.email, DEFAULT_PASSWORD, '203.0.113.8')).statusCode).toBe(200);
      // After the window, the first address may try again.
      ipOffsetMs = start + 61_000;
      const again = await rawLogin(ipEnv, u.email, DEFAULT_PASSWORD, ip);
      expect(again.statusCode, again.body).toBe(200);
    } finally {
      ipOffsetMs = start;
    }
  });
});

// ---------------------------------------------------------------------------
// Access tokens
// ---------------------------------------------------------------------------
describe('access tokens', () => {
  let user: { id: string; email: string };
  let tokens: { accessToken: string; refreshToken: string };
  let sid: string;

  beforeAll(async () => {
    user = await createUser(env, 'CASEWORKER');
    tokens = await login(env, user.email);
    sid = decodePayload(tokens.accessToken).sid as string;
  });

  it('a hand-made token with the right secret and claims is accepted (so the negatives below are meaningful)', async () => {
    const res = await me(env, hs256(claimsFor(user.id, sid), env.config.auth.jwtSecret));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().id).toBe(user.id);
  });

  it('missing Authorization header -> 401', async () => {
    const p = expect401(await env.app.inject({ method: 'GET', url: '/v1/me' }));
    expect(p.type).toMatch(/unauthenticated$/);
  });

  it('a non-Bearer scheme or an empty bearer -> 401', async () => {
    expect401(
      await env.app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { authorization: `Basic ${Buffer.from(`${user.email}:${DEFAULT_PASSWORD}`).toString('base64')}` },
      }),
    );
    expect401(await env.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer ' } }));
    expect401(await env.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: tokens.accessToken } }));
  });

  it('garbage -> 401', async () => {
    expect401(await me(env, 'garbage'));
    expect401(await me(env, 'a.b.c'));
    expect401(await me(env, `${tokens.accessToken}x`));
  });

  it('expired token -> 401', async () => {
    const past = nowSec() - 3600;
    const expired = hs256(claimsFor(user.id, sid, { iat: past, exp: past + 60 }), env.config.auth.jwtSecret);
    const res = await me(env, expired);
    // RFC 6750 §3: a client can tell "refresh" from "sign in again".
    expect(expect401(res).type).toMatch(/\/token-expired$/);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="expired"');
  });

  it('a token without auth_time (issued before step-up existed) -> 401', async () => {
    const { auth_time: _drop, ...claims } = claimsFor(user.id, sid);
    expect401(await me(env, hs256(claims, env.config.auth.jwtSecret)));
  });

  it('a token without exp -> 401', async () => {
    const c: Record<string, unknown> = claimsFor(user.id, sid);
    delete c.exp;
    expect401(await me(env, hs256(c, env.config.auth.jwtSecret)));
  });

  it('tampered payload with the original signature -> 401', async () => {
    const admin = await createUser(env, 'ADMIN');
    const adminTokens = await login(env, admin.email);
    const [h, , s] = tokens.accessToken.split('.');
    const original = decodePayload(tokens.accessToken);
    const asAdmin = `${h}.${b64u({ ...original, sub: admin.id, sid: decodePayload(adminTokens.accessToken).sid })}.${s}`;
    expect401(await me(env, asAdmin));
    const withRole = `${h}.${b64u({ ...original, role: 'ADMIN' })}.${s}`;
    expect401(await me(env, withRole));
    const longer = `${h}.${b64u({ ...original, exp: (original.exp as number) + 86_400 })}.${s}`;
    expect401(await me(env, longer));
    // The tampered admin token did not grant admin access either.
    expect401(
      await env.app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ${asAdmin}` } }),
    );
  });

  it('alg "none" -> 401', async () => {
    const payload = b64u(claimsFor(user.id, sid));
    for (const alg of ['none', 'None', 'NONE']) {
      expect401(await me(env, `${b64u({ alg, typ: 'JWT' })}.${payload}.`));
    }
    // alg none carrying the original signature
    const s = tokens.accessToken.split('.')[2];
    expect401(await me(env, `${b64u({ alg: 'none', typ: 'JWT' })}.${payload}.${s}`));
  });

  it('HS256 signed with a different secret -> 401', async () => {
    expect401(await me(env, hs256(claimsFor(user.id, sid), randomBytes(48).toString('base64url'))));
  });

  it('another HMAC algorithm with the right secret -> 401 (HS256 pinned)', async () => {
    const input = `${b64u({ alg: 'HS512', typ: 'JWT' })}.${b64u(claimsFor(user.id, sid))}`;
    const token = `${input}.${createHmac('sha512', env.config.auth.jwtSecret).update(input).digest('base64url')}`;
    expect401(await me(env, token));
  });

  it('wrong iss or aud -> 401', async () => {
    expect401(await me(env, hs256(claimsFor(user.id, sid, { iss: 'someone-else' }), env.config.auth.jwtSecret)));
    expect401(await me(env, hs256(claimsFor(user.id, sid, { aud: 'another-api' }), env.config.auth.jwtSecret)));
    const noIss: Record<string, unknown> = claimsFor(user.id, sid);
    delete noIss.iss;
    expect401(await me(env, hs256(noIss, env.config.auth.jwtSecret)));
    const noAud: Record<string, unknown> = claimsFor(user.id, sid);
    delete noAud.aud;
    expect401(await me(env, hs256(noAud, env.config.auth.jwtSecret)));
  });

  it('missing sid, or typ other than "access" -> 401', async () => {
    const noSid: Record<string, unknown> = claimsFor(user.id, sid);
    delete noSid.sid;
    expect401(await me(env, hs256(noSid, env.config.auth.jwtSecret)));
    expect401(await me(env, hs256(claimsFor(user.id, sid, { typ: 'refresh' }), env.config.auth.jwtSecret)));
    const noTyp: Record<string, unknown> = claimsFor(user.id, sid);
    delete noTyp.typ;
    expect401(await me(env, hs256(noTyp, env.config.auth.jwtSecret)));
    expect401(await me(env, hs256(claimsFor(user.id, randomUUID()), env.config.auth.jwtSecret)));
  });

  it("a valid signature naming another user's session -> 401", async () => {
    const other = await createUser(env, 'ADMIN');
    const otherSid = decodePayload((await login(env, other.email)).accessToken).sid as string;
    // sub = me, sid = the admin's session; and sub = admin with my session.
    expect401(await me(env, hs256(claimsFor(user.id, otherSid), env.config.auth.jwtSecret)));
    expect401(await me(env, hs256(claimsFor(other.id, sid), env.config.auth.jwtSecret)));
  });

  it('a refresh token used as a bearer token -> 401', async () => {
    expect401(await me(env, tokens.refreshToken));
  });

  it('an expired session rejects its access token', async () => {
    const u = await createUser(env, 'LAWYER');
    const t = await login(env, u.email);
    expect((await me(env, t.accessToken)).statusCode).toBe(200);
    await env.sql(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
      decodePayload(t.accessToken).sid,
    ]);
    expect401(await me(env, t.accessToken));
    expect401(await refresh(env, t.refreshToken));
  });
});

// ---------------------------------------------------------------------------
// Refresh, reuse detection, logout
// ---------------------------------------------------------------------------
describe('refresh tokens', () => {
  it('rotation returns a new pair; the old refresh token then fails', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const first = await login(env, u.email);
    const r = await refresh(env, first.refreshToken);
    expect(r.statusCode, r.body).toBe(200);
    const next = r.json();
    expect(Object.keys(next).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user']);
    expect(next.user.id).toBe(u.id);
    expect(next.refreshToken).not.toBe(first.refreshToken);
    expect(decodePayload(next.accessToken).sid).toBe(decodePayload(first.accessToken).sid);
    expect((await me(env, next.accessToken)).statusCode).toBe(200);
    expect401(await refresh(env, first.refreshToken));
  });

  it('re-using a rotated refresh token revokes the whole session: newest access and refresh tokens stop working', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const first = await login(env, u.email);
    const second = (await refresh(env, first.refreshToken)).json();
    const third = (await refresh(env, second.refreshToken)).json();
    expect((await me(env, third.accessToken)).statusCode).toBe(200);

    expect401(await refresh(env, first.refreshToken)); // the stolen, already rotated token
    expect401(await me(env, third.accessToken));
    expect401(await refresh(env, third.refreshToken));
    const rows = await env.sql<{ revoked_at: Date | null; revoke_reason: string | null }>(
      'SELECT revoked_at, revoke_reason FROM sessions WHERE id = $1',
      [decodePayload(first.accessToken).sid],
    );
    expect(rows[0].revoked_at).not.toBeNull();
    expect(rows[0].revoke_reason).toBe('refresh_token_reuse');
  });

  it('another session of the same user survives a reuse in one session', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const a = await login(env, u.email);
    const b = await login(env, u.email);
    await refresh(env, a.refreshToken);
    expect401(await refresh(env, a.refreshToken));
    expect((await me(env, b.accessToken)).statusCode).toBe(200);
  });

  it('two concurrent refreshes with the same token yield at most one 200', async () => {
    for (let round = 0; round < 4; round++) {
      const u = await createUser(env, 'CASEWORKER');
      const t = await login(env, u.email);
      const results = await Promise.all([
        refresh(env, t.refreshToken),
        refresh(env, t.refreshToken),
        refresh(env, t.refreshToken),
      ]);
      const codes = results.map((r) => r.statusCode);
      expect(codes.filter((c) => c === 200).length, JSON.stringify(codes)).toBeLessThanOrEqual(1);
      for (const c of codes) expect([200, 401]).toContain(c);
      for (const r of results.filter((x) => x.statusCode === 401)) expect401(r);
      // Only one new refresh token row may exist for the session (the original plus at most one successor).
      const rows = await env.sql('SELECT 1 FROM refresh_tokens WHERE session_id = $1', [
        decodePayload(t.accessToken).sid,
      ]);
      expect(rows.length).toBeLessThanOrEqual(2);
    }
  });

  it('rejects an unknown refresh token and extra fields', async () => {
    expect401(await refresh(env, `rt_${randomBytes(32).toString('base64url')}`));
    expectProblem(
      await env.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: 'x', userId: randomUUID() },
      }),
      400,
    );
  });
});

describe('logout', () => {
  it("204, and the session's access and refresh tokens stop working", async () => {
    const u = await createUser(env, 'LAWYER');
    const t = await login(env, u.email);
    const other = await login(env, u.email);
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      payload: {},
      headers: { authorization: `Bearer ${t.accessToken}` },
    });
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    expect401(await me(env, t.accessToken));
    expect401(await refresh(env, t.refreshToken));
    // Only that session ended.
    expect((await me(env, other.accessToken)).statusCode).toBe(200);
  });

  it('without any request body (refreshToken is optional) -> 204 and the current session ends', async () => {
    const u = await createUser(env, 'LAWYER');
    const t = await login(env, u.email);
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: { authorization: `Bearer ${t.accessToken}` },
    });
    expect(res.statusCode, res.body).toBe(204);
    expect401(await me(env, t.accessToken));
  });

  it('with the refreshToken of the current session in the body', async () => {
    const u = await createUser(env, 'LAWYER');
    const t = await login(env, u.email);
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      payload: { refreshToken: t.refreshToken },
      headers: { authorization: `Bearer ${t.accessToken}` },
    });
    expect(res.statusCode, res.body).toBe(204);
    expect401(await refresh(env, t.refreshToken));
    expect401(await me(env, t.accessToken));
  });

  it("another user's refresh token in the body does not end that user's session", async () => {
    const victim = await createUser(env, 'ADMIN');
    const vt = await login(env, victim.email);
    const attacker = await createUser(env, 'LAWYER');
    const at = await login(env, attacker.email);
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      payload: { refreshToken: vt.refreshToken },
      headers: { authorization: `Bearer ${at.accessToken}` },
    });
    expect(res.statusCode).toBe(204);
    expect((await me(env, vt.accessToken)).statusCode).toBe(200);
    expect((await refresh(env, vt.refreshToken)).statusCode).toBe(200);
  });

  it('without a token -> 401', async () => {
    expect401(await env.app.inject({ method: 'POST', url: '/v1/auth/logout' }));
  });
});

// ---------------------------------------------------------------------------
// Immediate effect of admin actions
// ---------------------------------------------------------------------------
describe('admin actions take effect on the next request', () => {
  it('POST /v1/users/:id/revoke-sessions -> 204; every session of the user dies at once', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const u = await createUser(env, 'CASEWORKER');
    const s1 = await login(env, u.email);
    const s2 = await login(env, u.email);
    expect((await me(env, s1.accessToken)).statusCode).toBe(200);
    const res = await admin.post(`/v1/users/${u.id}/revoke-sessions`);
    expect(res.statusCode, res.body).toBe(204);
    expect401(await me(env, s1.accessToken));
    expect401(await me(env, s2.accessToken));
    expect401(await refresh(env, s1.refreshToken));
    expect401(await refresh(env, s2.refreshToken));
    // The admin is unaffected, and the user may sign in again.
    expect((await admin.get('/v1/me')).statusCode).toBe(200);
    expect((await rawLogin(env, u.email, DEFAULT_PASSWORD)).statusCode).toBe(200);
  });

  it('revoke-sessions also revokes the calendar feed URL', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const lawyer = await clientFor(env, 'LAWYER');
    const url = (await lawyer.post('/v1/me/calendar-token')).json().url as string;
    const path = new URL(url).pathname;
    expect((await env.app.inject({ url: path })).statusCode).toBe(200);
    expect((await admin.post(`/v1/users/${lawyer.userId}/revoke-sessions`)).statusCode).toBe(204);
    const gone = await env.app.inject({ url: path });
    // A problem, but not expectProblem's exact `instance`: the feed's secret token is left out of it.
    expect(gone.statusCode, gone.body).toBe(404);
    expect(gone.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(gone.json()).toMatchObject({ status: 404, instance: expect.any(String) });
    expect(gone.body).not.toContain(
      path
        .split('/')
        .pop()!
        .replace(/\.ics$/, ''),
    );
  });

  it('revoke-sessions: non-admin 403, unknown user 404', async () => {
    const cw = await clientFor(env, 'CASEWORKER');
    const target = await createUser(env, 'LAWYER');
    const tt = await login(env, target.email);
    expectProblem(await cw.post(`/v1/users/${target.id}/revoke-sessions`), 403);
    expect((await me(env, tt.accessToken)).statusCode).toBe(200);
    const admin = await clientFor(env, 'ADMIN');
    expectProblem(await admin.post(`/v1/users/${randomUUID()}/revoke-sessions`), 404);
  });

  it('PATCH /v1/users/:id {active:false} kills the access and refresh tokens and blocks login', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const u = await createUser(env, 'CASEWORKER');
    const t = await login(env, u.email);
    expect((await me(env, t.accessToken)).statusCode).toBe(200);
    const res = await admin.patch(`/v1/users/${u.id}`, { active: false });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().active).toBe(false);
    expect401(await me(env, t.accessToken));
    expect401(await refresh(env, t.refreshToken));
    expect401(await rawLogin(env, u.email, DEFAULT_PASSWORD));
  });

  it('a deactivated user stays out even if the session row were still live (the user row is re-read)', async () => {
    const u = await createUser(env, 'CASEWORKER');
    const t = await login(env, u.email);
    await env.db.user.update({ where: { id: u.id }, data: { active: false } });
    expect401(await me(env, t.accessToken));
    expect401(await refresh(env, t.refreshToken));
  });

  it('a role change takes effect immediately (ADMIN demoted to CASEWORKER gets 403)', async () => {
    const boss = await clientFor(env, 'ADMIN');
    const demoted = await clientFor(env, 'ADMIN');
    expect((await demoted.get('/v1/users')).statusCode).toBe(200);
    const res = await boss.patch(`/v1/users/${demoted.userId}`, { role: 'CASEWORKER' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().role).toBe('CASEWORKER');
    const p = expectProblem(await demoted.get('/v1/users'), 403);
    expect(p.type).toMatch(/forbidden$/);
    expectProblem(
      await demoted.post('/v1/users', {
        email: `x-${uniq()}@example.org`,
        displayName: 'X',
        role: 'ADMIN',
        password: 'a long enough password',
      }),
      403,
    );
    expect((await demoted.get('/v1/me')).json().role).toBe('CASEWORKER');
  });

  it('a promotion takes effect immediately too', async () => {
    const boss = await clientFor(env, 'ADMIN');
    const cw = await clientFor(env, 'CASEWORKER');
    expectProblem(await cw.get('/v1/users'), 403);
    expect((await boss.patch(`/v1/users/${cw.userId}`, { role: 'ADMIN' })).statusCode).toBe(200);
    expect((await cw.get('/v1/users')).statusCode).toBe(200);
  });

  it('an admin cannot deactivate or demote themselves (400)', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const p1 = expectProblem(await admin.patch(`/v1/users/${admin.userId}`, { active: false }), 400);
    expect(p1.errors?.map((e) => e.path)).toContain('body.active');
    const p2 = expectProblem(await admin.patch(`/v1/users/${admin.userId}`, { role: 'LAWYER' }), 400);
    expect(p2.errors?.map((e) => e.path)).toContain('body.role');
    expect((await admin.get('/v1/users')).statusCode).toBe(200);
  });
});

// ---------------------------------------------------------------------------
// Users and teams administration
// ---------------------------------------------------------------------------
describe('POST /v1/users', () => {
  it('creates a user with a lowercased email and an argon2id hash (m >= 19456, t >= 2)', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const local = `New.Person-${uniq()}`;
    const password = `a strong passphrase ${uniq()}`;
    const res = await admin.post('/v1/users', {
      email: `${local}@Example.org`,
      displayName: 'New Person',
      role: 'LAWYER',
      password,
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      email: `${local.toLowerCase()}@example.org`,
      displayName: 'New Person',
      role: 'LAWYER',
      active: true,
      teamIds: [],
    });
    expect(res.body).not.toMatch(/argon2|passwordHash|password_hash/i);
    expect(res.body).not.toContain(password);

    const [row] = await env.sql<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [body.id]);
    expect(row.password_hash.startsWith('$argon2id$')).toBe(true);
    expect(row.password_hash).not.toContain(password);
    const m = /\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(row.password_hash);
    expect(m, row.password_hash).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(19456);
    expect(Number(m![2])).toBeGreaterThanOrEqual(2);
    expect(Number(m![3])).toBeGreaterThanOrEqual(1);

    // The new user can sign in with that password.
    const lr = await rawLogin(env, `${local}@example.org`, password);
    expect(lr.statusCode, lr.body).toBe(200);
    expect(lr.json().user.id).toBe(body.id);
  });

  it('validation: short password 400 naming body.password, bad role 400, unknown field 400, duplicate email 409', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const base = () => ({
      email: `v-${uniq()}@example.org`,
      displayName: 'Valid Name',
      role: 'CASEWORKER',
      password: 'long enough password',
    });

    const short = expectProblem(await admin.post('/v1/users', { ...base(), password: 'short' }), 400);
    expect(short.errors?.map((e) => e.path)).toContain('body.password');
    expect(short.detail).not.toContain('short"');

    const role = expectProblem(await admin.post('/v1/users', { ...base(), role: 'SUPERUSER' }), 400);
    expect(role.errors?.map((e) => e.path)).toContain('body.role');

    expectProblem(await admin.post('/v1/users', { ...base(), isAdmin: true }), 400);
    expectProblem(
      await admin.post('/v1/users', { ...base(), passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$x$y' }),
      400,
    );

    const missing = expectProblem(
      await admin.post('/v1/users', {
        email: `v-${uniq()}@example.org`,
        role: 'CASEWORKER',
        password: 'long enough password',
      }),
      400,
    );
    expect(missing.errors?.map((e) => e.path)).toContain('body.displayName');

    const email = expectProblem(await admin.post('/v1/users', { ...base(), email: 'not-an-email' }), 400);
    expect(email.errors?.map((e) => e.path)).toContain('body.email');

    const first = base();
    expect((await admin.post('/v1/users', first)).statusCode).toBe(201);
    const dup = expectProblem(await admin.post('/v1/users', { ...base(), email: first.email }), 409);
    expect(dup.type).toMatch(/conflict$/);
    // The same address in other case is the same account.
    expectProblem(await admin.post('/v1/users', { ...base(), email: first.email.toUpperCase() }), 409);
    expect(await env.sql('SELECT 1 FROM users WHERE email = $1', [first.email])).toHaveLength(1);
  });

  it('non-admins get 403 on POST, GET and PATCH users', async () => {
    const target = await createUser(env, 'LAWYER');
    for (const role of ['COORDINATOR', 'CASEWORKER', 'LAWYER'] as const) {
      const c = await clientFor(env, role);
      const email = `sneaky-${uniq()}@example.org`;
      expectProblem(
        await c.post('/v1/users', { email, displayName: 'Sneaky', role: 'ADMIN', password: 'long enough password' }),
        403,
      );
      expect(await env.sql('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
      expectProblem(await c.get('/v1/users'), 403);
      expectProblem(await c.get(`/v1/users/${target.id}`), 403);
      expectProblem(await c.patch(`/v1/users/${target.id}`, { role: 'ADMIN' }), 403);
      expectProblem(await c.patch(`/v1/users/${c.userId}`, { role: 'ADMIN' }), 403);
      const [row] = await env.sql<{ role: string }>('SELECT role FROM users WHERE id = $1', [c.userId]);
      expect(row.role).toBe(role);
    }
  });

  it('PATCH validation: unknown field 400, empty body 400, unknown user 404', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const target = await createUser(env, 'LAWYER');
    expectProblem(await admin.patch(`/v1/users/${target.id}`, { passwordHash: 'x' }), 400);
    expectProblem(await admin.patch(`/v1/users/${target.id}`, { email: 'new@example.org' }), 400);
    expectProblem(await admin.patch(`/v1/users/${target.id}`, {}), 400);
    expectProblem(await admin.patch(`/v1/users/${randomUUID()}`, { displayName: 'Nobody' }), 404);
    expectProblem(await admin.get('/v1/users/not-a-uuid'), 400);
  });
});

describe('teams', () => {
  it('POST /v1/teams by non-admins -> 403; by admin -> 201', async () => {
    for (const role of ['COORDINATOR', 'CASEWORKER', 'LAWYER'] as const) {
      const c = await clientFor(env, role);
      const name = `Sneaky team ${uniq()}`;
      expectProblem(await c.post('/v1/teams', { name, countries: ['AM'] }), 403);
      expect(await env.sql('SELECT 1 FROM teams WHERE name = $1', [name])).toHaveLength(0);
    }
    const admin = await clientFor(env, 'ADMIN');
    const res = await admin.post('/v1/teams', { name: `Caucasus ${uniq()}`, countries: ['AM', 'GE', 'AM'] });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().countries).toEqual(['AM', 'GE']);
    expect(res.json().memberIds).toEqual([]);
  });

  it('GET /v1/teams works for any signed-in user, 401 without a token', async () => {
    const team = await createTeam(env);
    for (const role of ['ADMIN', 'COORDINATOR', 'CASEWORKER', 'LAWYER'] as const) {
      const c = await clientFor(env, role);
      const res = await c.get('/v1/teams');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().items.map((t: { id: string }) => t.id)).toContain(team);
    }
    expect401(await env.app.inject({ method: 'GET', url: '/v1/teams' }));
  });

  it('POST /v1/teams/:id/members: 204 for a real user, unknown user 400, unknown team 404, non-admin 403', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const team = await createTeam(env);
    const u = await createUser(env, 'CASEWORKER');
    const ok = await admin.post(`/v1/teams/${team}/members`, { userId: u.id });
    expect(ok.statusCode, ok.body).toBe(204);
    expect(await env.sql('SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2', [team, u.id])).toHaveLength(
      1,
    );

    const bad = expectProblem(await admin.post(`/v1/teams/${team}/members`, { userId: randomUUID() }), 400);
    expect(bad.errors?.map((e) => e.path)).toContain('body.userId');
    expectProblem(await admin.post(`/v1/teams/${randomUUID()}/members`, { userId: u.id }), 404);

    const cw = await clientFor(env, 'CASEWORKER');
    expectProblem(await cw.post(`/v1/teams/${team}/members`, { userId: cw.userId }), 403);
    expect(
      await env.sql('SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2', [team, cw.userId]),
    ).toHaveLength(0);
  });

  it('team members are listed to admins and to the team only', async () => {
    const team = await createTeam(env, ['GE']);
    const member = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const outsider = await clientFor(env, 'LAWYER');
    const find = async (c: typeof member) =>
      (await c.get('/v1/teams')).json().items.find((t: { id: string }) => t.id === team);
    expect((await find(member)).memberIds).toEqual([member.userId]);
    expect((await find(outsider)).memberIds).toBeUndefined();
  });

  it('a new membership shows in GET /v1/me at once (team ids are re-read per request)', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER');
    expect((await cw.get('/v1/me')).json().teamIds).toEqual([]);
    expect((await admin.post(`/v1/teams/${team}/members`, { userId: cw.userId })).statusCode).toBe(204);
    expect((await cw.get('/v1/me')).json().teamIds).toEqual([team]);
  });
});

describe('lawyer profile', () => {
  it('PUT for a non-lawyer -> 422', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const cw = await createUser(env, 'CASEWORKER');
    const p = expectProblem(
      await admin.put(`/v1/users/${cw.id}/lawyer-profile`, {
        jurisdictions: ['AM'],
        languages: ['ru'],
        phone: '+374 10 000000',
      }),
      422,
    );
    expect(p.type).toMatch(/unprocessable$/);
    expect(await env.sql('SELECT 1 FROM lawyer_profiles WHERE user_id = $1', [cw.id])).toHaveLength(0);
    expectProblem(
      await admin.put(`/v1/users/${randomUUID()}/lawyer-profile`, { jurisdictions: ['AM'], languages: ['ru'] }),
      404,
    );
  });

  it('PUT for a lawyer -> 200 with phone echoed; phone_enc holds ciphertext only', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const lawyer = await createUser(env, 'LAWYER');
    const phone = `+374 91 ${Math.floor(100000 + Math.random() * 899999)}`;
    const res = await admin.put(`/v1/users/${lawyer.id}/lawyer-profile`, {
      jurisdictions: ['AM', 'GE'],
      languages: ['ru', 'hy'],
      organisation: 'Legal Aid Yerevan',
      phone,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      userId: lawyer.id,
      jurisdictions: ['AM', 'GE'],
      languages: ['ru', 'hy'],
      organisation: 'Legal Aid Yerevan',
      phone,
    });

    const [row] = await env.sql<{ phone_enc: string }>('SELECT phone_enc FROM lawyer_profiles WHERE user_id = $1', [
      lawyer.id,
    ]);
    expect(row.phone_enc).toBeTruthy();
    expect(row.phone_enc).not.toContain(phone);
    expect(row.phone_enc).not.toContain(phone.replace(/\D/g, '').slice(-6));
    expect(row.phone_enc).not.toContain(Buffer.from(phone).toString('base64'));
    expect(row.phone_enc).toMatch(/^v1\./);

    const got = await admin.get(`/v1/users/${lawyer.id}/lawyer-profile`);
    expect(got.statusCode).toBe(200);
    expect(got.json().phone).toBe(phone);
    // Nothing in the audit trail holds the phone in clear.
    const audit = await env.sql<{ t: string }>(
      `SELECT row_to_json(a)::text AS t FROM audit_entries a WHERE entity_id = $1`,
      [lawyer.id],
    );
    expect(audit.length).toBeGreaterThan(0);
    for (const a of audit) expect(a.t).not.toContain(phone);
  });

  it('lawyer-profile routes are admin-only', async () => {
    const lawyer = await clientFor(env, 'LAWYER');
    expectProblem(
      await lawyer.put(`/v1/users/${lawyer.userId}/lawyer-profile`, { jurisdictions: ['AM'], languages: ['ru'] }),
      403,
    );
    expectProblem(await lawyer.get(`/v1/users/${lawyer.userId}/lawyer-profile`), 403);
  });
});

describe('GET /v1/me', () => {
  it('returns the user with role and teamIds, and no secrets', async () => {
    const t1 = await createTeam(env);
    const t2 = await createTeam(env);
    const c = await clientFor(env, 'CASEWORKER', { teamIds: [t1, t2] });
    const res = await c.get('/v1/me');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ id: c.userId, email: c.email, role: 'CASEWORKER', active: true });
    expect([...body.teamIds].sort()).toEqual([t1, t2].sort());
    expect(res.body).not.toMatch(/argon2|passwordHash|failedLogins/i);

    const coord = await clientFor(env, 'COORDINATOR');
    const cb = (await coord.get('/v1/me')).json();
    expect(cb.role).toBe('COORDINATOR');
    expect(cb.teamIds).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------
describe('loadConfig', () => {
  const base = () => testEnvVars('postgresql://app@127.0.0.1:5432/app');

  function problemsOf(vars: NodeJS.ProcessEnv): { err: ConfigError; problems: string[] } {
    let caught: unknown;
    try {
      loadConfig(vars);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    return { err, problems: err.problems };
  }

  it('accepts strong test values (baseline)', () => {
    const cfg = loadConfig(base());
    expect(cfg.auth.argon2.memoryCost).toBeGreaterThanOrEqual(19456);
    expect(cfg.auth.argon2.timeCost).toBeGreaterThanOrEqual(2);
    expect(cfg.crypto.currentKeyId).toBe('t1');
  });

  it('rejects a placeholder JWT_SECRET without echoing it', () => {
    const weak = 'change-me-change-me-change-me-change-me';
    const { err, problems } = problemsOf({ ...base(), JWT_SECRET: weak });
    expect(problems.some((p) => p.includes('JWT_SECRET'))).toBe(true);
    expect(err.message).not.toContain(weak);
  });

  it('rejects short and low-variety JWT secrets', () => {
    expect(problemsOf({ ...base(), JWT_SECRET: 'Xy7#kL9!q' }).problems.some((p) => p.includes('JWT_SECRET'))).toBe(
      true,
    );
    expect(problemsOf({ ...base(), JWT_SECRET: 'ab'.repeat(40) }).problems.some((p) => p.includes('JWT_SECRET'))).toBe(
      true,
    );
    expect(problemsOf({ ...base(), JWT_SECRET: '' }).problems.some((p) => p.includes('JWT_SECRET'))).toBe(true);
  });

  it('rejects malformed ENCRYPTION_KEYS', () => {
    const key = randomBytes(32).toString('base64');
    const cases = [
      'not-a-key',
      `t1:${randomBytes(16).toString('base64')}`, // 16 bytes
      `t1:${Buffer.alloc(32).toString('base64')}`, // all zeros: weak
      `bad id!:${key}`,
      `:${key}`,
      '',
      ',',
    ];
    for (const spec of cases) {
      const { problems } = problemsOf({ ...base(), ENCRYPTION_KEYS: spec });
      expect(
        problems.some((p) => p.includes('ENCRYPTION_KEYS')),
        `${spec}: ${problems.join(' | ')}`,
      ).toBe(true);
    }
    // One good key followed by a bad one is still refused.
    expect(
      problemsOf({ ...base(), ENCRYPTION_KEYS: `k1:${key},k2:short` }).problems.some((p) =>
        p.includes('ENCRYPTION_KEYS'),
      ),
    ).toBe(true);
  });

  it('a malformed ENCRYPTION_KEYS entry is not echoed into the error (the key itself must not leak to logs)', () => {
    const rawKey = randomBytes(32).toString('base64'); // a common mistake: the key without "<id>:"
    const { err } = problemsOf({ ...base(), ENCRYPTION_KEYS: rawKey });
    expect(err.message).toContain('ENCRYPTION_KEYS');
    expect(err.message).not.toContain(rawKey.slice(0, 12));
  });

  it('rejects a BLIND_INDEX_KEY equal to an encryption key, and a malformed one', () => {
    const key = randomBytes(32).toString('base64');
    expect(
      problemsOf({ ...base(), ENCRYPTION_KEYS: `t1:${key}`, BLIND_INDEX_KEY: key }).problems.some((p) =>
        p.includes('BLIND_INDEX_KEY'),
      ),
    ).toBe(true);
    expect(
      problemsOf({ ...base(), BLIND_INDEX_KEY: randomBytes(16).toString('base64') }).problems.some((p) =>
        p.includes('BLIND_INDEX_KEY'),
      ),
    ).toBe(true);
  });

  it('missing DATABASE_URL (and other required values) -> ConfigError listing every name', () => {
    const vars = base();
    delete vars.DATABASE_URL;
    const one = problemsOf(vars);
    expect(one.problems.some((p) => p.includes('DATABASE_URL'))).toBe(true);
    expect(one.err.message).toContain('DATABASE_URL');

    const many = base();
    delete many.DATABASE_URL;
    delete many.JWT_SECRET;
    delete many.ENCRYPTION_KEYS;
    const all = problemsOf(many);
    for (const name of ['DATABASE_URL', 'JWT_SECRET', 'ENCRYPTION_KEYS']) expect(all.err.message).toContain(name);

    expect(problemsOf({ ...base(), DATABASE_URL: 'not a url' }).problems.some((p) => p.includes('DATABASE_URL'))).toBe(
      true,
    );
  });

  it('TRUST_PROXY: false by default; true/false (and 1/0); a list of proxy IPs, CIDRs or proxy-addr names', () => {
    expect(loadConfig(base()).http.trustProxy).toBe(false);
    const tp = (v: string) => loadConfig({ ...base(), TRUST_PROXY: v }).http.trustProxy;
    expect(tp('false')).toBe(false);
    expect(tp('0')).toBe(false);
    expect(tp('true')).toBe(true);
    expect(tp('TRUE')).toBe(true);
    expect(tp('1')).toBe(true);
    expect(tp('10.0.0.1')).toEqual(['10.0.0.1']);
    expect(tp(' 172.16.0.0/12 , 10.0.0.0/8,192.168.1.7 ')).toEqual(['172.16.0.0/12', '10.0.0.0/8', '192.168.1.7']);
    expect(tp('loopback,uniquelocal')).toEqual(['loopback', 'uniquelocal']);
    expect(tp('::1,fd00::/8,2001:db8::/32')).toEqual(['::1', 'fd00::/8', '2001:db8::/32']);
  });

  it('TRUST_PROXY: refuses hop counts (Fastify 5 trusts no peer for them), host names, bad CIDRs and words', () => {
    for (const v of [
      '2',
      '10',
      'yes',
      'proxy.example.org',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.0/',
      '10.0.0.1,nonsense',
      ',',
    ]) {
      const { problems } = problemsOf({ ...base(), TRUST_PROXY: v });
      expect(
        problems.some((p) => p.startsWith('TRUST_PROXY')),
        `${v}: ${problems.join(' | ')}`,
      ).toBe(true);
    }
  });

  it('LOGIN_*: backoff cap, verification concurrency and queue bound', () => {
    // The defaults, without the test suites' raised queue bound.
    const { LOGIN_QUEUE_MAX: _raised, ...defaults } = base();
    const cfg = loadConfig(defaults);
    expect(cfg.auth.lockoutMinutes).toBe(15);
    expect(cfg.auth.lockoutMaxMinutes).toBe(1440);
    expect(cfg.auth.verifyConcurrency).toBe(defaultLoginConcurrency());
    expect(cfg.auth.verifyConcurrency).toBeGreaterThanOrEqual(1);
    expect(cfg.auth.verifyQueueMax).toBe(16);
    const set = loadConfig({
      ...base(),
      LOGIN_CONCURRENCY: '1',
      LOGIN_QUEUE_MAX: '0',
      LOGIN_LOCKOUT_MINUTES: '5',
      LOGIN_LOCKOUT_MAX_MINUTES: '60',
    }).auth;
    expect([set.verifyConcurrency, set.verifyQueueMax, set.lockoutMinutes, set.lockoutMaxMinutes]).toEqual([
      1, 0, 5, 60,
    ]);
    // A core left for the event loop (CPUs - 1, at least 1) and one libuv thread left for fs/dns/crypto.
    expect(defaultLoginConcurrency(1, 4)).toBe(1);
    expect(defaultLoginConcurrency(2, 4)).toBe(1);
    expect(defaultLoginConcurrency(16, 4)).toBe(3);
    expect(defaultLoginConcurrency(4, 16)).toBe(3);
    expect(defaultLoginConcurrency(1, 2)).toBe(1);
    for (const [name, value] of [
      ['LOGIN_CONCURRENCY', '0'],
      ['LOGIN_CONCURRENCY', 'many'],
      ['LOGIN_QUEUE_MAX', '-1'],
      ['LOGIN_LOCKOUT_MAX_MINUTES', '0'],
    ]) {
      expect(problemsOf({ ...base(), [name]: value }).problems.some((p) => p.includes(name))).toBe(true);
    }
    expect(
      problemsOf({ ...base(), LOGIN_LOCKOUT_MINUTES: '30', LOGIN_LOCKOUT_MAX_MINUTES: '20' }).problems.some((p) =>
        p.includes('LOGIN_LOCKOUT_MAX_MINUTES'),
      ),
    ).toBe(true);
  });

  it('rejects argon2 parameters below the OWASP floor', () => {
    expect(
      problemsOf({ ...base(), ARGON2_MEMORY_KIB: '4096' }).problems.some((p) => p.includes('ARGON2_MEMORY_KIB')),
    ).toBe(true);
    expect(problemsOf({ ...base(), ARGON2_TIME_COST: '1' }).problems.some((p) => p.includes('ARGON2_TIME_COST'))).toBe(
      true,
    );
  });
});
