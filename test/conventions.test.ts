// Integrator conventions: date bounds on /v1/me/deadlines, If-Match on
// PATCH /v1/people/:id (428 without, 412 stale, one winner of parallel edits),
// no version bump and no audit entry for a PATCH that changes nothing (cases,
// charges, people, deadlines), RateLimit-* headers on the throttled routes
// (sign-in, intake) exposed to browsers, and `npm run db:reset`'s refusals
// and its reset of a local database.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chargeBody,
  clientFor,
  countRows,
  createCase,
  createTeam,
  createTestDatabase,
  DEFAULT_PASSWORD,
  createUser,
  eventBody,
  expectProblem,
  personBody,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { INTAKE_IP_MAX } from '../src/modules/intake/intake.throttle.ts';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';

const run = promisify(execFile);
const ORIGIN = 'https://app.example.org';
let env: TestEnv;
let teamId: string;
let cw: Client;

beforeAll(async () => {
  env = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '3', CORS_ORIGINS: ORIGIN } });
  teamId = await createTeam(env, ['AM', 'GE']);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
});
afterAll(async () => env?.close());

describe('GET /v1/me/deadlines date bounds', () => {
  let ids: Record<string, string>;
  beforeAll(async () => {
    const { caseId } = await createCase(cw, teamId);
    ids = {};
    for (const [key, dueAt] of [
      ['nov30', '2026-11-30T21:00:00Z'],
      ['dec01', '2026-12-01T12:00:00Z'],
      ['dec31', '2026-12-31T23:30:00Z'],
      ['jan01', '2027-01-01T00:30:00Z'],
    ] as const) {
      const r = await cw.post(`/v1/cases/${caseId}/deadlines`, { kind: 'HEARING', title: key, dueAt });
      expect(r.statusCode, r.body).toBe(201);
      ids[key] = r.json().id;
    }
  });
  const titles = async (qs: string) => {
    const res = await cw.get(`/v1/me/deadlines?${qs}`);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().items as { title: string }[]).map((d) => d.title).filter((t) => t in ids);
  };

  it('dates: from starts at 00:00 UTC, to ends at 24:00 UTC (both inclusive)', async () => {
    expect(await titles('from=2026-12-01&to=2026-12-31')).toEqual(['dec01', 'dec31']);
    expect(await titles('from=2026-12-01')).toEqual(['dec01', 'dec31', 'jan01']);
    expect(await titles('to=2026-11-30')).toEqual(['nov30']);
    expect(await titles('from=2026-12-31&to=2026-12-31')).toEqual(['dec31']);
  });

  it('instants still work, and a date and an instant mix', async () => {
    expect(await titles('from=2026-12-01T12:00:00Z&to=2027-01-01T00:30:00%2B00:00')).toEqual([
      'dec01',
      'dec31',
      'jan01',
    ]);
    expect(await titles('from=2026-11-30T21:00:01Z&to=2026-12-01')).toEqual(['dec01']);
  });

  it('a bad bound or from after to -> 400 naming the field', async () => {
    expectProblem(await cw.get('/v1/me/deadlines?from=28.11.2026'), 400, 'querystring.from');
    expectProblem(await cw.get('/v1/me/deadlines?to=2026-13-01'), 400, 'querystring.to');
    expectProblem(await cw.get('/v1/me/deadlines?to=tomorrow'), 400, 'querystring.to');
    const p = expectProblem(await cw.get('/v1/me/deadlines?from=2026-12-02&to=2026-12-01'), 400, 'querystring.from');
    expect(JSON.stringify(p.errors)).toContain('must not be after to');
    expectProblem(
      await cw.get('/v1/me/deadlines?from=2026-12-01T10:00:00Z&to=2026-12-01T09:59:59Z'),
      400,
      'querystring.from',
    );
    // The same day as a date on both sides is a whole day, not an empty range.
    expect((await cw.get('/v1/me/deadlines?from=2026-12-01&to=2026-12-01')).statusCode).toBe(200);
  });
});

