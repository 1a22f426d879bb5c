// Route-level behaviour of people, cases, charges, events, assignments,
// timeline, health and the OpenAPI document: happy paths, validation
// (RFC 9457 problems naming the offending field), pagination, and that a
// rejected request leaves nothing half-written.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, expectNoLeak, expectProblem, createCase, createTeam, createUser, setupTestEnv, uniq, type Client, type TestEnv } from './helpers.ts';

let env: TestEnv;
/** When set, the app's clock is frozen at this instant (to force createdAt ties). */
let frozen: Date | null = null;

beforeAll(async () => {
  env = await setupTestEnv({ clock: () => (frozen ? new Date(frozen) : new Date()) });
});
afterAll(async () => env?.close());

// ---------------------------------------------------------------- helpers




async function count(table: string, where = 'TRUE', params: unknown[] = []): Promise<number> {
  const [{ n }] = await env.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params);
  return n;
}

/** Total rows in the tables a write could touch. */
async function snapshot() {
  return {
    people: await count('people'),
    cases: await count('cases'),
    charges: await count('charges'),
    events: await count('events'),
    assignments: await count('assignments'),
    audit: await count('audit_entries'),
    idem: await count('idempotency_keys'),
  };
}

const personBody = (over: Record<string, unknown> = {}): { pseudonym: string; legalName: string; [k: string]: unknown } => ({
  pseudonym: `P-${uniq()}`,
  legalName: `Ivan Testov ${uniq()}`,
  dateOfBirth: '1990-01-02',
  citizenship: 'RU',
  travelDocumentStatus: 'INTERNATIONAL_VALID',
  ...over,
});

const chargeBody = (over: Record<string, unknown> = {}) => ({
  issuingCountry: 'RU',
  code: 'RU-CC',
  article: '207.3',
  category: 'FAKES',
  mechanism: 'CIS_INTERSTATE_SEARCH',
  status: 'WANTED',
  ...over,
});

const eventBody = (over: Record<string, unknown> = {}) => ({
  type: 'DETENTION',
  country: 'AM',
  occurredAt: '2026-03-01',
  ...over,
});

