// "Ask that team" emails the caseworkers of other teams: each user may do it
// ASK_TEAM_MAX_PER_DAY times per 24 hours (here 3), counted atomically so
// parallel asks cannot slip past the limit, announced in RateLimit headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createCase,
  createTeam,
  expectProblem,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
let teamA: string;
let teamB: string;
const name = () => `Asked Person ${uniq()}`;

beforeAll(async () => {
  env = await setupTestEnv({ env: { ASK_TEAM_MAX_PER_DAY: '3' } });
  teamA = await createTeam(env, ['AM']);
  teamB = await createTeam(env, ['KZ']);
});
afterAll(async () => env?.close());

const ask = (c: Client, legalName: string) => c.post('/v1/people/duplicates/ask-team', { legalName });
const noticeCount = async () =>
  (
    await env.sql<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries WHERE action = 'person.duplicate_ask'`)
  )[0].n;

describe('ask-team rate limit', () => {
  it('three asks a day, the fourth 429 with Retry-After; the headers count down; another user has their own allowance', async () => {
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
    const other = await clientFor(env, 'CASEWORKER', { teamIds: [teamB] });
    const hiddenName = name();
    await createCase(other, teamB, 'KZ', hiddenName);
    const before = await noticeCount();
    for (const left of [2, 1, 0]) {
      const res = await ask(cw, hiddenName);
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toEqual({ asked: true });
      expect(res.headers['ratelimit-policy']).toBe('"user";q=3;w=86400');
      expect(res.headers['ratelimit-remaining']).toBe(String(left));
    }
    const refused = await ask(cw, hiddenName);
    const p = expectProblem(refused, 429);
    expect(p.detail).toMatch(/3 asks/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(86_000);
    // Nothing was sent or audited for the refused one.
    expect(await noticeCount()).toBe(before + 3);
    // Someone else is not affected.
    expect((await ask(other, name())).statusCode).toBe(202);
  });

  it('ten parallel asks from one user: exactly three pass', async () => {
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamA] });
    const results = await Promise.all(Array.from({ length: 10 }, () => ask(cw, name())));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([202, 202, 202, 429, 429, 429, 429, 429, 429, 429]);
  });

  it('the counter names nobody: only HMAC keys in the throttle table', async () => {
    const rows = await env.sql<{ key: string }>(`SELECT key FROM intake_throttle WHERE key LIKE 'ask:%'`);
    expect(rows.length).toBeGreaterThan(0);
    const users = await env.sql<{ id: string }>(`SELECT id FROM users`);
    for (const r of rows) for (const u of users) expect(r.key).not.toContain(u.id);
  });
});