describe('PATCH /v1/people/:id with If-Match', () => {
  it('a new person has version 1 and its ETag; a PATCH needs If-Match (428), a stale one is 412', async () => {
    const created = await cw.post('/v1/people', personBody());
    expect(created.statusCode).toBe(201);
    expect(created.json().version).toBe(1);
    expect(created.headers.etag).toBe('"1"');
    const id = created.json().id as string;
    const missing = expectProblem(await cw.patch(`/v1/people/${id}`, { pseudonym: 'No-Header' }), 428);
    expect(missing.detail).toMatch(/If-Match/);
    const ok = await cw.patch(`/v1/people/${id}`, { pseudonym: 'First' }, { 'if-match': '"1"' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().version).toBe(2);
    expect(ok.headers.etag).toBe('"2"');
    // A read gives the version to send back, as header and field.
    const read = await cw.get(`/v1/people/${id}`);
    expect(read.headers.etag).toBe('"2"');
    expect(read.json().version).toBe(2);
    expectProblem(await cw.patch(`/v1/people/${id}`, { pseudonym: 'Stale' }, { 'if-match': '"1"' }), 412);
    expectProblem(
      await cw.patch(`/v1/people/${id}`, { pseudonym: 'Bad' }, { 'if-match': 'abc' }),
      400,
      'headers.if-match',
    );
    // `version` in the body is the alternative to the header, as on cases.
    const viaBody = await cw.patch(`/v1/people/${id}`, { pseudonym: 'Body', version: 2 });
    expect(viaBody.statusCode, viaBody.body).toBe(200);
    expect(viaBody.json().version).toBe(3);
    // The list shows the version too (the read path of GET /v1/people/:id is not changed here).
    const listed = (await cw.get('/v1/people?limit=100')).json().items.find((p: { id: string }) => p.id === id);
    expect(listed.version).toBe(3);
  });

  it('parallel PATCHes of one version: one 200, the rest 412, one audit entry', async () => {
    const id = (await cw.post('/v1/people', personBody())).json().id as string;
    const audit0 = await countRows(env, 'audit_entries', "action = 'person.update' AND entity_id = $1", [id]);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        cw.patch(`/v1/people/${id}`, { legalName: `Parallel Name ${i}` }, { 'if-match': '"1"' }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 412, 412, 412, 412, 412]);
    const winner = results.find((r) => r.statusCode === 200)!;
    expect(winner.json().version).toBe(2);
    expect(await countRows(env, 'audit_entries', "action = 'person.update' AND entity_id = $1", [id])).toBe(audit0 + 1);
    const [row] = await env.sql<{ version: number }>('SELECT version FROM people WHERE id = $1', [id]);
    expect(row.version).toBe(2);
  });

  it('who may not edit still cannot: a coordinator 403, a caseworker of another team 404 (with a right If-Match)', async () => {
    const { personId } = await createCase(cw, teamId);
    const coordinator = await clientFor(env, 'COORDINATOR');
    expectProblem(await coordinator.patch(`/v1/people/${personId}`, { pseudonym: 'X' }, { 'if-match': '"1"' }), 403);
    const outsider = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['KZ'])] });
    expectProblem(await outsider.patch(`/v1/people/${personId}`, { pseudonym: 'X' }, { 'if-match': '"1"' }), 404);
    const [row] = await env.sql<{ version: number }>('SELECT version FROM people WHERE id = $1', [personId]);
    expect(row.version).toBe(1);
  });
});

describe('the 201 of an event lists the deadlines it created', () => {
  it('a KZ detention lists its rule-made deadlines (the same as the case list), a threat lists none', async () => {
    // The file's caseworker joins a KZ team (no new sign-in: this file also spends the address's login budget).
    await new DeadlinesService({ db: env.db, config: env.config, clock: () => new Date() }).syncDefaultRules();
    const kzTeam = await createTeam(env, ['KZ']);
    await env.sql('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)', [kzTeam, cw.userId]);
    const kw = cw;
    const { caseId } = await createCase(kw, kzTeam, 'KZ');
    const occurredAt = new Date(Date.now() + 3_600_000).toISOString();
    const ev = await kw.post(`/v1/cases/${caseId}/events`, eventBody({ country: 'KZ', occurredAt }));
    expect(ev.statusCode, ev.body).toBe(201);
    const made = ev.json().deadlines as { id: string; triggerEventId: string; dueAt: string }[];
    expect(made.length).toBeGreaterThan(0);
    expect(made.every((d) => d.triggerEventId === ev.json().id)).toBe(true);
    expect(made.map((d) => d.dueAt)).toEqual([...made.map((d) => d.dueAt)].sort());
    const listed = (await kw.get(`/v1/cases/${caseId}/deadlines`)).json().items as { id: string }[];
    expect(made.map((d) => d.id).sort()).toEqual(listed.map((d) => d.id).sort());
    const threat = await kw.post(`/v1/cases/${caseId}/events`, eventBody({ type: 'THREAT', country: 'KZ' }));
    expect(threat.json().deadlines).toEqual([]);
  });
});

