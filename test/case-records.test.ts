// The records under a case: charges (filedOn as a calendar date in any server
// time zone), events (calendar dates and instants, encrypted details, ordering,
// PATCH with If-Match), lawyer assignments (409 on a duplicate, ended with
// history kept) and the case timeline that merges them.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  countRows,
  createCase,
  createTeam,
  createUser,
  chargeBody,
  eventBody,
  expectProblem,
  setupTestEnv,
  writeSnapshot,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

describe('charges', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('creates, lists and patches a charge (If-Match), with filedOn round-tripping as a calendar date', async () => {
    const c = await createCase(cw, team);
    const res = await cw.post(
      `/v1/cases/${c.caseId}/charges`,
      chargeBody({ filedOn: '2024-02-29', politicalMotivation: 'CONFIRMED' }),
    );
    expect(res.statusCode, res.body).toBe(201);
    const ch = res.json();
    expect(ch).toMatchObject({
      caseId: c.caseId,
      issuingCountry: 'RU',
      code: 'RU-CC',
      article: '207.3',
      category: 'FAKES',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
      filedOn: '2024-02-29',
      politicalMotivation: 'CONFIRMED',
      version: 1,
    });
    const [row] = await env.sql<{ d: string }>(
      "SELECT to_char(filed_on, 'YYYY-MM-DD') AS d FROM charges WHERE id = $1",
      [ch.id],
    );
    expect(row.d).toBe('2024-02-29');

    const second = await cw.post(
      `/v1/cases/${c.caseId}/charges`,
      chargeBody({
        code: 'RU-CC',
        article: '280.3',
        category: 'DISCREDITING_ARMY',
        mechanism: 'DOMESTIC',
        status: 'CHARGED',
      }),
    );
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json().filedOn).toBeNull();
    expect(second.json().politicalMotivation).toBeNull();

    const list = await cw.get(`/v1/cases/${c.caseId}/charges`);
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((i: { id: string }) => i.id)).toEqual([ch.id, second.json().id]);
    expect(list.json().items[0].filedOn).toBe('2024-02-29');

    const patched = await cw.patch(
      `/v1/charges/${ch.id}`,
      { status: 'CONVICTED_IN_ABSENTIA', filedOn: '2023-12-31', mechanism: 'INTERPOL_RED_NOTICE' },
      { 'if-match': '"1"' },
    );
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.headers.etag).toBe('"2"');
    expect(patched.json()).toMatchObject({
      id: ch.id,
      status: 'CONVICTED_IN_ABSENTIA',
      filedOn: '2023-12-31',
      mechanism: 'INTERPOL_RED_NOTICE',
      article: '207.3',
      version: 2,
    });

    expectProblem(await cw.patch(`/v1/charges/${ch.id}`, { status: 'DROPPED' }, { 'if-match': '"1"' }), 412);
    expectProblem(await cw.patch(`/v1/charges/${ch.id}`, { status: 'DROPPED' }), 428);
    expectProblem(
      await cw.patch(`/v1/charges/${ch.id}`, { status: 'GONE' }, { 'if-match': '"2"' }),
      400,
      'body.status',
    );
    expectProblem(
      await cw.patch(`/v1/charges/${ch.id}`, { filedOn: '2023-02-30' }, { 'if-match': '"2"' }),
      400,
      'body.filedOn',
    );
    expectProblem(await cw.patch(`/v1/charges/${randomUUID()}`, { status: 'DROPPED' }, { 'if-match': '"1"' }), 404);
    expectProblem(await cw.patch('/v1/charges/nope', { status: 'DROPPED' }, { 'if-match': '"1"' }), 400, 'params.id');

    const cleared = await cw.patch(`/v1/charges/${ch.id}`, { filedOn: null }, { 'if-match': '"2"' });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ filedOn: null, status: 'CONVICTED_IN_ABSENTIA', version: 3 });

    // a patch that does not mention filedOn keeps it
    expect((await cw.patch(`/v1/charges/${ch.id}`, { filedOn: '2022-01-01' }, { 'if-match': '"3"' })).statusCode).toBe(
      200,
    );
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
        const listed = (await cw.get(`/v1/cases/${c.caseId}/charges`))
          .json()
          .items.find((i: { id: string }) => i.id === res.json().id);
        expect(listed.filedOn).toBe('2024-03-01');
        const [row] = await env.sql<{ d: string }>(
          "SELECT to_char(filed_on, 'YYYY-MM-DD') AS d FROM charges WHERE id = $1",
          [res.json().id],
        );
        expect(row.d).toBe('2024-03-01');
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('events', () => {
  let team: string;
  let cw: Client;
  beforeAll(async () => {
    team = await createTeam(env, ['AM', 'GE']);
    cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
  });

  it('creates an event with occurredAt as a calendar date (midnight UTC, precision DAY by default)', async () => {
    const c = await createCase(cw, team);
    const res = await cw.post(
      `/v1/cases/${c.caseId}/events`,
      eventBody({ occurredAt: '2026-03-01', city: 'Yerevan', details: 'Held at the airport on arrival', termDays: 40 }),
    );
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
    const before = await countRows(env, 'events', 'case_id = $1', [c.caseId]);
    expectProblem(await cw.post(url, eventBody({ occurredAt: '2026-03-01T10:30:00' })), 400, 'body.occurredAt');
    expectProblem(await cw.post(url, eventBody({ occurredAt: '2026-02-30' })), 400, 'body.occurredAt');
    expectProblem(await cw.post(url, eventBody({ sourceUrls: ['javascript:alert(1)'] })), 400, 'body.sourceUrls.0');
    expectProblem(await cw.post(url, eventBody({ termDays: 0 })), 400, 'body.termDays');
    expectProblem(await cw.post(url, eventBody({ termDays: 3651 })), 400, 'body.termDays');
    expectProblem(await cw.post(url, eventBody({ occurredAtPrecision: 'WEEK' })), 400, 'body.occurredAtPrecision');
    expect(await countRows(env, 'events', 'case_id = $1', [c.caseId])).toBe(before);
  });

  it('lists events ordered by occurredAt, with details visible to the caseworker', async () => {
    const c = await createCase(cw, team);
    const url = `/v1/cases/${c.caseId}/events`;
    const late = (await cw.post(url, eventBody({ occurredAt: '2026-03-01', details: 'late' }))).json();
    const early = (
      await cw.post(url, eventBody({ type: 'THREAT', occurredAt: '2025-12-31T23:00:00-02:00', details: 'early' }))
    ).json();
    const middle = (
      await cw.post(url, eventBody({ type: 'SURVEILLANCE', occurredAt: '2026-02-15T08:00:00+05:00' }))
    ).json();
    const res = await cw.get(url);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as {
      id: string;
      occurredAt: string;
      details: string | null;
      detailsVisible: boolean;
    }[];
    expect(items.map((i) => i.id)).toEqual([early.id, middle.id, late.id]);
    expect(items.map((i) => i.occurredAt)).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-02-15T03:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(items.every((i) => i.detailsVisible)).toBe(true);
    expect(items.map((i) => i.details)).toEqual(['early', null, 'late']);
  });

  it('PATCH /v1/events/:id with If-Match updates fields; stale -> 412; missing -> 428', async () => {
    const c = await createCase(cw, team);
    const e = (await cw.post(`/v1/cases/${c.caseId}/events`, eventBody({ details: 'first', termDays: 30 }))).json();
    const res = await cw.patch(
      `/v1/events/${e.id}`,
      {
        outcome: 'Released on bail',
        details: 'second',
        termDays: null,
        occurredAt: '2026-03-02T12:00:00Z',
        verification: 'VERIFIED',
      },
      { 'if-match': '"1"' },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toMatchObject({
      id: e.id,
      outcome: 'Released on bail',
      details: 'second',
      termDays: null,
      occurredAt: '2026-03-02T12:00:00.000Z',
      verification: 'VERIFIED',
      type: 'DETENTION',
      version: 2,
    });
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

    const before = await writeSnapshot(env);
    const dup = expectProblem(await cw.post(url, { lawyerId: lawyer.id, role: 'SUPPORTING' }), 409);
    expect(dup.errors).toBeUndefined();
    expect(await writeSnapshot(env)).toEqual(before);
    expect(await countRows(env, 'assignments', 'case_id = $1 AND ended_at IS NULL', [c.caseId])).toBe(1);

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
    expect(await countRows(env, 'assignments', 'id = $1 AND ended_at IS NULL', [again.json().id])).toBe(1);
  });

  it('assigning a non-lawyer or unknown user -> 400 body.lawyerId and nothing written', async () => {
    const c = await createCase(cw, team);
    const other = await createUser(env, 'CASEWORKER', { teamIds: [team] });
    const before = await writeSnapshot(env);
    expectProblem(
      await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: other.id, role: 'LEAD' }),
      400,
      'body.lawyerId',
    );
    expectProblem(
      await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: randomUUID(), role: 'LEAD' }),
      400,
      'body.lawyerId',
    );
    expect(await writeSnapshot(env)).toEqual(before);
  });

  it('timeline holds charge, event, assignment_started and assignment_ended items in time order', async () => {
    const c = await createCase(cw, team);
    const lawyer = await createUser(env, 'LAWYER');
    const charge = (await cw.post(`/v1/cases/${c.caseId}/charges`, chargeBody({ filedOn: '2024-05-01' }))).json();
    const event = (
      await cw.post(
        `/v1/cases/${c.caseId}/events`,
        eventBody({ occurredAt: '2025-06-01T09:00:00+04:00', city: 'Gyumri', details: 'secret' }),
      )
    ).json();
    const a = (await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: lawyer.id, role: 'LEAD' })).json();
    await new Promise((r) => setTimeout(r, 5));
    expect((await cw.del(`/v1/cases/${c.caseId}/assignments/${a.id}`)).statusCode).toBe(204);

    const res = await cw.get(`/v1/cases/${c.caseId}/timeline`);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as {
      kind: string;
      at: string;
      id: string;
      summary: string;
      data: Record<string, unknown>;
    }[];
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