function rawPost(c: Client, url: string, payload: string, contentType = 'application/json') {
  return env.app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${c.token}`, 'content-type': contentType } });
}

// ---------------------------------------------------------------- people

describe('people', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM', 'GE']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('creates a person with citizenship as a string, contacts and tags; returns legal data to its creator', async () => {
    const body = personBody({
      citizenship: 'RU',
      contacts: [
        { kind: 'SIGNAL', value: '+37499000000', note: 'evenings only' },
        { kind: 'EMAIL', value: 'x@example.org' },
      ],
      tags: ['JOURNALIST', 'ACTIVIST', 'JOURNALIST'],
      notes: 'Fled in 2022',
    });
    const res = await cw.post('/v1/people', body);
    expect(res.statusCode, res.body).toBe(201);
    const p = res.json();
    expect(p.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.pseudonym).toBe(body.pseudonym);
    expect(p.citizenship).toEqual(['RU']);
    expect(p.travelDocumentStatus).toBe('INTERNATIONAL_VALID');
    expect([...p.tags].sort()).toEqual(['ACTIVIST', 'JOURNALIST']);
    expect(p.legalDataVisible).toBe(true);
    expect(p.legalName).toBe(body.legalName);
    expect(p.dateOfBirth).toBe('1990-01-02');
    expect(p.contacts).toEqual(body.contacts);
    expect(p.notes).toBe('Fled in 2022');
    // legal data is encrypted at rest
    const [row] = await env.sql<{ legal_name_enc: string; citizenship: string[] }>('SELECT legal_name_enc, citizenship FROM people WHERE id = $1', [p.id]);
    expect(row.legal_name_enc).toMatch(/^v1\./);
    expect(row.legal_name_enc).not.toContain(body.legalName);
    expect(row.citizenship).toEqual(['RU']);
  });

  it('accepts citizenship as an array (deduplicated) for dual citizens', async () => {
    const res = await cw.post('/v1/people', personBody({ citizenship: ['RU', 'BY', 'RU'] }));
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().citizenship).toEqual(['RU', 'BY']);
  });

  it('GET /v1/people/:id returns the person with legal data to its creator; 404 for unknown, 400 for non-UUID', async () => {
    const body = personBody({ contacts: [{ kind: 'PHONE', value: '+995555000000' }] });
    const created = (await cw.post('/v1/people', body)).json();
    const res = await cw.get(`/v1/people/${created.id}`);
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json();
    expect(p.id).toBe(created.id);
    expect(p.pseudonym).toBe(body.pseudonym);
    expect(p.legalDataVisible).toBe(true);
    expect(p.legalName).toBe(body.legalName);
    expect(p.dateOfBirth).toBe('1990-01-02');
    expect(p.contacts).toEqual(body.contacts);
    expect(p.citizenship).toEqual(['RU']);

    expectProblem(await cw.get(`/v1/people/${randomUUID()}`), 404);
    expectProblem(await cw.get('/v1/people/not-a-uuid'), 400, 'params.id');
  });

  it('lists people matching q (case-insensitive, pseudonyms only, no legal data)', async () => {
    const tag = uniq();
    const a = (await cw.post('/v1/people', personBody({ pseudonym: `Falcon-${tag}` }))).json();
    const b = (await cw.post('/v1/people', personBody({ pseudonym: `falcon-${tag}-two` }))).json();
    await cw.post('/v1/people', personBody({ pseudonym: `Heron-${tag}` }));
    const res = await cw.get(`/v1/people?q=FALCON-${tag}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.items.map((i: { id: string }) => i.id).sort()).toEqual([a.id, b.id].sort());
    expect(body.nextCursor).toBeNull();
    for (const item of body.items) {
      expect(item.legalDataVisible).toBe(false);
      expect(item).not.toHaveProperty('legalName');
      expect(item).not.toHaveProperty('dateOfBirth');
      expect(item).not.toHaveProperty('contacts');
      expect(item).not.toHaveProperty('notes');
    }
    expect(res.body).not.toContain('Ivan Testov');
  });

  it('list q treats LIKE wildcards (% and _) literally', async () => {
    const team2 = await createTeam(env, ['AM']);
    const fresh = await clientFor(env, 'CASEWORKER', { teamIds: [team2] });
    await fresh.post('/v1/people', personBody({ pseudonym: `Owl-${uniq()}` }));
    const all = await fresh.get('/v1/people');
    expect(all.json().items).toHaveLength(1);
    expect.soft((await fresh.get(`/v1/people?q=${encodeURIComponent('%')}`)).json().items).toEqual([]);
    expect.soft((await fresh.get(`/v1/people?q=${encodeURIComponent('_')}`)).json().items).toEqual([]);
  });

  it('nested validation errors name the element (body.contacts.0.kind) and unknown query params are rejected', async () => {
    expectProblem(await cw.post('/v1/people', personBody({ contacts: [{ kind: 'PIGEON', value: 'x' }] })), 400, 'body.contacts.0.kind');
    expectProblem(await cw.post('/v1/people', personBody({ dateOfBirth: '1990-13-01' })), 400, 'body.dateOfBirth');
    expectProblem(await cw.post('/v1/people', personBody({ tags: ['SPY'] })), 400, 'body.tags.0');
    expectProblem(await cw.get('/v1/people?legalName=x'), 400);
  });

  it('PATCH /v1/people/:id changes fields and returns the updated person', async () => {
    const created = (await cw.post('/v1/people', personBody())).json();
    const res = await cw.patch(`/v1/people/${created.id}`, {
      pseudonym: `Renamed-${uniq()}`,
      citizenship: ['RU', 'KZ'],
      legalName: 'Ivan Changed',
      dateOfBirth: null,
      tags: ['DESERTER'],
      travelDocumentStatus: 'INTERNATIONAL_CONFISCATED',
    });
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json();
    expect(p.pseudonym).toMatch(/^Renamed-/);
    expect(p.citizenship).toEqual(['RU', 'KZ']);
    expect(p.legalName).toBe('Ivan Changed');
    expect(p.dateOfBirth).toBeNull();
    expect(p.tags).toEqual(['DESERTER']);
    expect(p.travelDocumentStatus).toBe('INTERNATIONAL_CONFISCATED');
    const again = (await cw.get(`/v1/people/${created.id}`)).json();
    expect(again.legalName).toBe('Ivan Changed');
    expect(again.pseudonym).toBe(p.pseudonym);
    expect(again.dateOfBirth).toBeNull();
  });

  it('PATCH /v1/people/:id rejects an empty body, unknown fields and lowercase codes', async () => {
    const created = (await cw.post('/v1/people', personBody())).json();
    expectProblem(await cw.patch(`/v1/people/${created.id}`, {}), 400);
    expectProblem(await cw.patch(`/v1/people/${created.id}`, { nickname: 'x' }), 400);
    expectProblem(await cw.patch(`/v1/people/${created.id}`, { citizenship: 'ru' }), 400, 'body.citizenship');
    expectProblem(await cw.patch('/v1/people/123', { pseudonym: 'x' }), 400, 'params.id');
    const again = (await cw.get(`/v1/people/${created.id}`)).json();
    expect(again.pseudonym).toBe(created.pseudonym);
    expect(again.citizenship).toEqual(['RU']);
  });
});

// ---------------------------------------------------------------- cases