describe('a PATCH that changes nothing', () => {
  const audits = () => countRows(env, 'audit_entries');

  it('cases: 200, same version and ETag, no audit entry; stale If-Match still 412; parallel no-ops all 200', async () => {
    const { caseId } = await createCase(cw, teamId);
    const c = (await cw.get(`/v1/cases/${caseId}`)).json();
    const a0 = await audits();
    const same = await cw.patch(
      `/v1/cases/${caseId}`,
      { riskLevel: c.riskLevel, summary: c.summary },
      { 'if-match': '"1"' },
    );
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json().version).toBe(1);
    expect(same.headers.etag).toBe('"1"');
    const parallel = await Promise.all(
      Array.from({ length: 4 }, () => cw.patch(`/v1/cases/${caseId}`, { status: c.status }, { 'if-match': '"1"' })),
    );
    expect(parallel.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    expect(await audits()).toBe(a0);
    expectProblem(await cw.patch(`/v1/cases/${caseId}`, { status: c.status }, { 'if-match': '"7"' }), 412);
    expectProblem(await cw.patch(`/v1/cases/${caseId}`, { status: c.status }), 428);
    // A real change still bumps.
    const changed = await cw.patch(`/v1/cases/${caseId}`, { riskLevel: 'CRITICAL' }, { 'if-match': '"1"' });
    expect(changed.json().version).toBe(2);
    expect(await audits()).toBe(a0 + 1);
  });

  it('charges: the same fields -> same version, no audit entry', async () => {
    const { caseId } = await createCase(cw, teamId);
    const ch = await cw.post(`/v1/cases/${caseId}/charges`, chargeBody({ filedOn: '2025-05-01' }));
    expect(ch.statusCode, ch.body).toBe(201);
    const a0 = await audits();
    const same = await cw.patch(
      `/v1/charges/${ch.json().id}`,
      { article: '207.3', status: 'WANTED', filedOn: '2025-05-01' },
      { 'if-match': '"1"' },
    );
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json().version).toBe(1);
    expect(await audits()).toBe(a0);
    expectProblem(await cw.patch(`/v1/charges/${ch.json().id}`, { article: '207.3' }, { 'if-match': '"2"' }), 412);
  });

  it('events: the same (decrypted) details and dates -> same version, no audit entry; a change bumps', async () => {
    const { caseId } = await createCase(cw, teamId);
    const fields = { details: 'Threatened by phone', sourceUrls: ['https://example.org/a'] };
    const body = eventBody({ type: 'THREAT', ...fields });
    const ev = await cw.post(`/v1/cases/${caseId}/events`, body);
    expect(ev.statusCode, ev.body).toBe(201);
    const a0 = await audits();
    const same = await cw.patch(
      `/v1/events/${ev.json().id}`,
      { occurredAt: body.occurredAt, ...fields, country: 'AM' },
      { 'if-match': '"1"' },
    );
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json().version).toBe(1);
    expect(await audits()).toBe(a0);
    expectProblem(await cw.patch(`/v1/events/${ev.json().id}`, { country: 'AM' }, { 'if-match': '"3"' }), 412);
    const changed = await cw.patch(`/v1/events/${ev.json().id}`, { details: 'Followed home' }, { 'if-match': '"1"' });
    expect(changed.json().version).toBe(2);
    expect(await audits()).toBe(a0 + 1);
  });

  it('people: the same (decrypted) values -> same version, no audit entry, nothing re-encrypted', async () => {
    const body = personBody({ contacts: [{ kind: 'PHONE', value: '+995 555 000 000' }] });
    const id = (await cw.post('/v1/people', body)).json().id as string;
    const [before] = await env.sql<{ legal_name_enc: string }>('SELECT legal_name_enc FROM people WHERE id = $1', [id]);
    const a0 = await audits();
    const same = await cw.patch(
      `/v1/people/${id}`,
      { legalName: body.legalName, pseudonym: body.pseudonym, contacts: body.contacts, tags: [] },
      { 'if-match': '"1"' },
    );
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json().version).toBe(1);
    expect(await audits()).toBe(a0);
    const [after] = await env.sql<{ legal_name_enc: string }>('SELECT legal_name_enc FROM people WHERE id = $1', [id]);
    expect(after.legal_name_enc).toBe(before.legal_name_enc);
  });

  it('deadlines: the same title -> same version, no history or audit entry', async () => {
    const { caseId } = await createCase(cw, teamId);
    const d = await cw.post(`/v1/cases/${caseId}/deadlines`, {
      kind: 'HEARING',
      title: 'Same title',
      dueAt: new Date(Date.now() + 10 * 86_400_000).toISOString(),
    });
    const a0 = await audits();
    const history0 = (await cw.get(`/v1/deadlines/${d.json().id}/history`)).json().items.length;
    const same = await cw.patch(`/v1/deadlines/${d.json().id}`, { title: 'Same title' }, { 'if-match': '"1"' });
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json().version).toBe(1);
    expect(await audits()).toBe(a0);
    expect((await cw.get(`/v1/deadlines/${d.json().id}/history`)).json().items).toHaveLength(history0);
  });
});

