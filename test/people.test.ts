// People routes: creating a person (citizenship as a string or a list, contacts,
// tags), reading one back with legal data for its creator, the pseudonym
// search (no legal data, LIKE wildcards literal), PATCH, and validation
// problems naming the offending field.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createTeam,
  expectProblem,
  personBody,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv();
});
afterAll(async () => env?.close());

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
    const [row] = await env.sql<{ legal_name_enc: string; citizenship: string[] }>(
      'SELECT legal_name_enc, citizenship FROM people WHERE id = $1',
      [p.id],
    );
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
    expectProblem(
      await cw.post('/v1/people', personBody({ contacts: [{ kind: 'PIGEON', value: 'x' }] })),
      400,
      'body.contacts.0.kind',
    );
    expectProblem(await cw.post('/v1/people', personBody({ dateOfBirth: '1990-13-01' })), 400, 'body.dateOfBirth');
    expectProblem(await cw.post('/v1/people', personBody({ tags: ['SPY'] })), 400, 'body.tags.0');
    expectProblem(await cw.get('/v1/people?legalName=x'), 400);
  });

  it('PATCH /v1/people/:id changes fields and returns the updated person', async () => {
    const created = (await cw.post('/v1/people', personBody())).json();
    const res = await cw.patch(
      `/v1/people/${created.id}`,
      {
        pseudonym: `Renamed-${uniq()}`,
        citizenship: ['RU', 'KZ'],
        legalName: 'Ivan Changed',
        dateOfBirth: null,
        tags: ['DESERTER'],
        travelDocumentStatus: 'INTERNATIONAL_CONFISCATED',
      },
      { 'if-match': '"1"' },
    );
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
