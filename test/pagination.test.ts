// Cursor pagination on the lists that used to answer a bare {items}: charges,
// assignments, case deadlines, deadline history, /v1/me/deadlines, sessions,
// teams, deadline rules, duplicate matches, relations, case links. Each is walked page by page while
// rows are inserted in parallel: no row seen twice, none of the rows that
// existed before the walk missed, and the pages follow the list's stable order
// (the database's ORDER BY of the same keys). Also: without cursor/limit the
// answer still has nextCursor; limit bounds and cursors are validated (400
// naming the field), and a cursor of one list is refused by another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chargeBody,
  clientFor,
  createCase,
  createTeam,
  createUser,
  eventBody,
  expectProblem,
  login,
  personBody,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';
import { textBytes, upload } from './documents-fixtures.ts';

let env: TestEnv;
let teamId: string;
let cw: Client;
let admin: Client;

beforeAll(async () => {
  env = await setupTestEnv();
  teamId = await createTeam(env, ['AM', 'GE']);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  admin = await clientFor(env, 'ADMIN');
});
afterAll(async () => env?.close());

/** Walks a list page by page; `during(i)` runs in parallel with the request of page i. */
async function walk(
  c: Client,
  url: string,
  limit: number,
  during: (page: number) => Promise<unknown> = async () => {},
): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 200; i++) {
    const sep = url.includes('?') ? '&' : '?';
    const pageUrl = `${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const [res] = await Promise.all([c.get(pageUrl), during(i)]);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { items: { id: string }[]; nextCursor: string | null };
    expect(body.items.length).toBeLessThanOrEqual(limit);
    expect(body).toHaveProperty('nextCursor');
    seen.push(...body.items.map((x) => x.id));
    cursor = body.nextCursor;
    if (cursor === null) return seen;
  }
  throw new Error('the walk did not end');
}

/** No duplicates; every row of `before` seen, in order; everything seen in the database's order. */
function expectStableWalk(seen: string[], before: string[], dbOrderAfter: string[]) {
  expect(new Set(seen).size).toBe(seen.length);
  const pre = new Set(before);
  expect(seen.filter((id) => pre.has(id))).toEqual(before);
  const seenSet = new Set(seen);
  expect(seen).toEqual(dbOrderAfter.filter((id) => seenSet.has(id)));
}

const ids = async (text: string, params: unknown[] = []) =>
  (await env.sql<{ id: string }>(text, params)).map((r) => String(r.id));

describe('per-case lists', () => {
  let caseId: string;
  beforeAll(async () => {
    caseId = (await createCase(cw, teamId)).caseId;
  });

  it('charges: pages of 3 while charges are added in parallel', async () => {
    await Promise.all(Array.from({ length: 10 }, () => cw.post(`/v1/cases/${caseId}/charges`, chargeBody())));
    const order = 'SELECT id FROM charges WHERE case_id = $1 ORDER BY created_at, id';
    const before = await ids(order, [caseId]);
    expect(before).toHaveLength(10);
    const seen = await walk(cw, `/v1/cases/${caseId}/charges`, 3, () =>
      cw.post(`/v1/cases/${caseId}/charges`, chargeBody()).then((r) => expect(r.statusCode).toBe(201)),
    );
    expectStableWalk(seen, before, await ids(order, [caseId]));
  });

  it('events: pages of 4 while events are recorded in parallel; each page audits only its own details', async () => {
    const at = (i: number) => `2026-0${1 + (i % 9)}-1${i % 10}T08:00:00Z`;
    await Promise.all(
      Array.from({ length: 9 }, (_, i) => cw.post(`/v1/cases/${caseId}/events`, eventBody({ occurredAt: at(i) }))),
    );
    const order = 'SELECT id FROM events WHERE case_id = $1 ORDER BY occurred_at, id';
    const before = await ids(order, [caseId]);
    expect(before).toHaveLength(9);
    const seen = await walk(cw, `/v1/cases/${caseId}/events`, 4, (i) =>
      cw
        .post(`/v1/cases/${caseId}/events`, eventBody({ occurredAt: at(i + 3) }))
        .then((r) => expect(r.statusCode).toBe(201)),
    );
    expectStableWalk(seen, before, await ids(order, [caseId]));
    expectProblem(await cw.get(`/v1/cases/${caseId}/events?limit=0`), 400, 'querystring.limit');
    expectProblem(await cw.get(`/v1/cases/${caseId}/events?cursor=nope`), 400, 'querystring.cursor');
  });

  it('timeline: pages of 2 give every item once, in the order of the whole list (an assignment start and end share an id)', async () => {
    const lawyer = await createUser(env, 'LAWYER');
    const a = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: lawyer.id, role: 'SUPPORTING' });
    expect(a.statusCode, a.body).toBe(201);
    expect((await cw.del(`/v1/cases/${caseId}/assignments/${a.json().id}`)).statusCode).toBeLessThan(300);
    const whole = await cw.get(`/v1/cases/${caseId}/timeline?limit=200`);
    expect(whole.json().nextCursor).toBeNull();
    const all = (whole.json().items as { kind: string; id: string }[]).map((i) => `${i.kind}:${i.id}`);
    expect(all.length).toBeGreaterThan(10);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await cw.get(
        `/v1/cases/${caseId}/timeline?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.statusCode, res.body).toBe(200);
      seen.push(...(res.json().items as { kind: string; id: string }[]).map((i) => `${i.kind}:${i.id}`));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
    expectProblem(await cw.get(`/v1/cases/${caseId}/timeline?cursor=nope`), 400, 'querystring.cursor');
  });

  it('timeline: every page size walks the order computed here from the rows, ties at one instant across and within kinds', async () => {
    const { caseId: c1 } = await createCase(cw, teamId);
    const { caseId: linked } = await createCase(cw, teamId);
    const T = '2026-03-02T10:00:00.000Z';
    // Events at one instant (ties broken by id), in the linked case too (related_event), a deadline due then,
    // documents whose upload time is set to it, charges filed that day, an assignment started and ended.
    for (let i = 0; i < 4; i++) {
      expect(
        (await cw.post(`/v1/cases/${c1}/events`, eventBody({ occurredAt: T, termDays: undefined }))).statusCode,
      ).toBe(201);
      expect(
        (await cw.post(`/v1/cases/${linked}/events`, eventBody({ occurredAt: T, termDays: undefined }))).statusCode,
      ).toBe(201);
    }
    expect((await cw.post(`/v1/cases/${c1}/events`, eventBody({ occurredAt: '2026-01-05' }))).statusCode).toBe(201);
    expect((await cw.post(`/v1/cases/${c1}/links`, { otherCaseId: linked, kind: 'RELATED' })).statusCode).toBe(201);
    for (let i = 0; i < 3; i++) {
      const d = await cw.post(`/v1/cases/${c1}/deadlines`, {
        kind: 'HEARING',
        title: `tie ${i}`,
        dueAt: '2031-03-02T10:00:00.000Z',
      });
      expect(d.statusCode, d.body).toBe(201);
    }
    // Created in the future (a new deadline may not be due in the past), then moved onto the instant.
    await env.sql(`UPDATE deadlines SET due_at = $2 WHERE case_id = $1 AND title LIKE 'tie %'`, [c1, T]);
    for (let i = 0; i < 3; i++) {
      expect((await upload(env, cw, c1, textBytes(200))).statusCode).toBe(201);
    }
    await env.sql(`UPDATE documents SET created_at = $2 WHERE case_id = $1`, [c1, T]);
    for (let i = 0; i < 2; i++) {
      expect((await cw.post(`/v1/cases/${c1}/charges`, chargeBody({ filedOn: '2026-03-02' }))).statusCode).toBe(201);
    }
    const lawyer = await createUser(env, 'LAWYER');
    const a = await cw.post(`/v1/cases/${c1}/assignments`, { lawyerId: lawyer.id, role: 'SUPPORTING' });
    expect(a.statusCode, a.body).toBe(201);
    expect((await cw.del(`/v1/cases/${c1}/assignments/${a.json().id}`)).statusCode).toBeLessThan(300);

    // The expected order, from the tables: (time, kind, id), as the API documents it.
    type Key = { at: number; kind: string; id: string };
    const rows = async (text: string, kind: string) =>
      (await env.sql<{ at: Date; id: string }>(text, [c1])).map((r) => ({ at: r.at.getTime(), kind, id: r.id }));
    const expected: Key[] = [
      ...(await rows('SELECT coalesce(filed_on, created_at) AS at, id FROM charges WHERE case_id = $1', 'charge')),
      ...(await rows('SELECT occurred_at AS at, id FROM events WHERE case_id = $1', 'event')),
      ...(await rows('SELECT started_at AS at, id FROM assignments WHERE case_id = $1', 'assignment_started')),
      ...(await rows(
        'SELECT ended_at AS at, id FROM assignments WHERE case_id = $1 AND ended_at IS NOT NULL',
        'assignment_ended',
      )),
      ...(await rows('SELECT due_at AS at, id FROM deadlines WHERE case_id = $1', 'deadline')),
      ...(await rows(
        'SELECT created_at AS at, id FROM documents WHERE case_id = $1 AND deleted_at IS NULL',
        'document',
      )),
      ...(await rows(
        `SELECT e.occurred_at AS at, e.id FROM events e WHERE e.case_id IN
           (SELECT other_case_id FROM case_links WHERE case_id = $1 UNION SELECT case_id FROM case_links WHERE other_case_id = $1)`,
        'related_event',
      )),
    ].sort(
      (x, y) =>
        x.at - y.at || (x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : 0) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
    );
    expect(expected.filter((k) => k.at === Date.parse(T)).length).toBe(14);
    const want = expected.map((k) => `${k.kind}:${k.id}`);

    for (const limit of [1, 2, 3, 5, 200]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 100; page++) {
        const res = await cw.get(
          `/v1/cases/${c1}/timeline?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(res.statusCode, res.body).toBe(200);
        const items = res.json().items as { kind: string; id: string; at: string }[];
        expect(items.length).toBeLessThanOrEqual(limit);
        seen.push(...items.map((i) => `${i.kind}:${i.id}`));
        cursor = res.json().nextCursor;
        if (!cursor) break;
      }
      expect(seen, `limit ${limit}`).toEqual(want);
    }
  });

  it('assignments: pages of 2 while lawyers are assigned in parallel', async () => {
    const lawyers = await Promise.all(Array.from({ length: 12 }, () => createUser(env, 'LAWYER')));
    for (const l of lawyers.slice(0, 6)) {
      const r = await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: l.id, role: 'SUPPORTING' });
      expect(r.statusCode, r.body).toBe(201);
    }
    const order = 'SELECT id FROM assignments WHERE case_id = $1 ORDER BY started_at, id';
    const before = await ids(order, [caseId]);
    const rest = lawyers.slice(6);
    const seen = await walk(cw, `/v1/cases/${caseId}/assignments`, 2, async (i) => {
      const l = rest[i];
      if (l) await cw.post(`/v1/cases/${caseId}/assignments`, { lawyerId: l.id, role: 'SUPPORTING' });
    });
    expectStableWalk(seen, before, await ids(order, [caseId]));
  });

  it('case deadlines and /v1/me/deadlines: ties on dueAt are broken by id, no row lost', async () => {
    const dueAt = new Date(Date.now() + 20 * 86_400_000).toISOString();
    const add = (at = dueAt) =>
      cw.post(`/v1/cases/${caseId}/deadlines`, { kind: 'HEARING', title: `Hearing ${uniq()}`, dueAt: at });
    // Eight on the same instant (the tiebreak), four on other days.
    await Promise.all([
      ...Array.from({ length: 8 }, () => add()),
      ...[3, 9, 30, 40].map((d) => add(new Date(Date.now() + d * 86_400_000).toISOString())),
    ]);
    const order = 'SELECT id FROM deadlines WHERE case_id = $1 ORDER BY due_at, id';
    const before = await ids(order, [caseId]);
    const seen = await walk(cw, `/v1/cases/${caseId}/deadlines`, 3, () => add());
    expectStableWalk(seen, before, await ids(order, [caseId]));

    const mineOrder =
      "SELECT d.id FROM deadlines d JOIN cases k ON k.id = d.case_id WHERE k.team_id = $1 AND d.status IN ('OPEN','MISSED') ORDER BY d.due_at, d.id";
    const mineBefore = await ids(mineOrder, [teamId]);
    const mine = await walk(cw, '/v1/me/deadlines', 4, () => add());
    expectStableWalk(mine, mineBefore, await ids(mineOrder, [teamId]));
  });

  it('deadline history: pages of 1 in the order written', async () => {
    const d = await cw.post(`/v1/cases/${caseId}/deadlines`, {
      kind: 'HEARING',
      title: 'History',
      dueAt: new Date(Date.now() + 5 * 86_400_000).toISOString(),
    });
    let version = d.json().version as number;
    for (const title of ['History 2', 'History 3']) {
      const r = await cw.patch(`/v1/deadlines/${d.json().id}`, { title }, { 'if-match': `"${version}"` });
      expect(r.statusCode, r.body).toBe(200);
      version = r.json().version;
    }
    const all = (await cw.get(`/v1/deadlines/${d.json().id}/history?limit=100`)).json();
    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const res = await cw.get(
        `/v1/deadlines/${d.json().id}/history?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.statusCode, res.body).toBe(200);
      pages.push(...res.json().items);
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(all.items.length).toBeGreaterThanOrEqual(3);
    expect(pages).toEqual(all.items);
  });

  it('without cursor or limit: the default page and nextCursor (null when everything fits)', async () => {
    for (const path of ['charges', 'assignments', 'deadlines']) {
      const res = await cw.get(`/v1/cases/${caseId}/${path}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().nextCursor).toBeNull();
      expect(res.json().items.length).toBeGreaterThan(0);
    }
  });
});

describe('lists of the caller and of the organisation', () => {
  it('sessions: newest first, pages of 2 while the user signs in again in parallel', async () => {
    const u = await createUser(env, 'CASEWORKER', { teamIds: [teamId] });
    for (let i = 0; i < 6; i++) await login(env, u.email);
    const tokens = await login(env, u.email);
    const me: Client = {
      ...cw,
      get: (url) => env.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens.accessToken}` } }),
    };
    const order = 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC';
    const before = await ids(order, [u.id]);
    const seen = await walk(me, '/v1/me/sessions', 2, () => login(env, u.email));
    expectStableWalk(seen, before, await ids(order, [u.id]));
  });

  it('teams: by name, pages of 2 while teams are created in parallel', async () => {
    for (let i = 0; i < 5; i++) await createTeam(env, ['KZ']);
    const order = 'SELECT id FROM teams ORDER BY name, id';
    const before = await ids(order);
    const seen = await walk(admin, '/v1/teams', 2, () =>
      admin
        .post('/v1/teams', { name: `Team ${uniq()}`, countries: ['GE'] })
        .then((r) => expect(r.statusCode).toBe(201)),
    );
    expectStableWalk(seen, before, await ids(order));
  });

  it('deadline rules: by jurisdiction and key, pages of 7', async () => {
    await new DeadlinesService({ db: env.db, config: env.config, clock: () => new Date() }).syncDefaultRules();
    const order = 'SELECT id FROM deadline_rules ORDER BY jurisdiction, key, id';
    const before = await ids(order);
    expect(before.length).toBeGreaterThan(7);
    const seen = await walk(cw, '/v1/deadline-rules', 7);
    expectStableWalk(seen, before, await ids(order));
    const stale = await walk(cw, '/v1/deadline-rules?stale=true', 5);
    expect(new Set(stale).size).toBe(stale.length);
  });

  it('duplicates: best first, pages of 2 while more people of that name are registered', async () => {
    const legalName = `Petrov Sergei Zz${uniq()}`;
    for (let i = 0; i < 5; i++) expect((await cw.post('/v1/people', personBody({ legalName }))).statusCode).toBe(201);
    const url = `/v1/people/duplicates?legalName=${encodeURIComponent(legalName)}`;
    const full = (await cw.get(`${url}&limit=100`)).json();
    const before = (full.items as { id: string }[]).map((i) => i.id);
    expect(before).toHaveLength(5);
    const seen = await walk(cw, url, 2, () => cw.post('/v1/people', personBody({ legalName })));
    const after = ((await cw.get(`${url}&limit=100`)).json().items as { id: string }[]).map((i) => i.id);
    expectStableWalk(seen, before, after);
  });
});