describe('cases', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM', 'GE']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('POST /v1/cases returns 201 with reference ARK-YYYY-NNNNNN, version 1 and an ETag', async () => {
    const person = (await cw.post('/v1/people', personBody())).json();
    const res = await cw.post('/v1/cases', { personId: person.id, teamId: team, hostCountry: 'GE', summary: '  Wanted on an interstate search  ', riskLevel: 'HIGH' });
    expect(res.statusCode, res.body).toBe(201);
    const c = res.json();
    expect(c.reference).toMatch(/^ARK-\d{4}-\d{6}$/);
    expect(c.reference.slice(4, 8)).toBe(String(new Date().getUTCFullYear()));
    expect(c.version).toBe(1);
    expect(res.headers.etag).toBe('"1"');
    expect(c.personId).toBe(person.id);
    expect(c.teamId).toBe(team);
    expect(c.hostCountry).toBe('GE');
    expect(c.status).toBe('OPEN');
    expect(c.riskLevel).toBe('HIGH');
    expect(c.summary).toBe('Wanted on an interstate search');
    const [row] = await env.sql<{ reference: string; version: number }>('SELECT reference, version FROM cases WHERE id = $1', [c.id]);
    expect(row).toEqual({ reference: c.reference, version: 1 });
  });

  it('references are unique across cases', async () => {
    const a = await createCase(cw, team);
    const b = await createCase(cw, team);
    expect(a.reference).not.toBe(b.reference);
  });

  it('GET /v1/cases/:id returns the case with its person (legal data for the team caseworker) and an ETag', async () => {
    const c = await createCase(cw, team, 'AM');
    const res = await cw.get(`/v1/cases/${c.caseId}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"1"');
    const body = res.json();
    expect(body.id).toBe(c.caseId);
    expect(body.reference).toBe(c.reference);
    expect(body.person.id).toBe(c.personId);
    expect(body.person.legalDataVisible).toBe(true);
    expect(body.person.legalName).toBe(c.legalName);
    expect(body.person.dateOfBirth).toBe('1990-01-02');

    expectProblem(await cw.get(`/v1/cases/${randomUUID()}`), 404);
    expectProblem(await cw.get('/v1/cases/xyz'), 400, 'params.id');
  });

  it('PATCH /v1/cases/:id with If-Match changes status, riskLevel and summary; stale -> 412, missing -> 428, bad -> 400', async () => {
    const c = await createCase(cw, team);
    const res = await cw.patch(`/v1/cases/${c.caseId}`, { status: 'MONITORING', riskLevel: 'CRITICAL', summary: 'Released, under travel ban' }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    const body = res.json();
    expect(body).toMatchObject({ id: c.caseId, status: 'MONITORING', riskLevel: 'CRITICAL', summary: 'Released, under travel ban', version: 2 });

    const stale = expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }, { 'if-match': '"1"' }), 412);
    expect(stale.errors).toBeUndefined();
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }), 428);
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }, { 'if-match': 'abc' }), 400, 'headers.if-match');
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { status: 'SHUT' }, { 'if-match': '"2"' }), 400, 'body.status');
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { hostCountry: 'ge' }, { 'if-match': '"2"' }), 400, 'body.hostCountry');
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { hostCountry: 'FR' }, { 'if-match': '"2"' }), 400, 'body.hostCountry');
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { version: 2 }), 400);
    expectProblem(await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED', owner: 'x' }, { 'if-match': '"2"' }), 400);

    // none of the rejected requests changed the case
    const got = await cw.get(`/v1/cases/${c.caseId}`);
    expect(got.json()).toMatchObject({ status: 'MONITORING', riskLevel: 'CRITICAL', summary: 'Released, under travel ban', version: 2 });
    expect(got.headers.etag).toBe('"2"');

    // summary can be cleared; body.version works instead of If-Match
    const cleared = await cw.patch(`/v1/cases/${c.caseId}`, { summary: null, version: 2 });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ summary: null, version: 3 });
  });

  it('POST /v1/cases with a host country the team does not cover -> 400 body.hostCountry and no case row', async () => {
    const person = (await cw.post('/v1/people', personBody())).json();
    const before = await snapshot();
    expectProblem(await cw.post('/v1/cases', { personId: person.id, teamId: team, hostCountry: 'FR' }), 400, 'body.hostCountry');
    expectProblem(await cw.post('/v1/cases', { personId: randomUUID(), teamId: team, hostCountry: 'AM' }), 400, 'body.personId');
    expect(await snapshot()).toEqual(before);
    expect(await count('cases', 'person_id = $1', [person.id])).toBe(0);
  });
});

// ---------------------------------------------------------------- case list

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
    await open('ge', teamA, { hostCountry: 'GE', status: 'MONITORING', riskLevel: 'LOW', summary: `Travel ban, token summ${tag}` });
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

// ---------------------------------------------------------------- pagination

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
    return (await env.sql<{ id: string }>('SELECT id FROM cases WHERE team_id = $1 ORDER BY created_at DESC, id DESC', [teamId])).map((r) => r.id);
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
    for (const cursor of [b64({ t: new Date().toISOString(), id: 'not-a-uuid' }), b64({ t: new Date().toISOString(), id: '' })]) {
      const res = await cw.get(`/v1/cases?cursor=${encodeURIComponent(cursor)}`);
      expectProblem(res, 400, 'querystring.cursor');
      const people = await cw.get(`/v1/people?cursor=${encodeURIComponent(cursor)}`);
      expectProblem(people, 400, 'querystring.cursor');
    }
  });
});

// ---------------------------------------------------------------- charges

describe('charges', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('creates, lists and patches a charge (If-Match), with filedOn round-tripping as a calendar date', async () => {
    const c = await createCase(cw, team);
    const res = await cw.post(`/v1/cases/${c.caseId}/charges`, chargeBody({ filedOn: '2024-02-29', politicalMotivation: 'CONFIRMED' }));
    expect(res.statusCode, res.body).toBe(201);
    const ch = res.json();
    expect(ch).toMatchObject({ caseId: c.caseId, issuingCountry: 'RU', code: 'RU-CC', article: '207.3', category: 'FAKES', mechanism: 'CIS_INTERSTATE_SEARCH', status: 'WANTED', filedOn: '2024-02-29', politicalMotivation: 'CONFIRMED', version: 1 });
    const [row] = await env.sql<{ d: string }>("SELECT to_char(filed_on, 'YYYY-MM-DD') AS d FROM charges WHERE id = $1", [ch.id]);
    expect(row.d).toBe('2024-02-29');

    const second = await cw.post(`/v1/cases/${c.caseId}/charges`, chargeBody({ code: 'RU-CC', article: '280.3', category: 'DISCREDITING_ARMY', mechanism: 'DOMESTIC', status: 'CHARGED' }));
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json().filedOn).toBeNull();
    expect(second.json().politicalMotivation).toBeNull();

    const list = await cw.get(`/v1/cases/${c.caseId}/charges`);
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((i: { id: string }) => i.id)).toEqual([ch.id, second.json().id]);
    expect(list.json().items[0].filedOn).toBe('2024-02-29');

    const patched = await cw.patch(`/v1/charges/${ch.id}`, { status: 'CONVICTED_IN_ABSENTIA', filedOn: '2023-12-31', mechanism: 'INTERPOL_RED_NOTICE' }, { 'if-match': '"1"' });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.headers.etag).toBe('"2"');
    expect(patched.json()).toMatchObject({ id: ch.id, status: 'CONVICTED_IN_ABSENTIA', filedOn: '2023-12-31', mechanism: 'INTERPOL_RED_NOTICE', article: '207.3', version: 2 });

    expectProblem(await cw.patch(`/v1/charges/${ch.id}`, { status: 'DROPPED' }, { 'if-match': '"1"' }), 412);
    expectProblem(await cw.patch(`/v1/charges/${ch.id}`, { status: 'DROPPED' }), 428);
    expectProblem(await cw.patch(`/v1/charges/${ch.id}`, { status: 'GONE' }, { 'if-match': '"2"' }), 400, 'body.status');
    expectProblem(await cw.patch(`/v1/charges/${ch.id}`, { filedOn: '2023-02-30' }, { 'if-match': '"2"' }), 400, 'body.filedOn');
    expectProblem(await cw.patch(`/v1/charges/${randomUUID()}`, { status: 'DROPPED' }, { 'if-match': '"1"' }), 404);
    expectProblem(await cw.patch('/v1/charges/nope', { status: 'DROPPED' }, { 'if-match': '"1"' }), 400, 'params.id');

    const cleared = await cw.patch(`/v1/charges/${ch.id}`, { filedOn: null }, { 'if-match': '"2"' });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ filedOn: null, status: 'CONVICTED_IN_ABSENTIA', version: 3 });

    // a patch that does not mention filedOn keeps it
    expect((await cw.patch(`/v1/charges/${ch.id}`, { filedOn: '2022-01-01' }, { 'if-match': '"3"' })).statusCode).toBe(200);
    const kept = await cw.patch(`/v1/charges/${ch.id}`, { politicalMotivation: 'LIKELY' }, { 'if-match': '"4"' });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toMatchObject({ filedOn: '2022-01-01', politicalMotivation: 'LIKELY', version: 5 });

    expectProblem(await cw.get(`/v1/cases/${randomUUID()}/charges`), 404);
  });

  it('filedOn round-trips unchanged whatever the server time zone', async () => {
    const c = await createCase(cw, team);
    const saved = process.env.TZ;
    try {
      for (const tz of ['America/Los_Angeles', 'Asia/Tokyo', 'Pacific/Kiritimati']) {
        process.env.TZ = tz;
        const res = await cw.post(`/v1/cases/${c.caseId}/charges`, chargeBody({ filedOn: '2024-03-01' }));
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().filedOn).toBe('2024-03-01');
        const listed = (await cw.get(`/v1/cases/${c.caseId}/charges`)).json().items.find((i: { id: string }) => i.id === res.json().id);
        expect(listed.filedOn).toBe('2024-03-01');
        const [row] = await env.sql<{ d: string }>("SELECT to_char(filed_on, 'YYYY-MM-DD') AS d FROM charges WHERE id = $1", [res.json().id]);
        expect(row.d).toBe('2024-03-01');
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

// ---------------------------------------------------------------- events

describe('events', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM', 'GE']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('creates an event with occurredAt as a calendar date (midnight UTC, precision DAY by default)', async () => {
    const c = await createCase(cw, team);
    const res = await cw.post(`/v1/cases/${c.caseId}/events`, eventBody({ occurredAt: '2026-03-01', city: 'Yerevan', details: 'Held at the airport on arrival', termDays: 40 }));
    expect(res.statusCode, res.body).toBe(201);
    const e = res.json();
    expect(e).toMatchObject({
      caseId: c.caseId,
      type: 'DETENTION',
      country: 'AM',
      city: 'Yerevan',
      occurredAt: '2026-03-01T00:00:00.000Z',
      occurredAtPrecision: 'DAY',
      sourceUrls: [],
      detailsVisible: true,
      details: 'Held at the airport on arrival',
      termDays: 40,
      verification: 'UNVERIFIED',
      version: 1,
    });
    const [row] = await env.sql<{ details_enc: string }>('SELECT details_enc FROM events WHERE id = $1', [e.id]);
    expect(row.details_enc).toMatch(/^v1\./);
    expect(row.details_enc).not.toContain('airport');
  });

  it('creates an event with an instant with offset, precision, sourceUrls and verification', async () => {
    const c = await createCase(cw, team);
    const res = await cw.post(
      `/v1/cases/${c.caseId}/events`,
      eventBody({
        type: 'EXTRADITION_REQUEST',
        occurredAt: '2026-03-01T10:30:00+03:00',
        occurredAtPrecision: 'MONTH',
        sourceUrls: ['https://example.org/news/1', 'http://example.org/doc?id=2'],
        authority: 'Prosecutor General',
        legalBasis: 'Minsk Convention 1993',
        outcome: 'Pending',
        verification: 'CORROBORATED',
      }),
    );
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      type: 'EXTRADITION_REQUEST',
      occurredAt: '2026-03-01T07:30:00.000Z',
      occurredAtPrecision: 'MONTH',
      sourceUrls: ['https://example.org/news/1', 'http://example.org/doc?id=2'],
      authority: 'Prosecutor General',
      legalBasis: 'Minsk Convention 1993',
      outcome: 'Pending',
      verification: 'CORROBORATED',
      details: null,
      detailsVisible: true,
      termDays: null,
      city: null,
    });
  });

  it('rejects an instant without offset, non-http(s) sourceUrls and out-of-range termDays', async () => {
    const c = await createCase(cw, team);
    const url = `/v1/cases/${c.caseId}/events`;
    const before = await count('events', 'case_id = $1', [c.caseId]);
    expectProblem(await cw.post(url, eventBody({ occurredAt: '2026-03-01T10:30:00' })), 400, 'body.occurredAt');
    expectProblem(await cw.post(url, eventBody({ occurredAt: '2026-02-30' })), 400, 'body.occurredAt');
    expectProblem(await cw.post(url, eventBody({ sourceUrls: ['javascript:alert(1)'] })), 400, 'body.sourceUrls.0');
    expectProblem(await cw.post(url, eventBody({ termDays: 0 })), 400, 'body.termDays');
    expectProblem(await cw.post(url, eventBody({ termDays: 3651 })), 400, 'body.termDays');
    expectProblem(await cw.post(url, eventBody({ occurredAtPrecision: 'WEEK' })), 400, 'body.occurredAtPrecision');
    expect(await count('events', 'case_id = $1', [c.caseId])).toBe(before);
  });

  it('lists events ordered by occurredAt, with details visible to the caseworker', async () => {
    const c = await createCase(cw, team);
    const url = `/v1/cases/${c.caseId}/events`;
    const late = (await cw.post(url, eventBody({ occurredAt: '2026-03-01', details: 'late' }))).json();
    const early = (await cw.post(url, eventBody({ type: 'THREAT', occurredAt: '2025-12-31T23:00:00-02:00', details: 'early' }))).json();
    const middle = (await cw.post(url, eventBody({ type: 'SURVEILLANCE', occurredAt: '2026-02-15T08:00:00+05:00' }))).json();
    const res = await cw.get(url);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as { id: string; occurredAt: string; details: string | null; detailsVisible: boolean }[];
    expect(items.map((i) => i.id)).toEqual([early.id, middle.id, late.id]);
    expect(items.map((i) => i.occurredAt)).toEqual(['2026-01-01T01:00:00.000Z', '2026-02-15T03:00:00.000Z', '2026-03-01T00:00:00.000Z']);
    expect(items.every((i) => i.detailsVisible)).toBe(true);
    expect(items.map((i) => i.details)).toEqual(['early', null, 'late']);
  });

  it('PATCH /v1/events/:id with If-Match updates fields; stale -> 412; missing -> 428', async () => {
    const c = await createCase(cw, team);
    const e = (await cw.post(`/v1/cases/${c.caseId}/events`, eventBody({ details: 'first', termDays: 30 }))).json();
    const res = await cw.patch(`/v1/events/${e.id}`, { outcome: 'Released on bail', details: 'second', termDays: null, occurredAt: '2026-03-02T12:00:00Z', verification: 'VERIFIED' }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toMatchObject({ id: e.id, outcome: 'Released on bail', details: 'second', termDays: null, occurredAt: '2026-03-02T12:00:00.000Z', verification: 'VERIFIED', type: 'DETENTION', version: 2 });
    expectProblem(await cw.patch(`/v1/events/${e.id}`, { outcome: 'x' }, { 'if-match': '"1"' }), 412);
    expectProblem(await cw.patch(`/v1/events/${e.id}`, { outcome: 'x' }), 428);
    expectProblem(await cw.patch(`/v1/events/${e.id}`, { type: 'PICNIC' }, { 'if-match': '"2"' }), 400, 'body.type');
    expectProblem(await cw.patch(`/v1/events/${e.id}`, { colour: 'red' }, { 'if-match': '"2"' }), 400);
    expectProblem(await cw.patch(`/v1/events/${randomUUID()}`, { outcome: 'x' }, { 'if-match': '"1"' }), 404);
    // a patch that does not mention details keeps them
    const kept = await cw.patch(`/v1/events/${e.id}`, { city: 'Gyumri' }, { 'if-match': '"2"' });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toMatchObject({ city: 'Gyumri', details: 'second', outcome: 'Released on bail', version: 3 });
    const list = (await cw.get(`/v1/cases/${c.caseId}/events`)).json().items;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ outcome: 'Released on bail', details: 'second', city: 'Gyumri', version: 3 });
  });
});

// ---------------------------------------------------------------- assignments and timeline

describe('assignments and timeline', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('assigns a LEAD, refuses a duplicate active assignment (409), ends it keeping history, allows re-assigning', async () => {
    const c = await createCase(cw, team);
    const lawyer = await createUser(env, 'LAWYER');
    const url = `/v1/cases/${c.caseId}/assignments`;
    const res = await cw.post(url, { lawyerId: lawyer.id, role: 'LEAD' });
    expect(res.statusCode, res.body).toBe(201);
    const a = res.json();
    expect(a).toMatchObject({ caseId: c.caseId, lawyerId: lawyer.id, role: 'LEAD', endedAt: null });
    expect(typeof a.lawyerName).toBe('string');
    expect(Number.isNaN(Date.parse(a.startedAt))).toBe(false);

    const before = await snapshot();
    const dup = expectProblem(await cw.post(url, { lawyerId: lawyer.id, role: 'SUPPORTING' }), 409);
    expect(dup.errors).toBeUndefined();
    expect(await snapshot()).toEqual(before);
    expect(await count('assignments', 'case_id = $1 AND ended_at IS NULL', [c.caseId])).toBe(1);

    const del = await cw.del(`${url}/${a.id}`);
    expect(del.statusCode, del.body).toBe(204);
    expect(del.body).toBe('');
    expectProblem(await cw.del(`${url}/${a.id}`), 404);
    expectProblem(await cw.del(`${url}/not-a-uuid`), 400, 'params.assignmentId');

    const list1 = await cw.get(url);
    expect(list1.statusCode).toBe(200);
    expect(list1.json().items).toHaveLength(1);
    const ended = list1.json().items[0];
    expect(ended.id).toBe(a.id);
    expect(ended.endedAt).not.toBeNull();
    expect(Date.parse(ended.endedAt)).toBeGreaterThanOrEqual(Date.parse(ended.startedAt));

    const again = await cw.post(url, { lawyerId: lawyer.id, role: 'SUPPORTING' });
    expect(again.statusCode, again.body).toBe(201);
    const list2 = (await cw.get(url)).json().items as { id: string; endedAt: string | null; role: string }[];
    expect(list2.map((i) => i.id)).toEqual([a.id, again.json().id]);
    expect(list2[0].endedAt).not.toBeNull();
    expect(list2[1]).toMatchObject({ endedAt: null, role: 'SUPPORTING' });

    // an assignment cannot be ended through another case's URL
    const other = await createCase(cw, team);
    expectProblem(await cw.del(`/v1/cases/${other.caseId}/assignments/${again.json().id}`), 404);
    expect(await count('assignments', 'id = $1 AND ended_at IS NULL', [again.json().id])).toBe(1);
  });

  it('assigning a non-lawyer or unknown user -> 400 body.lawyerId and nothing written', async () => {
    const c = await createCase(cw, team);
    const other = await createUser(env, 'CASEWORKER', { teamIds: [team] });
    const before = await snapshot();
    expectProblem(await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: other.id, role: 'LEAD' }), 400, 'body.lawyerId');
    expectProblem(await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: randomUUID(), role: 'LEAD' }), 400, 'body.lawyerId');
    expect(await snapshot()).toEqual(before);
  });

  it('timeline holds charge, event, assignment_started and assignment_ended items in time order', async () => {
    const c = await createCase(cw, team);
    const lawyer = await createUser(env, 'LAWYER');
    const charge = (await cw.post(`/v1/cases/${c.caseId}/charges`, chargeBody({ filedOn: '2024-05-01' }))).json();
    const event = (await cw.post(`/v1/cases/${c.caseId}/events`, eventBody({ occurredAt: '2025-06-01T09:00:00+04:00', city: 'Gyumri', details: 'secret' }))).json();
    const a = (await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: lawyer.id, role: 'LEAD' })).json();
    await new Promise((r) => setTimeout(r, 5));
    expect((await cw.del(`/v1/cases/${c.caseId}/assignments/${a.id}`)).statusCode).toBe(204);

    const res = await cw.get(`/v1/cases/${c.caseId}/timeline`);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as { kind: string; at: string; id: string; summary: string; data: Record<string, unknown> }[];
    expect(items.map((i) => [i.kind, i.id])).toEqual([
      ['charge', charge.id],
      ['event', event.id],
      ['assignment_started', a.id],
      ['assignment_ended', a.id],
    ]);
    const times = items.map((i) => Date.parse(i.at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(items[0].at).toBe('2024-05-01T00:00:00.000Z');
    expect(items[1].at).toBe('2025-06-01T05:00:00.000Z');
    expect(items[0].data).toMatchObject({ id: charge.id, filedOn: '2024-05-01', code: 'RU-CC' });
    expect(items[1].data).toMatchObject({ id: event.id, type: 'DETENTION', details: 'secret', detailsVisible: true });
    expect(items[1].summary).toContain('Gyumri');
    expect(items[3].data).toMatchObject({ id: a.id, lawyerId: lawyer.id });
    expect(items[3].data.endedAt).not.toBeNull();

    expectProblem(await cw.get(`/v1/cases/${randomUUID()}/timeline`), 404);
    expectProblem(await cw.get('/v1/cases/zzz/timeline'), 400, 'params.id');
  });
});

// ---------------------------------------------------------------- POST body validation

describe('POST body validation', () => {
  let team: string;
  let cw: Client;
  let caseId: string;
  let personId: string;
  let lawyerId: string;
  beforeAll(async () => {
    team = await createTeam(env, ['AM', 'GE']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    caseId = c.caseId;
    personId = c.personId;
    lawyerId = (await createUser(env, 'LAWYER')).id;
  });

  type Route = { name: string; url: () => string; valid: () => Record<string, unknown>; required: string[]; enumField: string; country?: string };
  const routes: Route[] = [
    { name: 'POST /v1/people', url: () => '/v1/people', valid: () => personBody(), required: ['pseudonym', 'legalName', 'citizenship', 'travelDocumentStatus'], enumField: 'travelDocumentStatus', country: 'citizenship' },
    { name: 'POST /v1/cases', url: () => '/v1/cases', valid: () => ({ personId, teamId: team, hostCountry: 'AM' }), required: ['personId', 'teamId', 'hostCountry'], enumField: 'riskLevel', country: 'hostCountry' },
    { name: 'POST /v1/cases/:id/charges', url: () => `/v1/cases/${caseId}/charges`, valid: () => chargeBody(), required: ['issuingCountry', 'code', 'article', 'category', 'mechanism', 'status'], enumField: 'mechanism', country: 'issuingCountry' },
    { name: 'POST /v1/cases/:id/events', url: () => `/v1/cases/${caseId}/events`, valid: () => eventBody(), required: ['type', 'country', 'occurredAt'], enumField: 'type', country: 'country' },
    { name: 'POST /v1/cases/:id/assignments', url: () => `/v1/cases/${caseId}/assignments`, valid: () => ({ lawyerId, role: 'LEAD' }), required: ['lawyerId', 'role'], enumField: 'role' },
  ];

  for (const r of routes) {
    describe(r.name, () => {
      it('a missing required field -> 400 problem naming body.<field>; nothing written', async () => {
        const before = await snapshot();
        for (const field of r.required) {
          const body = r.valid();
          delete body[field];
          expectProblem(await cw.post(r.url(), body), 400, `body.${field}`);
        }
        expect(await snapshot()).toEqual(before);
      });

      it('an invalid enum value -> 400 naming it', async () => {
        const before = await snapshot();
        expectProblem(await cw.post(r.url(), { ...r.valid(), [r.enumField]: 'NOT_A_VALUE' }), 400, `body.${r.enumField}`);
        expect(await snapshot()).toEqual(before);
      });

      if (r.country) {
        it('a lowercase country code -> 400 naming it', async () => {
          const before = await snapshot();
          expectProblem(await cw.post(r.url(), { ...r.valid(), [r.country!]: r.country === 'issuingCountry' ? 'ru' : 'am' }), 400, `body.${r.country}`);
          expect(await snapshot()).toEqual(before);
        });
      }

      it('an unknown extra field -> 400 that mentions the field', async () => {
        const before = await snapshot();
        const p = expectProblem(await cw.post(r.url(), { ...r.valid(), isAdmin: true }), 400);
        expect(p.errors?.length).toBeGreaterThan(0);
        expect(JSON.stringify(p.errors)).toContain('isAdmin');
        expect(await snapshot()).toEqual(before);
      });

      it('malformed JSON, an empty JSON body, a text body and an unsupported media type -> problem, nothing written', async () => {
        const before = await snapshot();
        expectProblem(await rawPost(cw, r.url(), '{"pseudonym": "x",'), 400);
        expectProblem(await rawPost(cw, r.url(), ''), 400);
        // Fastify parses text/plain as a string, which then fails the object schema
        expectProblem(await rawPost(cw, r.url(), 'pseudonym=x', 'text/plain'), 400, 'body');
        expectProblem(await rawPost(cw, r.url(), '<person/>', 'application/xml'), 415);
        expect(await snapshot()).toEqual(before);
      });

      it('a wrong JSON type (array instead of object) -> 400', async () => {
        expectProblem(await rawPost(cw, r.url(), '[]'), 400);
      });
    });
  }

  it('a non-UUID :id on POST sub-resources -> 400 params.id; unknown case -> 404', async () => {
    for (const sub of ['charges', 'events', 'assignments']) {
      expectProblem(await cw.post(`/v1/cases/42/${sub}`, {}), 400, 'params.id');
    }
    expectProblem(await cw.post(`/v1/cases/${randomUUID()}/charges`, chargeBody()), 404);
    expectProblem(await cw.post(`/v1/cases/${randomUUID()}/events`, eventBody()), 404);
    expectProblem(await cw.post(`/v1/cases/${randomUUID()}/assignments`, { lawyerId, role: 'LEAD' }), 404);
  });

  it('a rejected request with an Idempotency-Key leaves no key behind', async () => {
    const before = await snapshot();
    const key = `idem-${uniq()}-key`;
    expectProblem(await cw.post('/v1/cases', { personId, teamId: team, hostCountry: 'FR' }, { 'idempotency-key': key }), 400, 'body.hostCountry');
    expect(await snapshot()).toEqual(before);
    // the key is free again: a corrected request with it succeeds
    const ok = await cw.post('/v1/cases', { personId, teamId: team, hostCountry: 'GE' }, { 'idempotency-key': key });
    expect(ok.statusCode, ok.body).toBe(201);
  });
});

// ---------------------------------------------------------------- service routes and errors

describe('service routes and generic errors', () => {
  it('GET /health/live -> 200 {status: ok} without a token', async () => {
    const res = await env.app.inject({ url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /health/ready -> 200 with checks.postgres ok', async () => {
    const res = await env.app.inject({ url: '/health/ready' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ok');
    expect(body.checks.postgres).toBe('ok');
    expect(['ok', 'not-configured']).toContain(body.checks.redis);
  });

  it('GET /docs/json is an OpenAPI 3.1 document with the contract paths', async () => {
    const res = await env.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/cases/{id}', '/v1/people/duplicates', '/v1/auth/login', '/v1/cases', '/v1/people', '/v1/cases/{id}/timeline']));
    expect(doc.paths['/v1/cases/{id}']).toHaveProperty('get');
    expect(doc.paths['/v1/cases/{id}']).toHaveProperty('patch');
    expect(doc.paths['/v1/auth/login']).toHaveProperty('post');
  });

  it('an unknown route -> 404 problem (with and without a token)', async () => {
    const anon = await env.app.inject({ url: '/v1/nowhere' });
    const p = expectProblem(anon, 404);
    expect(p.instance).toBe('/v1/nowhere');
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    expectProblem(await cw.get('/v1/cases/x/y/z'), 404);
    expectProblem(await cw.post('/v1/charges', {}), 404);
  });

  it('requests without a token -> 401 problem', async () => {
    expectProblem(await env.app.inject({ url: '/v1/cases' }), 401);
    expectProblem(await env.app.inject({ method: 'POST', url: '/v1/people', payload: personBody() }), 401);
  });

  it('no error body carries a stack trace or ORM internals', async () => {
    const team = await createTeam(env);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    const responses = [
      await rawPost(cw, '/v1/people', '{bad json'),
      await cw.get(`/v1/cases/${randomUUID()}`),
      await cw.get('/v1/cases/not-a-uuid'),
      await cw.get('/v1/cases?cursor=%7B%7D'),
      await cw.patch(`/v1/cases/${c.caseId}`, { status: 'CLOSED' }, { 'if-match': '"99"' }),
      await cw.post(`/v1/cases/${c.caseId}/events`, eventBody({ occurredAt: 'yesterday' })),
      await env.app.inject({ url: '/v1/people', headers: { authorization: 'Bearer not.a.jwt' } }),
    ];
    for (const res of responses) {
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectNoLeak(res.body);
      expect(res.json()).not.toHaveProperty('stack');
    }
  });
});
