// Second factors (issue 11): TOTP, recovery codes and passkeys; the second
// step of sign-in, its lockout, compulsory enrolment, and security notices.
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { sendSecurityNotices } from '../src/workers/reminders/security-notices.ts';
import {
  clientFor,
  countRows,
  createTeam,
  createUser,
  DEFAULT_PASSWORD,
  expectProblem,
  setupTestEnv,
  testEnvVars,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { startSmtpSink } from './reminder-sinks.ts';
import { SoftAuthenticator } from './soft-authenticator.ts';
import nodemailer from 'nodemailer';

const ORIGIN = 'https://cases.example.org';

/** A problem of this status whose type ends with `/<type>`. */
function expectType(res: Parameters<typeof expectProblem>[0], status: number, type: string) {
  expect(expectProblem(res, status).type).toMatch(new RegExp(`/${type}$`));
}
let env: TestEnv;
let now = Date.now();
const tick = (seconds: number) => {
  now += seconds * 1000;
};

beforeAll(async () => {
  // Every sign-in here comes from 127.0.0.1: the per-address window is raised so that the per-account rules show.
  env = await setupTestEnv({
    clock: () => new Date(now),
    env: { PUBLIC_BASE_URL: ORIGIN, LOGIN_IP_MAX_ATTEMPTS: '1000' },
  });
});
afterAll(async () => env?.close());

const post = (url: string, payload: object, token?: string) =>
  env.app.inject({
    method: 'POST',
    url,
    payload,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

/** A TOTP code for the current test time (or `offsetSteps` steps away). */
const codeFor = (secret: string, offsetSteps = 0) =>
  generate({ secret, epoch: Math.floor(now / 1000) + offsetSteps * 30 });

async function enrolTotp(c: Client) {
  const started = await c.post('/v1/me/mfa/totp', { password: DEFAULT_PASSWORD });
  expect(started.statusCode).toBe(201);
  const { secret, otpauthUrl } = started.json();
  expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
  const confirmed = await c.post('/v1/me/mfa/totp/confirm', { code: await codeFor(secret) });
  expect(confirmed.statusCode).toBe(200);
  return { secret: secret as string, recoveryCodes: confirmed.json().recoveryCodes as string[] };
}

async function passwordStep(email: string) {
  const res = await post('/v1/auth/login', { email, password: DEFAULT_PASSWORD });
  expect(res.statusCode).toBe(200);
  return res.json() as { mfaRequired?: true; mfaToken: string; methods: string[]; accessToken?: string };
}

describe('TOTP', () => {
  it('enrols with the password, then sign-in needs a code; a code is accepted once', async () => {
    const c = await clientFor(env, 'CASEWORKER');
    const { secret, recoveryCodes } = await enrolTotp(c);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    // The secret is stored encrypted, never in clear.
    const [row] = await env.sql<{ secret_enc: string }>('SELECT secret_enc FROM user_totp WHERE user_id = $1', [
      c.userId,
    ]);
    expect(row.secret_enc).not.toContain(secret);
    expect((await c.get('/v1/me/mfa')).json()).toMatchObject({ totp: { enrolled: true }, recoveryCodesLeft: 10 });

    const step1 = await passwordStep(c.email);
    expect(step1).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery'] });
    expect(step1.accessToken).toBeUndefined();
    // The code of the confirmation step is spent: the next step's code signs in.
    tick(30);
    const code = await codeFor(secret);
    const ok = await post('/v1/auth/mfa', { mfaToken: step1.mfaToken, code });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().accessToken).toBeTruthy();
    // The same mfaToken again: spent.
    expectProblem(await post('/v1/auth/mfa', { mfaToken: step1.mfaToken, code }), 401);
    // The same code with a new password step: replay refused.
    const step2 = await passwordStep(c.email);
    expectProblem(await post('/v1/auth/mfa', { mfaToken: step2.mfaToken, code }), 401);
  });

  it('two completions racing with one code: exactly one signs in', async () => {
    const c = await clientFor(env, 'CASEWORKER');
    const { secret } = await enrolTotp(c);
    tick(30);
    const code = await codeFor(secret);
    // Two password steps and two completions: four tries, under the lockout's five.
    const steps = await Promise.all([passwordStep(c.email), passwordStep(c.email)]);
    const results = await Promise.all(steps.map((s) => post('/v1/auth/mfa', { mfaToken: s.mfaToken, code })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('wrong codes count toward the sign-in lockout; a right code while blocked answers 429', async () => {
    const c = await clientFor(env, 'CASEWORKER');
    const { secret } = await enrolTotp(c);
    const step = await passwordStep(c.email); // one try spent by the password
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await post('/v1/auth/mfa', { mfaToken: step.mfaToken, code: '000000' })).statusCode);
    }
    // Five tries per streak (LOGIN_MAX_FAILURES): the password and four codes were checked, then blocked.
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    tick(30);
    const blocked = await post('/v1/auth/mfa', { mfaToken: step.mfaToken, code: await codeFor(secret) });
    expectProblem(blocked, 429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('an expired mfaToken is refused', async () => {
    const c = await clientFor(env, 'CASEWORKER');
    const { secret } = await enrolTotp(c);
    const step = await passwordStep(c.email);
    tick(5 * 60 + 1);
    expectProblem(await post('/v1/auth/mfa', { mfaToken: step.mfaToken, code: await codeFor(secret) }), 401);
  });

  it('a recovery code signs in once; the same code again is refused', async () => {
    const c = await clientFor(env, 'CASEWORKER');
    const { recoveryCodes } = await enrolTotp(c);
    const s1 = await passwordStep(c.email);
    expect(
      (await post('/v1/auth/mfa', { mfaToken: s1.mfaToken, code: recoveryCodes[3].toUpperCase() })).statusCode,
    ).toBe(200);
    const s2 = await passwordStep(c.email);
    expectProblem(await post('/v1/auth/mfa', { mfaToken: s2.mfaToken, code: recoveryCodes[3] }), 401);
    expect((await c.get('/v1/me/mfa')).json().recoveryCodesLeft).toBe(9);
    // Stored as keyed hashes: no code appears in the table.
    const rows = await env.sql<{ code_hash: string }>('SELECT code_hash FROM recovery_codes WHERE user_id = $1', [
      c.userId,
    ]);
    for (const code of recoveryCodes) expect(JSON.stringify(rows)).not.toContain(code.replace(/-/g, ''));
  });

  it('enrolling needs the right password; a second enrolment is 409; removing needs recent auth', async () => {
    const c = await clientFor(env, 'CASEWORKER');
    expectProblem(await c.post('/v1/me/mfa/totp', { password: 'not the password' }), 401);
    await enrolTotp(c);
    expectProblem(await c.post('/v1/me/mfa/totp', { password: DEFAULT_PASSWORD }), 409);
    tick(601);
    expectType(await c.del('/v1/me/mfa/totp'), 401, 'reauthentication-required');
    tick(-601);
    expect((await c.del('/v1/me/mfa/totp')).statusCode).toBe(204);
    // The last factor gone: the recovery codes go with it, and sign-in is one step again.
    expect(await countRows(env, 'recovery_codes', 'user_id = $1', [c.userId])).toBe(0);
    expect((await passwordStep(c.email)).accessToken).toBeTruthy();
  });
});

describe('passkeys (WebAuthn, software authenticator)', () => {
  async function registerPasskey(c: Client, auth: SoftAuthenticator) {
    const options = (await c.post('/v1/me/mfa/webauthn/options', {})).json();
    expect(options.rp.id).toBe('cases.example.org');
    const res = await c.post('/v1/me/mfa/webauthn', { response: auth.register(options), name: 'Phone' });
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  async function assertion(
    email: string,
    auth: SoftAuthenticator,
    over: Parameters<SoftAuthenticator['assert']>[1] = {},
  ) {
    const step = await passwordStep(email);
    expect(step.methods).toContain('webauthn');
    const options = (await post('/v1/auth/mfa/webauthn-options', { mfaToken: step.mfaToken })).json();
    return post('/v1/auth/mfa', { mfaToken: step.mfaToken, webauthn: auth.assert(options, over) });
  }

  it('registers a passkey (first factor: recovery codes too) and signs in with a real assertion', async () => {
    const c = await clientFor(env, 'LAWYER');
    const auth = new SoftAuthenticator('cases.example.org', ORIGIN);
    const created = await registerPasskey(c, auth);
    expect(created.recoveryCodes).toHaveLength(10);
    expect((await c.get('/v1/me/mfa')).json().passkeys).toEqual([
      expect.objectContaining({ id: created.id, name: 'Phone' }),
    ]);
    const ok = await assertion(c.email, auth);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().accessToken).toBeTruthy();
  });

  it('refuses a wrong signature, a wrong origin, and a counter that did not go up', async () => {
    const c = await clientFor(env, 'LAWYER');
    const auth = new SoftAuthenticator('cases.example.org', ORIGIN, { counter: 10 });
    await registerPasskey(c, auth);
    // Each attempt is two tries of the lockout (password step, completion): a success in between resets it.
    expectProblem(await assertion(c.email, auth, { tamper: true }), 401);
    expect((await assertion(c.email, auth)).statusCode).toBe(200); // counter 12 (11 went with the refused one)
    expectProblem(await assertion(c.email, auth, { origin: 'https://phish.example.net' }), 401);
    expectProblem(await assertion(c.email, auth, { counter: 5 }), 401); // a cloned authenticator
  });

  it('a registration for another origin is refused; removing a passkey needs recent auth', async () => {
    const c = await clientFor(env, 'LAWYER');
    const auth = new SoftAuthenticator('cases.example.org', ORIGIN);
    const options = (await c.post('/v1/me/mfa/webauthn/options', {})).json();
    const bad = await c.post('/v1/me/mfa/webauthn', {
      response: auth.register(options, { origin: 'https://phish.example.net' }),
      name: 'Phone',
    });
    expectProblem(bad, 422);
    const created = await registerPasskey(c, auth);
    tick(601);
    expectType(await c.del(`/v1/me/mfa/webauthn/${created.id}`), 401, 'reauthentication-required');
    tick(-601);
    const other = await clientFor(env, 'LAWYER');
    expectProblem(await other.del(`/v1/me/mfa/webauthn/${created.id}`), 404);
    expect((await c.del(`/v1/me/mfa/webauthn/${created.id}`)).statusCode).toBe(204);
  });
});

describe('compulsory enrolment (MFA_REQUIRED_ROLES)', () => {
  it('defaults to ADMIN', () => {
    const { MFA_REQUIRED_ROLES: _omit, ...vars } = testEnvVars('postgresql://x@127.0.0.1/x');
    expect(loadConfig(vars).auth.mfaRequiredRoles).toEqual(['ADMIN']);
  });

  it('an admin without a factor gets tokens that reach only /v1/me, /v1/me/mfa/* and logout until enrolled', async () => {
    const strict = await setupTestEnv({ env: { MFA_REQUIRED_ROLES: 'ADMIN' } });
    try {
      const u = await createUser(strict, 'ADMIN');
      const res = await strict.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: u.email, password: DEFAULT_PASSWORD },
      });
      expect(res.json()).toMatchObject({ mfaEnrolmentRequired: true });
      const token = res.json().accessToken;
      const as = (method: 'GET' | 'POST', url: string, payload?: object) =>
        strict.app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
      expectType(await as('GET', '/v1/users'), 403, 'mfa-enrolment-required');
      expectType(await as('GET', '/v1/cases'), 403, 'mfa-enrolment-required');
      expect((await as('GET', '/v1/me')).statusCode).toBe(200);
      const started = (await as('POST', '/v1/me/mfa/totp', { password: DEFAULT_PASSWORD })).json();
      const code = await generate({ secret: started.secret });
      expect((await as('POST', '/v1/me/mfa/totp/confirm', { code })).statusCode).toBe(200);
      // Lifted at the very next request, same token.
      expect((await as('GET', '/v1/users')).statusCode).toBe(200);
      // A caseworker is not concerned.
      const cw = await clientFor(strict, 'CASEWORKER', { teamIds: [await createTeam(strict)] });
      expect((await cw.get('/v1/cases')).statusCode).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('security notices', () => {
  it('are queued with the change and emailed by the worker, without case data', async () => {
    const smtp = await startSmtpSink();
    try {
      const c = await clientFor(env, 'CASEWORKER');
      await enrolTotp(c);
      expect(
        (
          await c.put('/v1/me/notification-settings', {
            email: { enabled: true },
            webhook: { enabled: true, url: 'http://127.0.0.1:9/hook', secret: 'a-webhook-secret-of-length' },
          })
        ).statusCode,
      ).toBe(200);
      const [audit] = await env.sql<{ changes: { webhookHost: { new: string } } }>(
        `SELECT changes FROM audit_entries WHERE action = 'notification_settings.put' AND actor_id = $1`,
        [c.userId],
      );
      expect(audit.changes.webhookHost.new).toBe('127.0.0.1:9');
      const deps = {
        db: env.db,
        config: env.config,
        clock: () => new Date(now),
        log: env.app.log,
        mailer: nodemailer.createTransport(smtp.url),
      };
      expect(await sendSecurityNotices(deps)).toBeGreaterThanOrEqual(2);
      const mine = smtp.messages.filter((m) => m.rcpt.includes(c.email.toLowerCase()));
      expect(mine.map((m) => m.text).join('\n')).toMatch(/second factor was added[\s\S]*webhook on, to 127\.0\.0\.1:9/);
      // Sent once: a second run sends nothing more for this user.
      await sendSecurityNotices(deps);
      expect(smtp.messages.filter((m) => m.rcpt.includes(c.email.toLowerCase()))).toHaveLength(mine.length);
    } finally {
      await smtp.close();
    }
  });
});