describe('relations and case links', () => {
  it('relations: oldest first, pages of 2 while more are recorded', async () => {
    const { personId } = await createCase(cw, teamId);
    const others = await Promise.all(Array.from({ length: 9 }, () => createCase(cw, teamId)));
    const relate = (other: string) =>
      cw.post(`/v1/people/${personId}/relations`, { otherPersonId: other, kind: 'RELATIVE' });
    for (const o of others.slice(0, 5)) expect((await relate(o.personId)).statusCode).toBe(201);
    const order =
      'SELECT id FROM person_relations WHERE person_id = $1 OR other_person_id = $1 ORDER BY created_at, id';
    const before = await ids(order, [personId]);
    const rest = others.slice(5);
    const seen = await walk(cw, `/v1/people/${personId}/relations`, 2, async (i) => {
      if (rest[i]) await relate(rest[i].personId);
    });
    expectStableWalk(seen, before, await ids(order, [personId]));
  });

  it('case links: oldest first, pages of 2 while more are linked', async () => {
    const { caseId } = await createCase(cw, teamId);
    const others = await Promise.all(Array.from({ length: 8 }, () => createCase(cw, teamId)));
    const link = (other: string) => cw.post(`/v1/cases/${caseId}/links`, { otherCaseId: other, kind: 'RELATED' });
    for (const o of others.slice(0, 5)) expect((await link(o.caseId)).statusCode).toBe(201);
    const order = 'SELECT id FROM case_links WHERE case_id = $1 OR other_case_id = $1 ORDER BY created_at, id';
    const before = await ids(order, [caseId]);
    const rest = others.slice(5);
    const seen = await walk(cw, `/v1/cases/${caseId}/links`, 2, async (i) => {
      if (rest[i]) await link(rest[i].caseId);
    });
    expectStableWalk(seen, before, await ids(order, [caseId]));
  });
});

