// GET /v1/cases as a list: every filter (hostCountry, status, riskLevel,
// assignedTo, teamId, q) alone and combined, and cursor pagination (createdAt
// order with an id tiebreak, filtered pages, limit and cursor validation).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createCase,
  createTeam,
  createUser,
  expectProblem,
  personBody,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
/** When set, the app's clock is frozen at this instant (to force createdAt ties). */
let frozen: Date | null = null;

beforeAll(async () => {
  env = await setupTestEnv({ clock: () => (frozen ? new Date(frozen) : new Date()) });
});
afterAll(async () => env?.close());

describe('case list filters', () => {
  let teamA: string;
  let teamB: string;
  let cw: Client;
  let lawyerId: string;
  const tag = uniq();
  const ids: Record<string, string> = {};
  const refs: Record<string, string> = {};

  async function open(key: string, teamId: string, body: Record<string, unknown>, pseudonym = `P-${uniq()}`) {
    const person = (await cw.post('/v1/people', personBody({ pseudonym }))).json();
    const res = await cw.post('/v1/cases', { personId: person.id, teamId, ...body });
    expect(res.statusCode, res.body).toBe(201);
    ids[key] = res.json().id;
    refs[key] = res.json().reference;
  }

  const listIds = async (qs: string) => {
    const res = await cw.get(`/v1/cases?${qs}`);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().items as { id: string }[]).map((i) => i.id).sort();
  };
  const idsOf = (...keys: string[]) => keys.map((k) => ids[k]).sort();

  beforeAll(async () => {
    teamA = await createTeam(env, ['AM', 'GE']);
    teamB = await createTeam(env, ['KZ']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamA, teamB] });
    lawyerId = (await createUser(env, 'LAWYER')).id;
    await open('am', teamA, { hostCountry: 'AM', summary: 'Plain detention story' });
    await open('ge', teamA, {
      hostCountry: 'GE',
      status: 'MONITORING',
      riskLevel: 'LOW',
      summary: `Travel ban, token summ${tag}`,
    });
    await open('kz', teamB, { hostCountry: 'KZ', riskLevel: 'CRITICAL' }, `Pseud${tag}Name`);
    await open('am2', teamA, { hostCountry: 'AM', status: 'RELOCATED' });
    const a = await cw.post(`/v1/cases/${ids.am2}/assignments`, { lawyerId, role: 'LEAD' });
    expect(a.statusCode, a.body).toBe(201);
  });

  it('without filters lists every visible case with its pseudonym', async () => {
    expect(await listIds('limit=100')).toEqual(idsOf('am', 'ge', 'kz', 'am2'));
    const items = (await cw.get('/v1/cases')).json().items as { id: string; pseudonym: string }[];
    expect(items.find((i) => i.id === ids.kz)?.pseudonym).toBe(`Pseud${tag}Name`);
  });

  it('filters by hostCountry', async () => {
    expect(await listIds('hostCountry=AM')).toEqual(idsOf('am', 'am2'));
    expect(await listIds('hostCountry=GE')).toEqual(idsOf('ge'));
    expect(await listIds('hostCountry=TR')).toEqual([]);
  });

  it('filters by status', async () => {
    expect(await listIds('status=MONITORING')).toEqual(idsOf('ge'));
    expect(await listIds('status=RELOCATED')).toEqual(idsOf('am2'));
    expect(await listIds('status=OPEN')).toEqual(idsOf('am', 'kz'));
    expect(await listIds('status=CLOSED')).toEqual([]);
  });

  it('filters by riskLevel', async () => {
    expect(await listIds('riskLevel=CRITICAL')).toEqual(idsOf('kz'));
    expect(await listIds('riskLevel=LOW')).toEqual(idsOf('ge'));
    expect(await listIds('riskLevel=MEDIUM')).toEqual(idsOf('am', 'am2'));
  });

  it('filters by assignedTo (current assignments only)', async () => {
    expect(await listIds(`assignedTo=${lawyerId}`)).toEqual(idsOf('am2'));
    expect(await listIds(`assignedTo=${randomUUID()}`)).toEqual([]);
  });

  it('filters by teamId', async () => {
    expect(await listIds(`teamId=${teamB}`)).toEqual(idsOf('kz'));
    expect(await listIds(`teamId=${teamA}`)).toEqual(idsOf('am', 'ge', 'am2'));
  });

  it('q matches reference, pseudonym and summary (case-insensitive)', async () => {
    expect(await listIds(`q=${refs.am}`)).toEqual(idsOf('am'));
    expect(await listIds(`q=${refs.am.toLowerCase()}`)).toEqual(idsOf('am'));
    expect(await listIds(`q=pseud${tag}name`)).toEqual(idsOf('kz'));
    expect(await listIds(`q=SUMM${tag}`)).toEqual(idsOf('ge'));
    expect(await listIds(`q=nothing-${tag}`)).toEqual([]);
  });

  it('q treats LIKE wildcards (% and _) literally', async () => {
    expect.soft(await listIds(`q=${encodeURIComponent('%')}`)).toEqual([]);
    expect.soft(await listIds(`q=${encodeURIComponent('_')}`)).toEqual([]);
  });

  it('filters combine', async () => {
    expect(await listIds(`hostCountry=AM&status=RELOCATED&teamId=${teamA}`)).toEqual(idsOf('am2'));
    expect(await listIds('hostCountry=AM&riskLevel=CRITICAL')).toEqual([]);
  });

  it('rejects invalid filters with 400 naming the query parameter', async () => {
    expectProblem(await cw.get('/v1/cases?hostCountry=am'), 400, 'querystring.hostCountry');
    expectProblem(await cw.get('/v1/cases?status=ARCHIVED'), 400, 'querystring.status');
    expectProblem(await cw.get('/v1/cases?riskLevel=EXTREME'), 400, 'querystring.riskLevel');
    expectProblem(await cw.get('/v1/cases?assignedTo=bob'), 400, 'querystring.assignedTo');
    expectProblem(await cw.get('/v1/cases?teamId=1'), 400, 'querystring.teamId');
    expectProblem(await cw.get('/v1/cases?colour=red'), 400);
  });
});