describe('RateLimit headers', () => {
  const loginFrom = (ip: string, email: string, password = DEFAULT_PASSWORD) =>
    env.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: ip });

  it('sign-in announces the per-address window; the 4th attempt of 3 is 429 with Retry-After and 0 left', async () => {
    const u = await createUser(env, 'LAWYER');
    const ip = '203.0.113.41';
    const first = await loginFrom(ip, u.email);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"ip";q=3;w=900');
    expect(first.headers['ratelimit']).toMatch(/^"ip";r=2;t=\d+$/);
    expect(first.headers['ratelimit-limit']).toBe('3');
    expect(first.headers['ratelimit-remaining']).toBe('2');
    const reset = Number(first.headers['ratelimit-reset']);
    expect(reset).toBeGreaterThan(890);
    expect(reset).toBeLessThanOrEqual(900);
    const wrong = await loginFrom(ip, u.email, 'wrong password here');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['ratelimit-remaining']).toBe('1');
    await loginFrom(ip, u.email);
    const refused = await loginFrom(ip, u.email);
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit']).toMatch(/^"ip";r=0;t=\d+$/);
    // Another address has its own window.
    expect((await loginFrom('203.0.113.42', u.email)).headers['ratelimit-remaining']).toBe('2');
  });

  it('the per-email lockout is not announced (no counter of failed tries leaks)', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/mfa',
      payload: { mfaToken: 'x'.repeat(43), code: '123456' },
      remoteAddress: '203.0.113.43',
    });
    expect(res.headers['ratelimit-policy']).toBeUndefined();
  });

  it('intake: the per-address window in the headers, 429 past it with Retry-After', async () => {
    const ip = '203.0.113.50';
    const post = () =>
      env.app.inject({
        method: 'POST',
        url: '/v1/intake',
        remoteAddress: ip,
        payload: {
          altcha: 'x',
          language: 'en',
          subject: { name: 'Test Person' },
          event: { type: 'DETENTION', country: 'KZ', description: 'detained' },
          reporter: { contact: 'signal' },
          consent: true,
        },
      });
    const first = await post();
    expect(first.statusCode, first.body).toBe(400);
    expect(first.headers['ratelimit-policy']).toBe(`"ip";q=${INTAKE_IP_MAX};w=3600`);
    expect(first.headers['ratelimit-remaining']).toBe(String(INTAKE_IP_MAX - 1));
    for (let i = 1; i < INTAKE_IP_MAX; i++) await post();
    const refused = await post();
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
  });

  it('a browser page of an allowed origin may read them (CORS expose list)', async () => {
    const u = await createUser(env, 'LAWYER');
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: u.email, password: DEFAULT_PASSWORD },
      headers: { origin: ORIGIN },
      remoteAddress: '203.0.113.60',
    });
    expect(res.statusCode).toBe(200);
    const exposed = String(res.headers['access-control-expose-headers']).toLowerCase().split(/,\s*/);
    for (const h of ['ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) {
      expect(exposed).toContain(h);
    }
    expect(exposed).toContain('retry-after');
  });
});

describe('npm run db:reset', () => {
  const script = path.resolve('scripts/db-reset.ts');
  const tsx = path.resolve('node_modules/.bin/tsx');
  const reset = (env: Record<string, string>, args: string[] = []) =>
    run(tsx, [script, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: e.code ?? -1,
        out: `${e.stdout}${e.stderr}`,
      }),
    );

  it('refuses with NODE_ENV=production, even with --force', async () => {
    const r = await reset({ NODE_ENV: 'production', DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/x' }, ['--force']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/NODE_ENV=production/);
  });

  it('refuses a database on another host without --force (nothing is contacted)', async () => {
    const r = await reset({ DATABASE_URL: 'postgresql://u:p@db.example.org:5432/prod' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/db\.example\.org.*--force/);
  });

  it('drops, recreates and migrates a local database', async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      "INSERT INTO teams (id, name, countries) VALUES (gen_random_uuid(), 'Gone after reset', '{AM}')",
    );
    await client.end();
    const r = await reset({ DATABASE_URL: db.url });
    expect(r.code, r.out).toBe(0);
    const after = new pg.Client({ connectionString: db.url });
    await after.connect();
    try {
      expect((await after.query('SELECT count(*)::int AS n FROM teams')).rows[0].n).toBe(0);
      const migrations = readdirSync(path.resolve('migrations'), { withFileTypes: true }).filter((d) =>
        d.isDirectory(),
      );
      const applied = await after.query(
        'SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL',
      );
      expect(applied.rows[0].n).toBe(migrations.length);
    } finally {
      await after.end();
    }
  });
});