describe('validation', () => {
  it('limit out of bounds -> 400 naming querystring.limit, on every paged list', async () => {
    const { caseId } = await createCase(cw, teamId);
    const lists = [
      `/v1/cases/${caseId}/charges`,
      `/v1/cases/${caseId}/assignments`,
      `/v1/cases/${caseId}/deadlines`,
      `/v1/cases/${caseId}/links`,
      '/v1/me/sessions',
      '/v1/teams',
      '/v1/deadline-rules',
      '/v1/me/deadlines',
      '/v1/people/duplicates?legalName=x',
    ];
    for (const url of lists) {
      const sep = url.includes('?') ? '&' : '?';
      expectProblem(await cw.get(`${url}${sep}limit=0`), 400, 'querystring.limit');
      expectProblem(await cw.get(`${url}${sep}limit=100000`), 400, 'querystring.limit');
      expectProblem(await cw.get(`${url}${sep}limit=abc`), 400, 'querystring.limit');
      expectProblem(await cw.get(`${url}${sep}cursor=not-a-cursor`), 400, 'querystring.cursor');
    }
  });

  it('a cursor of one list is refused by another (400 naming querystring.cursor)', async () => {
    const { caseId } = await createCase(cw, teamId);
    await cw.post(`/v1/cases/${caseId}/charges`, chargeBody());
    await cw.post(`/v1/cases/${caseId}/charges`, chargeBody());
    const cursor = (await cw.get(`/v1/cases/${caseId}/charges?limit=1`)).json().nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    expectProblem(
      await cw.get(`/v1/cases/${caseId}/assignments?cursor=${encodeURIComponent(cursor)}`),
      400,
      'querystring.cursor',
    );
    const forged = Buffer.from(JSON.stringify({ l: 'charges', v: ['yesterday', 'x'] })).toString('base64url');
    expectProblem(await cw.get(`/v1/cases/${caseId}/charges?cursor=${forged}`), 400, 'querystring.cursor');
  });

  it('a page of another case’s list is still 404 for a caller who may not see it', async () => {
    const other = await createTeam(env, ['KZ']);
    const outsider = await clientFor(env, 'CASEWORKER', { teamIds: [other] });
    const { caseId } = await createCase(cw, teamId);
    expectProblem(await outsider.get(`/v1/cases/${caseId}/charges?limit=1`), 404);
    expectProblem(await outsider.get(`/v1/cases/${caseId}/deadlines?limit=1`), 404);
  });
});