describe('case list pagination', () => {
  async function pageThrough(cw: Client, qs = '') {
    const seen: { id: string; createdAt: string }[][] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res = await cw.get(`/v1/cases?limit=2${qs}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      seen.push(body.items);
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    return seen;
  }

  async function expectedOrder(teamId: string) {
    return (
      await env.sql<{ id: string }>('SELECT id FROM cases WHERE team_id = $1 ORDER BY created_at DESC, id DESC', [
        teamId,
      ])
    ).map((r) => r.id);
  }

  it('limit=2 over 5 cases: pages of 2,2,1 cover each case once in createdAt-desc order; nextCursor null at the end', async () => {
    const team = await createTeam(env, ['AM']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push((await createCase(cw, team)).caseId);
      await new Promise((r) => setTimeout(r, 3));
    }
    const pages = await pageThrough(cw);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const flat = pages.flat();
    expect(flat.map((i) => i.id)).toEqual([...made].reverse());
    expect(flat.map((i) => i.id)).toEqual(await expectedOrder(team));
    const times = flat.map((i) => Date.parse(i.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(new Set(flat.map((i) => i.id)).size).toBe(5);
  });

  it('pages stay exact when cases share the same createdAt (id tiebreak)', async () => {
    const team = await createTeam(env, ['AM']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    frozen = new Date();
    try {
      for (let i = 0; i < 5; i++) await createCase(cw, team);
    } finally {
      frozen = null;
    }
    const pages = await pageThrough(cw);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const flat = pages.flat().map((i) => i.id);
    expect(new Set(flat).size).toBe(5);
    expect(flat).toEqual(await expectedOrder(team));
  });

  it('a filtered list paginates over the filtered set only', async () => {
    const team = await createTeam(env, ['AM', 'GE']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const ge: string[] = [];
    for (let i = 0; i < 3; i++) {
      ge.push((await createCase(cw, team, 'GE')).caseId);
      await createCase(cw, team, 'AM');
    }
    const pages = await pageThrough(cw, '&hostCountry=GE');
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat().map((i) => i.id)).toEqual([...ge].reverse());
  });

  it('limit=0 and limit=101 -> 400 naming querystring.limit; limit=100 is accepted', async () => {
    const team = await createTeam(env, ['AM']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    expectProblem(await cw.get('/v1/cases?limit=0'), 400, 'querystring.limit');
    expectProblem(await cw.get('/v1/cases?limit=101'), 400, 'querystring.limit');
    expectProblem(await cw.get('/v1/cases?limit=abc'), 400, 'querystring.limit');
    expectProblem(await cw.get('/v1/cases?limit=2.5'), 400, 'querystring.limit');
    expectProblem(await cw.get('/v1/people?limit=0'), 400, 'querystring.limit');
    expect((await cw.get('/v1/cases?limit=100')).statusCode).toBe(200);
  });

  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

  it('a malformed cursor -> 400 problem naming querystring.cursor', async () => {
    const team = await createTeam(env, ['AM']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const bad = [
      'not-a-cursor',
      Buffer.from('{"t":').toString('base64url'),
      b64(null),
      b64({ t: 'yesterday', id: randomUUID() }),
      b64({ t: new Date().toISOString() }),
      b64({ t: new Date().toISOString(), id: 42 }),
    ];
    for (const cursor of bad) {
      const res = await cw.get(`/v1/cases?cursor=${encodeURIComponent(cursor)}`);
      expectProblem(res, 400, 'querystring.cursor');
      const people = await cw.get(`/v1/people?cursor=${encodeURIComponent(cursor)}`);
      expectProblem(people, 400, 'querystring.cursor');
    }
  });

  it('a well-formed cursor whose id is not a UUID -> 400 querystring.cursor, not 500', async () => {
    const team = await createTeam(env, ['AM']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    for (const cursor of [
      b64({ t: new Date().toISOString(), id: 'not-a-uuid' }),
      b64({ t: new Date().toISOString(), id: '' }),
    ]) {
      const res = await cw.get(`/v1/cases?cursor=${encodeURIComponent(cursor)}`);
      expectProblem(res, 400, 'querystring.cursor');
      const people = await cw.get(`/v1/people?cursor=${encodeURIComponent(cursor)}`);
      expectProblem(people, 400, 'querystring.cursor');
    }
  });
});
